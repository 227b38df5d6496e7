"""a person's choice of the notifications they may turn off

Revision ID: 0010_notification_choices
Revises: 0009_leased_media
Create Date: 2026-12-01

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0010_notification_choices"
down_revision = "0009_leased_media"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("core_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("notifications_off", sa.JSON(), nullable=False, server_default="[]")
        )


def downgrade():
    with op.batch_alter_table("core_user", schema=None) as batch_op:
        batch_op.drop_column("notifications_off")
