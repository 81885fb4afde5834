"""Changing the catalog: software, store categories, products, their prices and quotas — created, changed,
retired.

Nothing that was sold is ever deleted: retiring hides a product (or a whole software or category) from
new sales, while subscriptions keep it and issued invoices keep their own copy of every line. Every
change is recorded in the audit log with the `Author` the view passes in. Reading the catalog is in
`search`; amounts typed by people are read by `portal.services.billing.amounts`.

The verbs are in software, categories and products (with prices and quotas); fields holds the checks they share.
"""

from portal.services.catalog.categories import (
    create_category,
    move_category,
    restore_category,
    retire_category,
    update_category,
)
from portal.services.catalog.fields import SYSTEM, Author
from portal.services.catalog.products import (
    create_product,
    remove_price,
    remove_quota,
    restore_product,
    retire_product,
    set_price,
    set_quota,
    update_product,
)
from portal.services.catalog.software import create_software, restore_software, retire_software, update_software

__all__ = [
    "SYSTEM", "Author", "create_category", "create_product", "create_software", "move_category", "remove_price",
    "remove_quota", "restore_category", "restore_product", "restore_software", "retire_category", "retire_product",
    "retire_software", "set_price", "set_quota", "update_category", "update_product", "update_software",
]
