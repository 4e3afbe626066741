"""Files that hold secrets and that others than their owner and group can read.

``exposed_secrets(config)`` lists one warning per file: the config file when it holds the
OCPP password (AuthorizationKey), the TLS key file. ``config check`` prints them and ``run``
logs them at start; neither refuses (the operator decides; docs/security.md says how).
"""

from __future__ import annotations

import os
import stat

from chargepoint.config.model import Config


def exposed_secrets(config: Config) -> list[str]:
    files = []
    if config.ocpp.password and config.source != "<string>":
        files.append((config.source, "holds [ocpp] password"))
    if config.ocpp.key_file:
        files.append((config.ocpp.key_file, "is the TLS client key"))
    warnings = []
    for path, why in files:
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
        except OSError:
            continue
        if mode & 0o007:
            warnings.append(f"{path} {why} and is readable by every user (mode {mode:04o}): "
                            f"chmod o-rwx {path}")
    return warnings
