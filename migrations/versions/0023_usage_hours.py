"""usage per organisation, metric and hour (UTC), summed from the usage events and kept as they are recorded

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-02 18:50:00

"""
import sqlalchemy as sa
from alembic import op

import portal.orm

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('usage_hour',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('metric', sa.String(length=24), nullable=False),
    sa.Column('hour', portal.orm.UTCDateTime(timezone=True), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("metric IN ('documents', 'users', 'companies', 'api_calls')", name=op.f('ck_usage_hour_metric')),
    sa.CheckConstraint('total > 0', name=op.f('ck_usage_hour_total_positive')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_usage_hour_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('organisation_id', 'metric', 'hour', name=op.f('pk_usage_hour'))
    )
    # The events already stored, summed per hour: the hour as UTCDateTime stores it (on SQLite, text in UTC).
    if op.get_bind().dialect.name == 'postgresql':
        hour = "date_trunc('hour', occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
    else:
        hour = "strftime('%Y-%m-%d %H:00:00.000000', occurred_at)"
    op.execute(
        f"INSERT INTO usage_hour (organisation_id, metric, hour, total) "  # noqa: S608 — no input in the text
        f"SELECT organisation_id, metric, {hour}, SUM(quantity) FROM usage_event "
        f"GROUP BY organisation_id, metric, {hour}")


def downgrade():
    op.drop_table('usage_hour')
