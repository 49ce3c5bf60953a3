"""The distributed roles as real processes on a localnet, a PostgreSQL ledger and a private Redis."""

from tests.e2e.conftest import db_url, localnet, unique_sdk_nonces, world

__all__ = ["db_url", "localnet", "unique_sdk_nonces", "world"]
