"""decision volatility: σ and the multiplier m a volatility-scaled follow's decision used (SPEC §10)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 12:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import bot.ledger.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Keep the imports used even when a revision needs neither (ruff F401).
_ = (sa, sqlmodel, op, bot.ledger.types)


def upgrade() -> None:
    with op.batch_alter_table("copy_instruction") as batch:
        batch.add_column(sa.Column("vol_sigma", bot.ledger.types.ExactDecimal(), nullable=True))
        batch.add_column(sa.Column("vol_mult", bot.ledger.types.ExactDecimal(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("copy_instruction") as batch:
        batch.drop_column("vol_mult")
        batch.drop_column("vol_sigma")
