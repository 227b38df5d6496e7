"""background jobs that failed for good, kept with their error for a retry

Revision ID: 0013_failed_jobs
Revises: 0011_record_tombstones
Create Date: 2026-12-01

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0013_failed_jobs"
down_revision = "0011_record_tombstones"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "core_failed_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("arguments", sa.Text(), nullable=False),
        sa.Column("message", sa.LargeBinary(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retried_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retried_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["retried_by_id"],
            ["core_user.id"],
            name=op.f("fk_core_failed_job_retried_by_id_core_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_failed_job")),
    )
    with op.batch_alter_table("core_failed_job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_core_failed_job_failed_at"), ["failed_at"])
        batch_op.create_index(batch_op.f("ix_core_failed_job_name"), ["name"])


def downgrade():
    with op.batch_alter_table("core_failed_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_core_failed_job_name"))
        batch_op.drop_index(batch_op.f("ix_core_failed_job_failed_at"))
    op.drop_table("core_failed_job")
