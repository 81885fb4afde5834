"""organisations and products get a search column without accents or case

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 22:20:00

"""
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def _folded(text):
    # A frozen copy of portal.text.folded: this migration must keep doing what it did when it was written.
    decomposed = unicodedata.normalize("NFKD", (text or "").casefold())
    return "".join(character for character in decomposed if not unicodedata.combining(character))


def _search_text(*parts):
    return "\n".join(_folded(part) for part in parts if part)


def upgrade():
    for table in ('organisation', 'product'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('search_name', sa.Text(), server_default='', nullable=False))
    connection = op.get_bind()
    organisation = sa.table('organisation', sa.column('id', sa.Integer), sa.column('name', sa.String),
                            sa.column('trade_name', sa.String), sa.column('search_name', sa.Text))
    for row in connection.execute(sa.select(organisation.c.id, organisation.c.name, organisation.c.trade_name)):
        connection.execute(organisation.update().where(organisation.c.id == row.id)
                           .values(search_name=_search_text(row.name, row.trade_name)))
    product = sa.table('product', sa.column('id', sa.Integer), sa.column('name', sa.String),
                       sa.column('code', sa.String), sa.column('names', sa.JSON), sa.column('search_name', sa.Text))
    for row in connection.execute(sa.select(product.c.id, product.c.name, product.c.code, product.c.names)):
        translated = [entry.get('name') for entry in (row.names or {}).values()]
        connection.execute(product.update().where(product.c.id == row.id)
                           .values(search_name=_search_text(row.name, row.code, *translated)))


def downgrade():
    for table in ('product', 'organisation'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('search_name')
