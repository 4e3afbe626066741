import sys

from chargepoint.island.process import main

sys.exit(main(sys.argv[1:]))
