"""``python -m shared.cli``."""

from __future__ import annotations

import sys

from shared.cli.app import main

if __name__ == "__main__":
    sys.exit(main())
