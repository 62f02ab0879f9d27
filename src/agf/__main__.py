"""``python -m agf``: the command line."""

import sys

from agf.cli import main

sys.exit(main())
