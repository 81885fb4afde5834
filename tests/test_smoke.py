"""Each role logs in and lands on its own page."""

import pytest


@pytest.mark.parametrize(
    ("kind", "role", "landing"),
    [
        ("customer", "admin", "/customer/"),
        ("customer", "member", "/customer/"),
        ("reseller", "manager", "/reseller/"),
        ("reseller", "accountant", "/reseller/"),
        ("partner", "admin", "/partner/"),
        ("partner", "seller", "/partner/"),
        ("vendor", "admin", "/backoffice/"),
        ("vendor", "billing", "/backoffice/"),
        ("vendor", "advisor", "/backoffice/"),
    ],
)
def test_each_role_lands_on_its_page(login_as, kind, role, landing):
    client = login_as(kind, role)
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == landing
    page = client.get(landing)
    assert page.status_code == 200
    assert client.organisation.name in page.get_data(as_text=True)
