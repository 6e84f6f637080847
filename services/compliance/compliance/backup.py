"""`python -m compliance.backup ...` (the Makefile's `make backup` / `make restore`, the README): the command lives
in compliance.tools.backup; this module only keeps the documented command working."""
from __future__ import annotations

import sys

from compliance.tools.backup import main

if __name__ == "__main__":
    sys.exit(main())
