"""Logging set-up (journald under systemd, readable stderr otherwise) and the OCPP frame log.

Structured context goes through ``extra=``: ``log.info("...", extra=context(connector=1))``.
Under systemd these become journal fields (``journalctl CONNECTOR=1``); on stderr they are
shown in brackets.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import re
import sys
from typing import Any

from chargepoint.config.model import LoggingConfig

FRAME_LOGGER = "chargepoint.frames"
FIELDS = ("CONNECTOR", "TRANSACTION_ID", "OCPP_ACTION", "OCPP_UNIQUE_ID")
REDACTED = "***"
# Keys whose values never reach a log: the basic-auth password (OCPP 1.6 security whitepaper
# AuthorizationKey, 2.0.1 BasicAuthPassword) and anything called password.
SECRET_NAMES = frozenset({"authorizationkey", "basicauthpassword", "password", "authorization"})

_BASIC_RE = re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?\s*basic\s+)[A-Za-z0-9+/=._~-]+")
_URL_CRED_RE = re.compile(r"(?i)([a-z][a-z0-9+.-]*://[^/\s:@\"']+:)[^@\s/\"']+@")
_PRIVATE_KEY_RE = re.compile(
    r"-----BEGIN ([A-Z ]*)PRIVATE KEY-----.*?-----END \1PRIVATE KEY-----", re.S)
_KEY_VALUE_RE = re.compile(
    r"(?i)(\"(?:key|name)\"\s*:\s*\"(?:AuthorizationKey|BasicAuthPassword)\"[^{}]*?"
    r"\"(?:value|attributeValue)\"\s*:\s*\")(?:[^\"\\]|\\.)*\"")


def context(connector: int | None = None, transaction_id: int | None = None,
            ocpp_action: str | None = None, ocpp_unique_id: str | None = None) -> dict[str, Any]:
    """The ``extra=`` mapping of journal fields for one log call (None values left out)."""
    values = (connector, transaction_id, ocpp_action, ocpp_unique_id)
    return {name: value for name, value in zip(FIELDS, values, strict=True) if value is not None}


class ContextFormatter(logging.Formatter):
    """``time level logger [CONNECTOR=1 TRANSACTION_ID=17] message`` for stderr and files."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s %(ctx)s%(message)s")

    def format(self, record: logging.LogRecord) -> str:
        pairs = [f"{name}={getattr(record, name)}" for name in FIELDS if hasattr(record, name)]
        record.ctx = f"[{' '.join(pairs)}] " if pairs else ""
        return super().format(record)


class _OutputLevel(logging.Filter):
    """An output's level: records at ``level`` or above, and every OCPP frame (the frame
    log has its own switch)."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= self.level or record.name == FRAME_LOGGER


def setup_logging(cfg: LoggingConfig, *, under_systemd: bool) -> None:
    """Configure the root logger once at start-up (replaces existing root handlers).

    Under systemd records go to the journal with their ``extra`` fields (falls back to stderr
    when systemd-python is missing; systemd captures stderr too). ``cfg.file`` adds a file
    that logrotate may move (WatchedFileHandler). ``cfg.frames`` enables the frame log.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    level = logging.getLevelNamesMapping()[cfg.level.upper()]
    # The root lets INFO through whatever the output level: the controller's own buffer
    # (``chargepoint logs`` without journald) keeps the session story; the outputs filter.
    root.setLevel(min(level, logging.INFO))
    gate = _OutputLevel(level)
    handlers: list[logging.Handler] = []
    if under_systemd:
        try:
            from systemd.journal import JournalHandler

            handlers.append(JournalHandler(SYSLOG_IDENTIFIER="chargepoint"))
        except ImportError:
            pass
    if not handlers:
        stderr = logging.StreamHandler(sys.stderr)
        stderr.setFormatter(ContextFormatter())
        handlers.append(stderr)
    if cfg.file:
        file_handler = logging.handlers.WatchedFileHandler(cfg.file, encoding="utf-8")
        file_handler.setFormatter(ContextFormatter())
        handlers.append(file_handler)
    for handler in handlers:
        handler.addFilter(gate)
        root.addHandler(handler)
    # The frame log has its own switch: frames show at any level when enabled, never otherwise.
    logging.getLogger(FRAME_LOGGER).setLevel(logging.INFO if cfg.frames else logging.CRITICAL + 1)


def _redact_json(value: Any) -> Any:
    if isinstance(value, list):
        return [_redact_json(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: (REDACTED if k.lower() in SECRET_NAMES and v is not None else _redact_json(v))
           for k, v in value.items()}
    # {"key": "AuthorizationKey", "value": ...}: ChangeConfiguration.req, GetConfiguration.conf
    name = value.get("key")
    if isinstance(name, str) and name.lower() in SECRET_NAMES and "value" in value:
        out["value"] = REDACTED
    # 2.0.1 SetVariables: {"variable": {"name": "BasicAuthPassword"}, "attributeValue": ...}
    variable = value.get("variable")
    if isinstance(variable, dict) and str(variable.get("name", "")).lower() in SECRET_NAMES:
        for field in ("attributeValue", "value"):
            if field in out:
                out[field] = REDACTED
    return out


def redact_frame(text: str) -> str:
    """``text`` (an OCPP-J frame or any log text) with secrets replaced by ``***``.

    JSON frames are walked structurally; everything also goes through patterns for HTTP basic
    auth headers, credentials in URLs and PEM private keys.
    """
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # a hostile, deeply nested frame is not walked
        data = None
    if isinstance(data, list | dict):
        text = json.dumps(_redact_json(data), separators=(",", ":"), ensure_ascii=False)
    else:
        text = _KEY_VALUE_RE.sub(rf"\g<1>{REDACTED}\"", text)
    text = _BASIC_RE.sub(rf"\g<1>{REDACTED}", text)
    text = _URL_CRED_RE.sub(rf"\g<1>{REDACTED}@", text)
    return _PRIVATE_KEY_RE.sub(f"-----{REDACTED} PRIVATE KEY-----", text)


def log_frame(direction: str, text: str, *, action: str | None = None,
              unique_id: str | None = None) -> None:
    """Log one OCPP frame (``direction`` "->" sent, "<-" received), redacted.

    Costs nothing when ``[logging] frames`` is off.
    """
    logger = logging.getLogger(FRAME_LOGGER)
    if logger.isEnabledFor(logging.INFO):
        logger.info("%s %s", direction, redact_frame(text),
                    extra=context(ocpp_action=action, ocpp_unique_id=unique_id))
