"""Where the recorded venue responses live, and how tests read them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapters.hyperliquid.parsing import read_cassette

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hyperliquid"
USER_FILLS = FIXTURES / "test_get_user_fills.yaml"
USER_FILLS_BY_TIME = FIXTURES / "test_get_user_fills_by_time.yaml"


def response(name: str, request_type: str) -> Any:
    """The recorded answer to the first `request_type` request in cassette `name`."""
    for request, body in read_cassette(FIXTURES / name):
        if request.get("type") == request_type:
            return body
    raise LookupError(f"{name} has no {request_type} request")
