import sys

from tools.demo.scenario import main
from tools.deployed import run

sys.exit(run(main))
