"""rate-limit windows kept in the database

Revision ID: 0007_rate_windows
Revises: 0006_gates_lifted_closures
Create Date: 2026-12-01

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0007_rate_windows"
down_revision = "0006_gates_lifted_closures"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "core_rate_window",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_core_rate_window")),
    )
    with op.batch_alter_table("core_rate_window", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_core_rate_window_started_at"), ["started_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("core_rate_window", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_core_rate_window_started_at"))
    op.drop_table("core_rate_window")
