"""The fault tests run the real Runner on a real localnet (the e2e world, SQLite), seed 3."""

from tests.e2e.conftest import db_url, localnet, unique_sdk_nonces, world

__all__ = ["db_url", "localnet", "unique_sdk_nonces", "world"]
