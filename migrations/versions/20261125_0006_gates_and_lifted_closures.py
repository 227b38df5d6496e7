"""check-in gates, lifted closures

Revision ID: 0006_gates_lifted_closures
Revises: 0005_notification_claims
Create Date: 2026-11-25

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0006_gates_lifted_closures"
down_revision = "0005_notification_claims"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "facilities_gate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["core_user.id"],
            name=op.f("fk_facilities_gate_created_by_id_core_user"),
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facilities_facility.id"],
            name=op.f("fk_facilities_gate_facility_id_facilities_facility"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_facilities_gate")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_facilities_gate_key_hash")),
    )
    with op.batch_alter_table("facilities_gate", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_facilities_gate_facility_id"), ["facility_id"], unique=False
        )

    with op.batch_alter_table("facilities_closure", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("lifted_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("slots_reopened", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_facilities_closure_lifted_by_id_core_user"),
            "core_user",
            ["lifted_by_id"],
            ["id"],
        )


def downgrade():
    with op.batch_alter_table("facilities_closure", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_facilities_closure_lifted_by_id_core_user"), type_="foreignkey"
        )
        batch_op.drop_column("slots_reopened")
        batch_op.drop_column("lifted_by_id")
        batch_op.drop_column("lifted_at")

    with op.batch_alter_table("facilities_gate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_facilities_gate_facility_id"))

    op.drop_table("facilities_gate")
