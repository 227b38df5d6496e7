"""archive tables

Revision ID: 0004_archive
Revises: 0003_library
Create Date: 2026-11-25

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0004_archive"
down_revision = "0003_library"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('archive_import',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=True),
    sa.Column('publish', sa.Boolean(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('errors', sa.JSON(), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name=op.f('ck_archive_import_status_known')),
    sa.ForeignKeyConstraint(['created_by_id'], ['core_user.id'], name=op.f('fk_archive_import_created_by_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_archive_import'))
    )
    op.create_table('archive_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('identifier', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('alt_title', sa.String(length=500), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('creator', sa.String(length=200), nullable=True),
    sa.Column('contributor', sa.String(length=200), nullable=True),
    sa.Column('date_text', sa.String(length=100), nullable=True),
    sa.Column('year_from', sa.Integer(), nullable=True),
    sa.Column('year_to', sa.Integer(), nullable=True),
    sa.Column('date_parsed', sa.Boolean(), nullable=False),
    sa.Column('type', sa.String(length=10), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=True),
    sa.Column('collections', sa.JSON(), nullable=False),
    sa.Column('language', sa.String(length=20), nullable=True),
    sa.Column('rights', sa.String(length=30), nullable=True),
    sa.Column('source', sa.String(length=500), nullable=True),
    sa.Column('transcription', sa.Text(), nullable=True),
    sa.Column('visibility', sa.String(length=10), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("type IN ('photo', 'document', 'map', 'book', 'object', 'audio', 'video')", name=op.f('ck_archive_record_type_known')),
    sa.CheckConstraint("visibility IN ('draft', 'published', 'withdrawn')", name=op.f('ck_archive_record_visibility_known')),
    sa.CheckConstraint('version >= 1', name=op.f('ck_archive_record_version_positive')),
    sa.CheckConstraint('year_from IS NULL OR year_to IS NULL OR year_from <= year_to', name=op.f('ck_archive_record_year_order')),
    sa.ForeignKeyConstraint(['created_by_id'], ['core_user.id'], name=op.f('fk_archive_record_created_by_id_core_user')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['core_user.id'], name=op.f('fk_archive_record_updated_by_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_archive_record')),
    sa.UniqueConstraint('identifier', name=op.f('uq_archive_record_identifier'))
    )
    with op.batch_alter_table('archive_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_archive_record_type'), ['type'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_record_visibility'), ['visibility'], unique=False)
        batch_op.create_index('ix_archive_record_years', ['year_from', 'year_to'], unique=False)

    op.create_table('archive_media',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('original_path', sa.String(length=300), nullable=False),
    sa.Column('original_filename', sa.String(length=255), nullable=True),
    sa.Column('mime', sa.String(length=50), nullable=False),
    sa.Column('byte_size', sa.Integer(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('page_count', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('failure_reason', sa.Text(), nullable=True),
    sa.Column('thumbnail_path', sa.String(length=300), nullable=True),
    sa.Column('display_path', sa.String(length=300), nullable=True),
    sa.Column('ocr_status', sa.String(length=12), nullable=False),
    sa.Column('ocr_message', sa.Text(), nullable=True),
    sa.Column('ocr_text', sa.Text(), nullable=True),
    sa.Column('ocr_confidence', sa.Double(), nullable=True),
    sa.Column('ocr_pages', sa.JSON(), nullable=True),
    sa.Column('corrected_text', sa.Text(), nullable=True),
    sa.Column('corrected_by_id', sa.Integer(), nullable=True),
    sa.Column('corrected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("ocr_status IN ('pending', 'done', 'unavailable', 'failed')", name=op.f('ck_archive_media_ocr_status_known')),
    sa.CheckConstraint("status IN ('processing', 'ready', 'failed')", name=op.f('ck_archive_media_status_known')),
    sa.CheckConstraint('page_count >= 1', name=op.f('ck_archive_media_page_count_positive')),
    sa.ForeignKeyConstraint(['corrected_by_id'], ['core_user.id'], name=op.f('fk_archive_media_corrected_by_id_core_user')),
    sa.ForeignKeyConstraint(['created_by_id'], ['core_user.id'], name=op.f('fk_archive_media_created_by_id_core_user')),
    sa.ForeignKeyConstraint(['record_id'], ['archive_record.id'], name=op.f('fk_archive_media_record_id_archive_record'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_archive_media'))
    )
    with op.batch_alter_table('archive_media', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_archive_media_record_id'), ['record_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_media_sha256'), ['sha256'], unique=False)

    op.create_table('archive_record_subject',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['archive_record.id'], name=op.f('fk_archive_record_subject_record_id_archive_record'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_archive_record_subject')),
    sa.UniqueConstraint('record_id', 'name', name=op.f('uq_archive_record_subject_record_id_name'))
    )
    with op.batch_alter_table('archive_record_subject', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_archive_record_subject_name'), ['name'], unique=False)



def downgrade():
    with op.batch_alter_table('archive_record_subject', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_archive_record_subject_name'))

    op.drop_table('archive_record_subject')
    with op.batch_alter_table('archive_media', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_archive_media_sha256'))
        batch_op.drop_index(batch_op.f('ix_archive_media_record_id'))

    op.drop_table('archive_media')
    with op.batch_alter_table('archive_record', schema=None) as batch_op:
        batch_op.drop_index('ix_archive_record_years')
        batch_op.drop_index(batch_op.f('ix_archive_record_visibility'))
        batch_op.drop_index(batch_op.f('ix_archive_record_type'))

    op.drop_table('archive_record')
    op.drop_table('archive_import')
