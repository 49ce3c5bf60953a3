"""The live inactivity tests run on a real localnet with the e2e world (SQLite)."""

from tests.e2e.conftest import db_url, localnet, unique_sdk_nonces, world

__all__ = ["db_url", "localnet", "unique_sdk_nonces", "world"]
