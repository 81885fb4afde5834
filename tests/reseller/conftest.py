"""The reseller tests' common fixtures: a Brazilian accounting office, and a manager logged in to one."""

import pytest

from portal.extensions import db
from tests import factories
from tests.reseller.helpers import logged_in


@pytest.fixture
def office(app):
    """Contabilidade Horizonte Ltda, a Brazilian reseller with no client yet."""
    found = factories.make_org("reseller", "BR", name="Contabilidade Horizonte Ltda")
    db.session.commit()
    return found


@pytest.fixture
def manager(login_as):
    """A test client logged in as the manager of a new Brazilian reseller."""
    return logged_in(login_as, "reseller", "manager", organisation=factories.make_org("reseller", "BR"))
