"""fill builder fee: the part of a fill's fee paid to a builder (leader commission, SPEC §14)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 12:45:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import bot.ledger.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Keep the imports used even when a revision needs neither (ruff F401).
_ = (sa, sqlmodel, op, bot.ledger.types)


def upgrade() -> None:
    # Nullable: fills recorded before this revision did not keep it (None, not a made-up 0).
    with op.batch_alter_table("fill", schema=None) as batch_op:
        batch_op.add_column(sa.Column("builder_fee", bot.ledger.types.ExactDecimal(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("fill", schema=None) as batch_op:
        batch_op.drop_column("builder_fee")
