"""``chargepoint commission``: the guided commissioning walk and its report.

- ``steps`` / ``walk``: the steps a technician follows (CLI side, over the control socket);
- ``answers``: where the technician's answers come from (terminal, stdin, a scripted file);
- ``report``: the report document, its Markdown form and where reports are kept;
- ``desk``: the daemon's side (identity, raw readings, saving and finding reports).
"""
