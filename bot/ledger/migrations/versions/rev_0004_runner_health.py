"""runner health: the running bot's heartbeat, last reconciliation, sync scores, dead-man switch

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 00:05:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import bot.ledger.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Keep the imports used even when a revision needs neither (ruff F401).
_ = (sa, sqlmodel, op, bot.ledger.types)


def upgrade() -> None:
    op.create_table(
        "runner_health",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("started_at", bot.ledger.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", bot.ledger.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", bot.ledger.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("doc", bot.ledger.types.JSONText(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_runner_health")),
    )


def downgrade() -> None:
    op.drop_table("runner_health")
