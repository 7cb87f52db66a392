"""`python -m tools.preflight`, as `make preflight` and `make deploy` run it."""

import sys

from tools.preflight import main

if __name__ == "__main__":
    sys.exit(main())
