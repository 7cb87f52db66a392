import sys

from tools.deployed import run
from tools.demo.scenario import main

sys.exit(run(main))
