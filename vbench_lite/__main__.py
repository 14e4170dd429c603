import sys

from vbench_lite.cli import main

sys.exit(main())
