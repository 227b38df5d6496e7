"""the text encoding a kiosk's SIP2 connection speaks

Revision ID: 0012_kiosk_sip2_encoding
Revises: 0013_failed_jobs
Create Date: 2026-12-01

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0012_kiosk_sip2_encoding"
down_revision = "0013_failed_jobs"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("library_kiosk", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "sip2_encoding", sa.String(length=10), nullable=False, server_default="utf-8"
            )
        )
        batch_op.create_check_constraint(
            op.f("ck_library_kiosk_sip2_encoding_known"), "sip2_encoding IN ('utf-8', 'cp949')"
        )


def downgrade():
    with op.batch_alter_table("library_kiosk", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_library_kiosk_sip2_encoding_known"), type_="check")
        batch_op.drop_column("sip2_encoding")
