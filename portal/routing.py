"""Numbers a request gives to name rows or pages: only those the database can hold reach a query.

Every id column is an INTEGER: 32 bits on PostgreSQL, the narrowest of the databases the portal runs on
(SQLite's hold 64). A larger number names no row, yet would reach the database as a value it cannot take
("integer out of range" on PostgreSQL, an overflow from 2^63 on SQLite) and be a server error. So:
- `<int:…>` in any route (the app's own `int` converter) matches only 0…MAX_ID: beyond, the address
  names nothing, a 404;
- `id_arg()` and `page_arg()` read a filter's id and a page number from the query string: absent or not a
  number, the filter is left out as before; a number an INTEGER cannot hold is a 422 that says so;
- forms choose rows with `portal.forms.IdSelectField`, which refuses the same numbers with a 422.
"""

from flask import abort, request
from flask_babel import gettext as _
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1
MIN_INTEGER = -(2**31)


def fits(number: int) -> bool:
    """Whether an INTEGER column can hold `number`."""
    return MIN_INTEGER <= number <= MAX_ID


class IdConverter(IntegerConverter):
    """Werkzeug's `int` converter bounded by what an id column holds (a larger number matches no route)."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = None,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=MAX_ID if max is None else max,
                         signed=signed)


def _number_arg(name: str) -> int | None:
    raw = request.args.get(name, "")
    try:
        number = int(raw)
    except ValueError:
        return None  # not a number: left out, as Flask's `type=int` would
    if not fits(number):
        abort(422, description=_("This address holds a number larger than any the portal has. Go back to the "
                                 "list and choose again."))
    return number


def id_arg(name: str) -> int | None:
    """The id a filter names in the query string (None when absent or not a number)."""
    return _number_arg(name)


def page_arg(name: str = "page") -> int:
    """The page number asked for in the query string: 1 when absent, not a number or below 1."""
    number = _number_arg(name)
    return max(number, 1) if number is not None else 1


def init_app(app) -> None:
    # Before the blueprints add their routes: a rule takes its converters when it is added.
    app.url_map.converters["int"] = IdConverter
