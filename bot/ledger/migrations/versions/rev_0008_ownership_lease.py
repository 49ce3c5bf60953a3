"""ownership leases: sources (→ watchers), followers (→ copy workers) and the processes themselves
(with their declared budgets), with fencing epochs and expiry

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 07:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import bot.ledger.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Keep the imports used even when a revision needs neither (ruff F401).
_ = (sa, sqlmodel, op, bot.ledger.types)


def upgrade() -> None:
    op.create_table(
        "ownership_lease",
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("holder", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("pid", sa.BigInteger(), nullable=False),
        sa.Column("host", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("acquired_at", bot.ledger.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", bot.ledger.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", bot.ledger.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("released_at", bot.ledger.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ws_users", sa.Integer(), nullable=True),
        sa.Column("weight_per_min", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("kind", "name", name=op.f("pk_ownership_lease")),
    )
    op.create_index(op.f("ix_ownership_lease_holder"), "ownership_lease", ["holder"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_ownership_lease_holder"), table_name="ownership_lease")
    op.drop_table("ownership_lease")
