"""``python -m rnnreplay``: see :mod:`rnnreplay.cli`."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
