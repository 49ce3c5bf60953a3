"""runner lease: one `mirrorbot run` per follower venue on a ledger (holder, heartbeat, fencing epoch)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 03:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import bot.ledger.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Keep the imports used even when a revision needs neither (ruff F401).
_ = (sa, sqlmodel, op, bot.ledger.types)


def upgrade() -> None:
    op.create_table(
        "runner_lease",
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("token", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("pid", sa.BigInteger(), nullable=False),
        sa.Column("host", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("node", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("acquired_at", bot.ledger.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", bot.ledger.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("released_at", bot.ledger.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_runner_lease")),
    )


def downgrade() -> None:
    op.drop_table("runner_lease")
