"""lesson programmes, dependents, lotteries and their applications, attendance; session
templates allocated by lottery; a drawn lottery can never change (triggers)

Revision ID: 0017_programmes_and_lotteries
Revises: 0016_search_on_postgres
Create Date: 2026-12-01

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0017_programmes_and_lotteries"
down_revision = "0016_search_on_postgres"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "facilities_dependent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("birth_year", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "birth_year BETWEEN 1900 AND 2100",
            name=op.f("ck_facilities_dependent_birth_year_plausible"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["core_user.id"],
            name=op.f("fk_facilities_dependent_user_id_core_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_facilities_dependent")),
        sa.UniqueConstraint("user_id", "name", name=op.f("uq_facilities_dependent_user_id_name")),
    )
    with op.batch_alter_table("facilities_dependent", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_facilities_dependent_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "facilities_programme",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("min_age", sa.Integer(), nullable=False),
        sa.Column("max_age", sa.Integer(), nullable=False),
        sa.Column("term_start", sa.Date(), nullable=False),
        sa.Column("term_end", sa.Date(), nullable=False),
        sa.Column("weekdays", sa.JSON(), nullable=False),
        sa.Column("start_time", sa.String(length=5), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("min_enrolment", sa.Integer(), nullable=False),
        sa.Column("enrolled", sa.Integer(), nullable=False),
        sa.Column("prices", sa.JSON(), nullable=False),
        sa.Column("instructor", sa.String(length=100), nullable=False),
        sa.Column("rink_places", sa.Integer(), nullable=False),
        sa.Column("enrolment", sa.String(length=12), nullable=False),
        sa.Column("window_opens_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payment_hours", sa.Integer(), nullable=False),
        sa.Column("previous_programme_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.String(length=200), nullable=True),
        sa.CheckConstraint(
            "enrolment IN ('first_come', 'lottery')",
            name=op.f("ck_facilities_programme_enrolment_known"),
        ),
        sa.CheckConstraint(
            "level IN ('beginner', 'intermediate', 'advanced')",
            name=op.f("ck_facilities_programme_level_known"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'cancelled')", name=op.f("ck_facilities_programme_status_known")
        ),
        sa.CheckConstraint("capacity > 0", name=op.f("ck_facilities_programme_capacity_positive")),
        sa.CheckConstraint(
            "duration_minutes > 0", name=op.f("ck_facilities_programme_duration_positive")
        ),
        sa.CheckConstraint(
            "enrolled >= 0 AND enrolled <= capacity",
            name=op.f("ck_facilities_programme_within_capacity"),
        ),
        sa.CheckConstraint(
            "min_age >= 0 AND max_age >= min_age",
            name=op.f("ck_facilities_programme_age_band_ordered"),
        ),
        sa.CheckConstraint(
            "min_enrolment >= 0 AND min_enrolment <= capacity",
            name=op.f("ck_facilities_programme_min_enrolment_in_range"),
        ),
        sa.CheckConstraint(
            "payment_hours > 0", name=op.f("ck_facilities_programme_payment_hours_positive")
        ),
        sa.CheckConstraint(
            "rink_places > 0", name=op.f("ck_facilities_programme_rink_places_positive")
        ),
        sa.CheckConstraint(
            "term_end >= term_start", name=op.f("ck_facilities_programme_term_ordered")
        ),
        sa.CheckConstraint(
            "window_closes_at > window_opens_at",
            name=op.f("ck_facilities_programme_window_ordered"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["core_user.id"],
            name=op.f("fk_facilities_programme_created_by_id_core_user"),
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facilities_facility.id"],
            name=op.f("fk_facilities_programme_facility_id_facilities_facility"),
        ),
        sa.ForeignKeyConstraint(
            ["previous_programme_id"],
            ["facilities_programme.id"],
            name=op.f("fk_facilities_programme_previous_programme_id_facilities_programme"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["facilities_resource.id"],
            name=op.f("fk_facilities_programme_resource_id_facilities_resource"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_facilities_programme")),
    )
    with op.batch_alter_table("facilities_programme", schema=None) as batch_op:
        batch_op.create_index(
            "ix_facilities_programme_facility_term", ["facility_id", "term_start"], unique=False
        )

    op.create_table(
        "facilities_programme_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("places", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("closure_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('scheduled', 'cancelled')",
            name=op.f("ck_facilities_programme_session_status_known"),
        ),
        sa.CheckConstraint(
            "ends_at > starts_at", name=op.f("ck_facilities_programme_session_ends_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["closure_id"],
            ["facilities_closure.id"],
            name=op.f("fk_facilities_programme_session_closure_id_facilities_closure"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["facilities_programme.id"],
            name=op.f("fk_facilities_programme_session_programme_id_facilities_programme"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["facilities_resource.id"],
            name=op.f("fk_facilities_programme_session_resource_id_facilities_resource"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_facilities_programme_session")),
        sa.UniqueConstraint(
            "programme_id",
            "starts_at",
            name=op.f("uq_facilities_programme_session_programme_id_starts_at"),
        ),
    )
    with op.batch_alter_table("facilities_programme_session", schema=None) as batch_op:
        batch_op.create_index(
            "ix_facilities_programme_session_resource_start",
            ["resource_id", "starts_at"],
            unique=False,
        )

    op.create_table(
        "facilities_lottery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=True),
        sa.Column("slot_id", sa.Integer(), nullable=True),
        sa.Column("places", sa.Integer(), nullable=False),
        sa.Column("window_opens_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("priority_groups", sa.JSON(), nullable=False),
        sa.Column("second_ticket", sa.Boolean(), nullable=False),
        sa.Column("procedure", sa.String(length=20), nullable=False),
        sa.Column("commitment", sa.String(length=64), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_applications", sa.JSON(), nullable=True),
        sa.Column("published_order", sa.JSON(), nullable=True),
        sa.Column("applications_digest", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status <> 'drawn' OR (drawn_at IS NOT NULL AND published_order IS NOT NULL"
            " AND published_applications IS NOT NULL)",
            name=op.f("ck_facilities_lottery_drawn_is_published"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'drawn', 'cancelled')",
            name=op.f("ck_facilities_lottery_status_known"),
        ),
        sa.CheckConstraint(
            "(programme_id IS NULL) <> (slot_id IS NULL)",
            name=op.f("ck_facilities_lottery_programme_or_slot"),
        ),
        sa.CheckConstraint("places > 0", name=op.f("ck_facilities_lottery_places_positive")),
        sa.CheckConstraint(
            "window_closes_at > window_opens_at", name=op.f("ck_facilities_lottery_window_ordered")
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facilities_facility.id"],
            name=op.f("fk_facilities_lottery_facility_id_facilities_facility"),
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["facilities_programme.id"],
            name=op.f("fk_facilities_lottery_programme_id_facilities_programme"),
        ),
        sa.ForeignKeyConstraint(
            ["slot_id"],
            ["facilities_slot.id"],
            name=op.f("fk_facilities_lottery_slot_id_facilities_slot"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_facilities_lottery")),
        sa.UniqueConstraint("programme_id", name=op.f("uq_facilities_lottery_programme_id")),
        sa.UniqueConstraint("slot_id", name=op.f("uq_facilities_lottery_slot_id")),
    )
    with op.batch_alter_table("facilities_lottery", schema=None) as batch_op:
        batch_op.create_index(
            "ix_facilities_lottery_status_close", ["status", "window_closes_at"], unique=False
        )

    op.create_table(
        "facilities_application",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=True),
        sa.Column("lottery_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("dependent_id", sa.Integer(), nullable=True),
        sa.Column("participant", sa.String(length=20), nullable=False),
        sa.Column("participant_name", sa.String(length=100), nullable=False),
        sa.Column("birth_year", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=12), nullable=True),
        sa.Column("party", sa.JSON(), nullable=True),
        sa.Column("priority_group", sa.String(length=12), nullable=True),
        sa.Column("tickets", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("draw_position", sa.Integer(), nullable=True),
        sa.Column("price", sa.Integer(), nullable=False),
        sa.Column("refund_amount", sa.Integer(), nullable=True),
        sa.Column("hold_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("payment_reference", sa.String(length=100), nullable=True),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('applied', 'held', 'enrolled', 'waiting', 'expired', 'withdrawn',"
            " 'cancelled', 'closed')",
            name=op.f("ck_facilities_application_status_known"),
        ),
        sa.CheckConstraint("price >= 0", name=op.f("ck_facilities_application_price_not_negative")),
        sa.CheckConstraint(
            "programme_id IS NOT NULL OR lottery_id IS NOT NULL",
            name=op.f("ck_facilities_application_programme_or_lottery"),
        ),
        sa.CheckConstraint(
            "refund_amount IS NULL OR refund_amount <= price",
            name=op.f("ck_facilities_application_refund_le_price"),
        ),
        sa.CheckConstraint(
            "tickets IN (1, 2)", name=op.f("ck_facilities_application_tickets_known")
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["facilities_booking.id"],
            name=op.f("fk_facilities_application_booking_id_facilities_booking"),
        ),
        sa.ForeignKeyConstraint(
            ["dependent_id"],
            ["facilities_dependent.id"],
            name=op.f("fk_facilities_application_dependent_id_facilities_dependent"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["lottery_id"],
            ["facilities_lottery.id"],
            name=op.f("fk_facilities_application_lottery_id_facilities_lottery"),
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["facilities_programme.id"],
            name=op.f("fk_facilities_application_programme_id_facilities_programme"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["core_user.id"], name=op.f("fk_facilities_application_user_id_core_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_facilities_application")),
        sa.UniqueConstraint(
            "payment_reference", name=op.f("uq_facilities_application_payment_reference")
        ),
    )
    with op.batch_alter_table("facilities_application", schema=None) as batch_op:
        batch_op.create_index(
            "ix_facilities_application_lottery_status", ["lottery_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_facilities_application_programme_status", ["programme_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_facilities_application_status_hold", ["status", "hold_expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_facilities_application_user_id"), ["user_id"], unique=False
        )
        batch_op.create_index(
            "uq_facilities_application_lottery_participant",
            ["lottery_id", "participant"],
            unique=True,
            sqlite_where=sa.text("lottery_id IS NOT NULL AND status <> 'withdrawn'"),
            postgresql_where=sa.text("lottery_id IS NOT NULL AND status <> 'withdrawn'"),
        )
        batch_op.create_index(
            "uq_facilities_application_programme_participant",
            ["programme_id", "participant"],
            unique=True,
            sqlite_where=sa.text("programme_id IS NOT NULL AND status <> 'withdrawn'"),
            postgresql_where=sa.text("programme_id IS NOT NULL AND status <> 'withdrawn'"),
        )

    op.create_table(
        "facilities_attendance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["facilities_application.id"],
            name=op.f("fk_facilities_attendance_application_id_facilities_application"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["facilities_programme_session.id"],
            name=op.f("fk_facilities_attendance_session_id_facilities_programme_session"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_facilities_attendance")),
        sa.UniqueConstraint(
            "session_id",
            "application_id",
            name=op.f("uq_facilities_attendance_session_id_application_id"),
        ),
    )
    with op.batch_alter_table("facilities_slot_template", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "allocation", sa.String(length=12), nullable=False, server_default="first_come"
            )
        )
        batch_op.add_column(
            sa.Column("lottery_window_hours", sa.Integer(), nullable=False, server_default="24")
        )
        batch_op.create_check_constraint(
            op.f("ck_facilities_slot_template_allocation_known"),
            "allocation IN ('first_come', 'lottery')",
        )
        batch_op.create_check_constraint(
            op.f("ck_facilities_slot_template_lottery_window_positive"),
            "lottery_window_hours > 0",
        )
    _create_draw_is_final()


# The commitment and the seed never change; once drawn, nothing of the draw changes either.
# JSON columns are compared as text (PostgreSQL's json type has no equality).
_FINAL_COLUMNS = (
    "status",
    "drawn_at",
    "places",
    "applications_digest",
    "published_order",
    "published_applications",
    "priority_groups",
    "second_ticket",
    "procedure",
)
_REFUSAL = "the commitment and seed of a lottery, and a drawn lottery, never change"


def _create_draw_is_final():
    if op.get_bind().dialect.name == "postgresql":
        changed = " OR ".join(
            f"NEW.{c}::text IS DISTINCT FROM OLD.{c}::text" for c in _FINAL_COLUMNS
        )
        op.execute(
            f"""
            CREATE FUNCTION facilities_lottery_draw_is_final() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.commitment IS DISTINCT FROM OLD.commitment
                   OR NEW.seed IS DISTINCT FROM OLD.seed
                   OR (OLD.status = 'drawn' AND ({changed})) THEN
                    RAISE EXCEPTION '{_REFUSAL}'
                        USING ERRCODE = 'integrity_constraint_violation';
                END IF;
                RETURN NEW;
            END
            $$
            """
        )
        op.execute(
            "CREATE TRIGGER facilities_lottery_draw_is_final BEFORE UPDATE ON facilities_lottery"
            " FOR EACH ROW EXECUTE FUNCTION facilities_lottery_draw_is_final()"
        )
    else:
        changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in _FINAL_COLUMNS)
        op.execute(
            f"""
            CREATE TRIGGER facilities_lottery_draw_is_final BEFORE UPDATE ON facilities_lottery
            WHEN NEW.commitment IS NOT OLD.commitment OR NEW.seed IS NOT OLD.seed
                 OR (OLD.status = 'drawn' AND ({changed}))
            BEGIN
                SELECT RAISE(ABORT, '{_REFUSAL}');
            END
            """
        )


def _drop_draw_is_final():
    op.execute(
        "DROP TRIGGER IF EXISTS facilities_lottery_draw_is_final ON facilities_lottery"
        if op.get_bind().dialect.name == "postgresql"
        else "DROP TRIGGER IF EXISTS facilities_lottery_draw_is_final"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS facilities_lottery_draw_is_final()")


def downgrade():
    _drop_draw_is_final()
    with op.batch_alter_table("facilities_slot_template", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("ck_facilities_slot_template_lottery_window_positive"), type_="check"
        )
        batch_op.drop_constraint(
            op.f("ck_facilities_slot_template_allocation_known"), type_="check"
        )
        batch_op.drop_column("lottery_window_hours")
        batch_op.drop_column("allocation")

    op.drop_table("facilities_attendance")
    with op.batch_alter_table("facilities_application", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_facilities_application_programme_participant",
            sqlite_where=sa.text("programme_id IS NOT NULL AND status <> 'withdrawn'"),
            postgresql_where=sa.text("programme_id IS NOT NULL AND status <> 'withdrawn'"),
        )
        batch_op.drop_index(
            "uq_facilities_application_lottery_participant",
            sqlite_where=sa.text("lottery_id IS NOT NULL AND status <> 'withdrawn'"),
            postgresql_where=sa.text("lottery_id IS NOT NULL AND status <> 'withdrawn'"),
        )
        batch_op.drop_index(batch_op.f("ix_facilities_application_user_id"))
        batch_op.drop_index("ix_facilities_application_status_hold")
        batch_op.drop_index("ix_facilities_application_programme_status")
        batch_op.drop_index("ix_facilities_application_lottery_status")

    op.drop_table("facilities_application")
    with op.batch_alter_table("facilities_lottery", schema=None) as batch_op:
        batch_op.drop_index("ix_facilities_lottery_status_close")

    op.drop_table("facilities_lottery")
    with op.batch_alter_table("facilities_programme_session", schema=None) as batch_op:
        batch_op.drop_index("ix_facilities_programme_session_resource_start")

    op.drop_table("facilities_programme_session")
    with op.batch_alter_table("facilities_programme", schema=None) as batch_op:
        batch_op.drop_index("ix_facilities_programme_facility_term")

    op.drop_table("facilities_programme")
    with op.batch_alter_table("facilities_dependent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_facilities_dependent_user_id"))

    op.drop_table("facilities_dependent")
