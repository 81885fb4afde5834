"""The vendor's brand: a logo and a colour checked at start, followed by the top bar, e-mails and invoice PDFs."""

import io

import pytest
from PIL import Image
from pypdf import PdfReader

from portal import create_app
from portal.branding import BrandError, check_colour, load_brand, logo_type
from portal.extensions import db
from portal.models import OutboxMessage
from portal.services.billing import pdf as invoice_pdf
from portal.services.mail.composing import queue_email
from tests import factories
from tests.conftest import PortalClient

CLEAN_SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><title>Acme</title>'
             b'<defs><linearGradient id="g"><stop offset="0" stop-color="#123"/></linearGradient></defs>'
             b'<rect width="10" height="10" fill="url(#g)"/></svg>')


def _png(size=(8, 8)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (30, 30, 200)).save(out, "JPEG")
    return out.getvalue()


def test_a_png_jpeg_or_plain_svg_logo_is_recognised_by_its_content():
    assert logo_type(_png()) == "image/png"
    assert logo_type(_jpeg()) == "image/jpeg"
    assert logo_type(CLEAN_SVG) == "image/svg+xml"
    assert logo_type(b'<?xml version="1.0"?>\n' + CLEAN_SVG) == "image/svg+xml"


@pytest.mark.parametrize(("content", "reason"), [
    (b"GIF89a" + b"\0" * 20, "must be a PNG, JPEG or SVG"),
    (b"%PDF-1.7 not an image", "must be a PNG, JPEG or SVG"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * (1024 * 1024), "1 MB at most"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "<script> element"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "event attribute"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><p>x</p></foreignObject></svg>', "<foreignobject>"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:x="http://www.w3.org/1999/xlink">'
     b'<use x:href="https://evil.example/a.svg#b"/></svg>', "outside itself"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"><rect fill="url(https://evil.example/p)"/></svg>', "outside itself"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"><style>@import url(https://evil.example/a.css);</style></svg>',
     "loads something"),
    (b'<!DOCTYPE svg [<!ENTITY a "b">]><svg xmlns="http://www.w3.org/2000/svg">&a;</svg>', "DTD or entities"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'><rect>", "not well-formed"),
])
def test_a_logo_that_is_not_a_plain_image_is_refused_with_its_reason(content, reason):
    with pytest.raises(BrandError, match=reason):
        logo_type(content)


def test_the_colour_must_be_written_as_hex_and_carry_white_text():
    assert check_colour("") is None
    assert check_colour(" #7A1F5C ") == "#7a1f5c"
    with pytest.raises(BrandError, match="#rrggbb"):
        check_colour("purple")
    with pytest.raises(BrandError, match="too light"):
        check_colour("#ffd800")


def test_a_missing_logo_file_stops_the_start_with_its_path(tmp_path):
    with pytest.raises(BrandError, match="no file at"):
        load_brand("Acme", str(tmp_path / "nope.png"), "")


@pytest.fixture
def branded(database_url, tmp_path, app):
    logo = tmp_path / "logo.png"
    logo.write_bytes(_png((40, 40)))
    branded = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "k",
                          "BASE_URL": "http://portal.test", "PASSWORD_HASH_TIME_COST": 1,
                          "PASSWORD_HASH_MEMORY_KIB": 8, "PASSWORD_HASH_PARALLELISM": 1,
                          "BRAND_NAME": "Acme Conta", "BRAND_LOGO": str(logo), "BRAND_COLOUR": "#7a1f5c"})
    branded.test_client_class = PortalClient
    return branded


def test_the_portal_shows_the_brands_logo_name_and_colour(branded):
    membership = factories.make_member("customer", "admin")
    db.session.commit()
    client = branded.test_client()
    client.login(membership.user.email)
    page = client.get("/customer/").get_data(as_text=True)
    assert '<img src="/brand/logo"' in page and "Acme Conta" in page
    assert '<link rel="stylesheet" href="/brand/theme.css">' in page
    logo = client.get("/brand/logo")
    assert logo.status_code == 200 and logo.headers["Content-Type"] == "image/png"
    assert logo.data.startswith(b"\x89PNG") and "default-src 'none'" in logo.headers["Content-Security-Policy"]
    theme = client.get("/brand/theme.css").get_data(as_text=True)
    assert "--brand: #7a1f5c;" in theme and "--brand-bar:" in theme and "--brand-tint:" in theme


def test_without_a_brand_the_portal_keeps_its_own(client):
    page = client.get("/login").get_data(as_text=True)
    assert "/static/img/logo.svg" in page and "/brand/theme.css" not in page
    assert client.get("/brand/logo").headers["Content-Type"].startswith("image/svg+xml")


def test_e_mails_and_invoice_pdfs_follow_the_brand(branded):
    membership = factories.make_member("customer", "admin")
    invoice = factories.make_invoice(membership.organisation)
    db.session.commit()
    with branded.app_context():
        message = queue_email("ana@example.com", "password_reset", "es", link="http://portal.test/x", hours=2,
                              user=membership.user)
        assert "#7a1f5c" in message.html_body or "#6b1b51" in message.html_body
        assert "Acme Conta" in message.html_body
        db.session.rollback()
        content = invoice_pdf.render_invoice_pdf(db.session.get(type(invoice), invoice.id))
    reader = PdfReader(io.BytesIO(content))
    first = reader.pages[0]
    images = list(first.images)
    assert len(images) == 1 and images[0].image.size == (40, 40)
    assert "Acme Conta" in first.extract_text()
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)) == 0
