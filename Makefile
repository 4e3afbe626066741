# Developer shortcuts. The README quickstart (bootstrap.sh) is the way in for users.
PYTHON ?= .venv/bin/python

.PHONY: bench bench-quick

# Every figure beside its baseline, in one run (< 5 min on 2 cores):
# table on stdout, JSON in bench/results/<timestamp>.json. See bench/README.md.
bench:
	$(PYTHON) -m bench

bench-quick:
	$(PYTHON) -m bench --quick
