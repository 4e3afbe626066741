"""``python -m chargepoint``: the same as the ``chargepoint`` command."""

import sys

from chargepoint.cli import main

sys.exit(main())
