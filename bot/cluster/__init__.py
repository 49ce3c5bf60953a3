"""The distributed roles (issue #15, docs/cluster.md): `mirrorbot watch` (watchers publish normalised source
changes to the bus), `mirrorbot copy` (copy workers mirror them into the followers they own),
`mirrorbot control` (Telegram and the cluster's watch), `mirrorbot cluster status`.

PostgreSQL is the ledger of record and holds the leases (bot/ledger/ownership.py); Redis Streams carry the
changes (bot/bus). `mirrorbot run` (one process, SQLite) does not use any of it.
"""
