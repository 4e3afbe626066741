"""Secret redaction for diagnostics bundles: a bundle leaves the station, secrets never do.

``redact_config(mapping)`` returns a deep copy where every value under a secret-looking key
(password, AuthorizationKey, BasicAuthPassword, token, secret, private key...) is ``***``,
any value holding PEM content (keys AND certificates) is ``***``, and URL credentials are
masked. ``redact_text(line)`` applies ``chargepoint.logs.redact_frame`` (frames, basic auth,
URL credentials, private keys) plus PEM certificate bodies to one log line.
"""

from __future__ import annotations

import re
from typing import Any

from chargepoint.logs import REDACTED, redact_frame

_SECRET_PARTS = ("password", "passwd", "secret", "token", "authorizationkey",
                 "authorization_key", "private", "credential", "psk")
_SECRET_EXACT = frozenset({"authorization", "key", "basicauthpassword", "auth_key"})
_PEM_RE = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \1-----", re.S)
_URL_CRED_RE = re.compile(r"(?i)([a-z][a-z0-9+.-]*://[^/\s:@\"']+:)[^@\s/\"']+@")


def is_secret_key(name: str) -> bool:
    lowered = name.lower()
    return lowered in _SECRET_EXACT or any(part in lowered for part in _SECRET_PARTS)


def _value(value: Any) -> Any:
    if isinstance(value, str):
        if "-----BEGIN" in value:
            return REDACTED
        return _URL_CRED_RE.sub(rf"\g<1>{REDACTED}@", value)
    return value


def redact_config(data: Any) -> Any:
    """See the module docstring. Lists and nested mappings are walked."""
    if isinstance(data, dict):
        return {k: (REDACTED if is_secret_key(str(k)) and v not in (None, "")
                    else redact_config(v)) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [redact_config(v) for v in data]
    return _value(data)


def redact_text(line: str) -> str:
    text = redact_frame(line)
    text = _URL_CRED_RE.sub(rf"\g<1>{REDACTED}@", text)
    return _PEM_RE.sub(f"-----{REDACTED}-----", text)
