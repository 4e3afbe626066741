"""The benchmark: what matters for a charging station, each figure beside its baseline.

Run ``python -m bench`` (``make bench``) for the full run or ``python -m bench --quick`` for a
smoke run. Every figure is measured in the same invocation as its baseline; the table goes to
stdout and the JSON to ``bench/results/<timestamp>.json``. See ``bench/README.md``.
"""
