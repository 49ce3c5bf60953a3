"""The recorded history the analytics tests (and the CLI's) read, and a check of the PNG charts."""

from __future__ import annotations

import struct
from pathlib import Path

FILLS = Path(__file__).parents[1] / "fixtures" / "hyperliquid" / "test_get_user_fills.yaml"
TRADER = "0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2"  # the recording's user
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path: Path) -> None:
    """A PNG (signature, IHDR first) of the charts' size, 900 × 480, and of a sane weight."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (900, 480)
    assert 10_000 < len(data) < 1_000_000
    assert data.endswith(b"IEND\xaeB`\x82")
