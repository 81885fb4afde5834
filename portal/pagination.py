"""One page of a list: the rows of page `number` (from 1) of a select, and whether there are more.

Every paged list (the catalog's products, a customer's and the back office's invoices) reads its page
this way and shows it with the one pager macro (templates/components/pager.html). A page number past the
last gives no rows (the screen says so and links to the first page), never an error.
"""

from dataclasses import dataclass

from portal.extensions import db

PER_PAGE = 25


@dataclass
class Page:
    """One page of results; `total` is None where counting every match would cost more than it tells."""

    items: list
    number: int
    per_page: int
    has_next: bool
    total: int | None = None

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def first(self) -> int:
        return (self.number - 1) * self.per_page + 1

    @property
    def last(self) -> int:
        return self.first + len(self.items) - 1

    @property
    def pages(self) -> int | None:
        return None if self.total is None else max(1, -(-self.total // self.per_page))


def page_of(query, number: int, per_page: int = PER_PAGE, count: bool = True, as_rows: bool = False) -> Page:
    """Page `number` (from 1) of `query`. Without `count`, one extra row says whether there is a next page.
    With `as_rows`, the items are the query's rows (a select of columns) rather than its first column's values."""
    number = max(1, number)
    paged = query.limit(per_page + 1).offset((number - 1) * per_page)
    rows = list(db.session.execute(paged) if as_rows else db.session.scalars(paged))
    total = None
    if count:
        total = db.session.scalar(db.select(db.func.count()).select_from(query.order_by(None).subquery()))
    return Page(items=rows[:per_page], number=number, per_page=per_page, has_next=len(rows) > per_page, total=total)
