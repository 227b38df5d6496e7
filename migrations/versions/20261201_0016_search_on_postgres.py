"""search on PostgreSQL: each record's terms, its search document, and the tables' generation

Revision ID: 0016_search_on_postgres
Revises: 0012_kiosk_sip2_encoding
Create Date: 2026-12-01

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0016_search_on_postgres"
down_revision = "0012_kiosk_sip2_encoding"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "archive_search_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("generation", sa.String(length=32), nullable=False),
        sa.Column("layout", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archive_search_state")),
    )
    op.create_table(
        "archive_search_document",
        sa.Column("record_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("identifier", sa.Text(), nullable=False),
        sa.Column("title_stored", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("visibility", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("subjects_facet", sa.Text(), nullable=False),
        sa.Column("place", sa.Text(), nullable=False),
        sa.Column("collection", sa.Text(), nullable=False),
        sa.Column("year_from", sa.Integer(), nullable=True),
        sa.Column("year_to", sa.Integer(), nullable=True),
        sa.Column("decades_facet", sa.Text(), nullable=False),
        sa.Column("date_key", sa.Integer(), nullable=False),
        sa.Column("title_sort", sa.Text(), nullable=False),
        sa.Column("updated", sa.BigInteger(), nullable=False),
        sa.Column("title_label", sa.Text(), nullable=False),
        sa.Column("creator_label", sa.Text(), nullable=False),
        sa.Column("date_text", sa.Text(), nullable=False),
        sa.Column("thumbnail_url", sa.Text(), nullable=True),
        sa.Column("body_stored", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_archive_search_document")),
    )
    op.create_table(
        "archive_search_posting",
        sa.Column("record_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("field", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("term", sa.Text(), nullable=False),
        sa.Column("weight", sa.REAL(), nullable=False),
        sa.PrimaryKeyConstraint("record_id", "field", "term", name=op.f("pk_archive_search_posting")),
    )
    op.create_index(
        "ix_archive_search_posting_term",
        "archive_search_posting",
        ["field", "term"],
        unique=False,
        postgresql_include=["record_id", "weight"],
    )


def downgrade():
    op.drop_index("ix_archive_search_posting_term", table_name="archive_search_posting")
    op.drop_table("archive_search_posting")
    op.drop_table("archive_search_document")
    op.drop_table("archive_search_state")
