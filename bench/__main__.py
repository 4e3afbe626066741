"""``python -m bench [--quick] [--out DIR] [--only KEYS]``: see ``bench.runner``."""

import sys

from bench.runner import main

sys.exit(main())
