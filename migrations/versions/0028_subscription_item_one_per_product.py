"""one subscription item per product at the catalog's price, and one per product and own price

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-03 10:30:00

The unique constraint of 0024 on (subscription_id, product_id, unit_amount) let two items of one product at
the catalog's price (unit_amount NULL) coexist: NULLs never collide. Two partial unique indexes say it right,
on SQLite and PostgreSQL alike. Rows that broke the rule are merged first (their quantities added to the oldest).
"""
import sqlalchemy as sa
from alembic import op

revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def _merge_duplicates():
    connection = op.get_bind()
    duplicates = connection.execute(sa.text(
        "SELECT subscription_id, product_id, MIN(id), SUM(quantity) FROM subscription_item "
        "WHERE unit_amount IS NULL GROUP BY subscription_id, product_id HAVING COUNT(*) > 1")).all()
    for subscription_id, product_id, keep, quantity in duplicates:
        connection.execute(sa.text("UPDATE subscription_item SET quantity = :quantity WHERE id = :keep"),
                           {"quantity": quantity, "keep": keep})
        connection.execute(sa.text(
            "DELETE FROM subscription_item WHERE subscription_id = :sub AND product_id = :product "
            "AND unit_amount IS NULL AND id <> :keep"), {"sub": subscription_id, "product": product_id, "keep": keep})


def upgrade():
    _merge_duplicates()
    with op.batch_alter_table('subscription_item', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_subscription_item_subscription_id_product_id_unit_amount'),
                                 type_='unique')
    op.create_index('uq_subscription_item_catalog_price', 'subscription_item', ['subscription_id', 'product_id'],
                    unique=True, sqlite_where=sa.text('unit_amount IS NULL'),
                    postgresql_where=sa.text('unit_amount IS NULL'))
    op.create_index('uq_subscription_item_own_price', 'subscription_item',
                    ['subscription_id', 'product_id', 'unit_amount'], unique=True,
                    sqlite_where=sa.text('unit_amount IS NOT NULL'),
                    postgresql_where=sa.text('unit_amount IS NOT NULL'))


def downgrade():
    op.drop_index('uq_subscription_item_own_price', table_name='subscription_item')
    op.drop_index('uq_subscription_item_catalog_price', table_name='subscription_item')
    with op.batch_alter_table('subscription_item', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_subscription_item_subscription_id_product_id_unit_amount'),
                                          ['subscription_id', 'product_id', 'unit_amount'])
