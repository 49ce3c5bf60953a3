"""guard state in the ledger: a follower's runtime-guard state and the sources' peak equities, for the
distributed roles (the state moves with a follower's lease)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 00:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import bot.ledger.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Keep the imports used even when a revision needs neither (ruff F401).
_ = (sa, sqlmodel, op, bot.ledger.types)


def upgrade() -> None:
    op.create_table(
        "guard_state",
        sa.Column("follower", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("state", bot.ledger.types.JSONText(), nullable=False),
        sa.Column("updated_at", bot.ledger.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("follower", name=op.f("pk_guard_state")),
    )
    op.create_table(
        "source_peak",
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("peak", bot.ledger.types.ExactDecimal(), nullable=False),
        sa.Column("updated_at", bot.ledger.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_source_peak")),
    )


def downgrade() -> None:
    op.drop_table("source_peak")
    op.drop_table("guard_state")
