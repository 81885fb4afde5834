"""The reseller's client list ("Painel"): software, plan, contract, who pays, last activity; search, filters,
pages, CSV; only the reseller's own clients."""

import csv
import io

import pytest

from portal.extensions import db
from tests import factories
from tests.reseller.helpers import logged_in, make_client, touch


def text_of(response) -> str:
    return response.get_data(as_text=True)


def test_the_list_shows_each_clients_plan_contract_payer_and_last_activity(manager):
    office = db.session.merge(manager.organisation)
    software = factories.make_software(name="FazNota")
    diamante = factories.make_product("plan", software=software, name="Diamante",
                                      prices=(("BRL", "monthly", 9_990, 0),))
    padaria = make_client(office, "Padaria Pão Dourado Ltda", plan=diamante, payer="reseller",
                          tax_id="45.398.765/0001-60")
    make_client(office, "Oficina Boa Vista Ltda", status="trial")
    make_client(office, "Mercado Central Ltda", blocked=True)
    make_client(office, "Livraria Antiga Ltda", status="cancelled")
    touch(padaria)
    stranger = make_client(factories.make_org("reseller", "BR"), "Empresa de Outro Ltda")
    db.session.commit()

    page = text_of(manager.get("/reseller/"))
    assert "4 client companies" in page
    assert "Padaria Pão Dourado Ltda" in page and "45.398.765/0001-60" in page
    assert "FazNota · Diamante" in page
    assert stranger.name not in page
    for status in ("Active", "Trial", "Blocked", "Cancelled"):
        assert f">{status}</span>" in page
    assert "The reseller" in page and "The client" in page
    assert "None yet" in page  # the clients nobody has used yet


def test_the_statuses_read_as_the_seed_names_them_in_portuguese(manager):
    office = db.session.merge(manager.organisation)
    make_client(office, "Oficina Boa Vista Ltda", status="trial")
    make_client(office, "Mercado Central Ltda", blocked=True)
    make_client(office, "Padaria Ltda")
    db.session.commit()
    page = text_of(manager.get("/reseller/", headers={"Accept-Language": "pt-BR"}))
    for status in ("Efetivado", "Teste", "Bloqueado"):
        assert f">{status}</span>" in page
    assert "<h1>Painel</h1>" in page


@pytest.mark.parametrize("needle", ["45398765000160", "45.398.765/0001-60", "pao dourado", "PÃO-DOURADO", "dourado"])
def test_search_ignores_accents_case_and_punctuation(manager, needle):
    office = db.session.merge(manager.organisation)
    make_client(office, "Padaria Pão Dourado Ltda", tax_id="45.398.765/0001-60")
    make_client(office, "Oficina Boa Vista Ltda")
    db.session.commit()
    page = text_of(manager.get("/reseller/", query_string={"q": needle}))
    assert "Padaria Pão Dourado Ltda" in page and "Oficina Boa Vista" not in page, needle


def test_filters_by_status_plan_and_who_pays(manager):
    office = db.session.merge(manager.organisation)
    gold = factories.make_product("plan", name="Ouro", prices=(("BRL", "monthly", 9_990, 0),))
    make_client(office, "Alfa Ltda", status="trial", plan=gold)
    make_client(office, "Beta Ltda", payer="reseller")
    make_client(office, "Gama Ltda", blocked=True, payer="reseller")
    db.session.commit()

    def names(**args) -> set[str]:
        page = text_of(manager.get("/reseller/", query_string=args))
        return {name for name in ("Alfa Ltda", "Beta Ltda", "Gama Ltda") if name in page}

    assert names(status="trial") == {"Alfa Ltda"}
    assert names(status="blocked") == {"Gama Ltda"}
    assert names(status="active") == {"Beta Ltda"}
    assert names(payer="reseller") == {"Beta Ltda", "Gama Ltda"}
    assert names(payer="client") == {"Alfa Ltda"}
    assert names(plan=str(gold.id)) == {"Alfa Ltda"}
    assert names(payer="reseller", status="active") == {"Beta Ltda"}


def test_an_unknown_filter_value_is_a_translated_422_showing_every_client(manager):
    office = db.session.merge(manager.organisation)
    make_client(office, "Alfa Ltda")
    db.session.commit()
    response = manager.get("/reseller/", query_string={"status": "deleted", "plan": "999999"},
                           headers={"Accept-Language": "es"})
    assert response.status_code == 422
    assert "Un filtro no era válido" in text_of(response) and "Alfa Ltda" in text_of(response)


def test_pages_of_25_with_a_next_page(manager):
    office = db.session.merge(manager.organisation)
    for n in range(30):
        make_client(office, f"Cliente {n:02d} Ltda")
    db.session.commit()
    first, second = text_of(manager.get("/reseller/")), text_of(manager.get("/reseller/?page=2"))
    assert "Cliente 00 Ltda" in first and "Cliente 24 Ltda" in first and "Cliente 25 Ltda" not in first
    assert "Cliente 25 Ltda" in second and "Cliente 29 Ltda" in second and 'rel="prev"' in second


def test_the_list_runs_a_constant_number_of_statements(manager, count_queries):
    office = db.session.merge(manager.organisation)
    for n in range(3):
        make_client(office, f"Cliente {n} Ltda")
    db.session.commit()
    with count_queries() as few:
        manager.get("/reseller/")
    for n in range(3, 20):
        make_client(office, f"Cliente {n} Ltda")
    db.session.commit()
    with count_queries() as many:
        manager.get("/reseller/")
    assert many["n"] == few["n"]


def test_the_csv_has_every_filtered_client(manager):
    office = db.session.merge(manager.organisation)
    make_client(office, "=Alfa Ltda", payer="reseller")
    make_client(office, "Beta Ltda", status="trial")
    db.session.commit()
    response = manager.get("/reseller/clients.csv", query_string={"payer": "reseller"}, buffered=True)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(text_of(response).lstrip("\ufeff"))))
    assert rows[0][:3] == ["Company", "Trade name", "Tax ID"]
    assert len(rows) == 2 and rows[1][0] == "'=Alfa Ltda"  # never a formula
    assert rows[1][6:8] == ["Active", "The reseller"]


def test_an_accountant_reads_the_same_list(login_as):
    office = factories.make_org("reseller", "BR")
    make_client(office, "Padaria Pão Dourado Ltda")
    accountant = logged_in(login_as, "reseller", "accountant", organisation=office)
    page = text_of(accountant.get("/reseller/"))
    assert "Padaria Pão Dourado Ltda" in page


def test_the_list_warns_of_a_certificate_expiring_within_30_days(manager):
    """Each client's certificate: its expiry date; under 30 days a warning badge, past it "expired", and
    "none" for a client without one."""
    from datetime import UTC, datetime

    from portal.services.resellers import certificates
    from tests.pfx import PASSWORD, make_pfx

    reseller = manager.organisation
    now = datetime.now(UTC)
    for name, tax_id, days in (("Padaria Pão Dourado Ltda", "45398765000160", 20),
                               ("Ótica Central ME", "11222333000181", 200)):
        client = make_client(reseller, name, tax_id=tax_id)
        certificates.store_certificate(client, make_pfx(tax_id, days_left=days), PASSWORD, now)
    make_client(reseller, "Mercado Bom Preço Ltda")
    db.session.commit()
    page = manager.get("/reseller/", headers={"Accept-Language": "pt-BR"}).get_data(as_text=True)
    rows = {name: page.split(name, 1)[1].split("</tr>", 1)[0]
            for name in ("Padaria Pão Dourado Ltda", "Ótica Central ME", "Mercado Bom Preço Ltda")}
    def certificate_cell(row: str) -> str:
        return row.split('data-label="Certificado">', 1)[1].split("</td>", 1)[0]

    assert 'class="badge warn"' in certificate_cell(rows["Padaria Pão Dourado Ltda"])
    assert "badge" not in certificate_cell(rows["Ótica Central ME"])  # a plain date: more than 30 days left
    assert "Nenhum" in certificate_cell(rows["Mercado Bom Preço Ltda"])
