"""The errors of an OCPP-J remote call that every version shares."""

from __future__ import annotations


class CallFailed(Exception):
    """The CSMS answered a CALL with a CALLERROR."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description
