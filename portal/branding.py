"""The vendor's brand: name (PORTAL_BRAND_NAME), logo (PORTAL_BRAND_LOGO) and colour (PORTAL_BRAND_COLOUR).

The portal's top bar, its e-mails and its invoice PDFs follow them. They are checked once, when the app is
built, and a wrong one stops the start with a message that says what is wrong:
- the logo is a PNG, JPEG or SVG file of at most 1 MB, recognised by its content, not its name. An SVG is
  accepted only when it is plain drawing: no script, no event attribute, no `foreignObject`, no link to
  anything outside itself, no DTD or entity (parsed with defusedxml). It is served at `/brand/logo` with
  `Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'` so that even opened on its own it
  runs nothing. PDFs show a PNG or JPEG logo; with an SVG one they show the name.
- the colour is `#rrggbb`, dark enough for white text on it (contrast ≥ 4.5:1, WCAG AA), since buttons and
  the top bar write white on it. Its darker and lighter shades are derived from it.
"""

import base64
import re
from dataclasses import dataclass
from pathlib import Path

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException
from flask import Blueprint, current_app, url_for

MAX_LOGO_BYTES = 1024 * 1024
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_SVG_ELEMENTS = {
    "svg", "g", "path", "rect", "circle", "ellipse", "line", "polyline", "polygon", "text", "tspan", "title",
    "desc", "defs", "lineargradient", "radialgradient", "stop", "clippath", "mask", "use", "symbol", "style",
    "metadata",
}
_LINK_ATTRIBUTES = {"href", "{http://www.w3.org/1999/xlink}href"}

bp = Blueprint("brand", __name__)


class BrandError(ValueError):
    """A brand setting that cannot be used; the message names the setting and the reason."""


@dataclass(frozen=True)
class Brand:
    name: str
    colour: str | None = None
    logo: bytes | None = None
    logo_type: str | None = None

    @property
    def shades(self) -> dict[str, str]:
        """The colour and the shades portal.css uses (--brand, --brand-dark, --brand-bar, --brand-tint)."""
        if not self.colour:
            return {}
        return {"brand": self.colour, "brand-dark": _mix(self.colour, "#000000", 0.22),
                "brand-bar": _mix(self.colour, "#000000", 0.12), "brand-tint": _mix(self.colour, "#ffffff", 0.9)}

    @property
    def raster_logo_uri(self) -> str | None:
        """A data: URI of a PNG or JPEG logo (what the PDFs can draw)."""
        if self.logo is None or self.logo_type == "image/svg+xml":
            return None
        return f"data:{self.logo_type};base64,{base64.b64encode(self.logo).decode()}"


def _channels(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


def _mix(colour: str, other: str, share: float) -> str:
    mixed = (round(a + (b - a) * share) for a, b in zip(_channels(colour), _channels(other), strict=True))
    return "#" + "".join(f"{value:02x}" for value in mixed)


def _luminance(colour: str) -> float:
    def linear(channel: int) -> float:
        value = channel / 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(c) for c in _channels(colour))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_with_white(colour: str) -> float:
    return 1.05 / (_luminance(colour) + 0.05)


def check_colour(value: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    if not _COLOUR.fullmatch(value):
        raise BrandError(f"PORTAL_BRAND_COLOUR must be a colour written #rrggbb, not {value!r}")
    if contrast_with_white(value) < 4.5:
        raise BrandError(f"PORTAL_BRAND_COLOUR {value} is too light for white text on it "
                         f"(contrast {contrast_with_white(value):.1f}:1, at least 4.5:1 is needed)")
    return value.lower()


def _svg_problem(content: bytes) -> str | None:
    try:
        root = ElementTree.fromstring(content, forbid_dtd=True)
    except DefusedXmlException:
        return "it declares a DTD or entities"
    except ElementTree.ParseError:
        return "it is not well-formed XML"
    if root.tag.rsplit("}", 1)[-1].lower() != "svg":
        return "it is not an SVG image"
    for element in root.iter():
        name = element.tag.rsplit("}", 1)[-1].lower() if isinstance(element.tag, str) else ""
        if name not in _SVG_ELEMENTS:
            return f"it holds a <{name}> element"
        for attribute, value in element.attrib.items():
            local = attribute.rsplit("}", 1)[-1].lower()
            if local.startswith("on"):
                return f"it holds an event attribute ({local})"
            if attribute in _LINK_ATTRIBUTES and not value.strip().startswith("#"):
                return "it links to something outside itself"
            if "javascript:" in value.lower() or "url(" in value.lower() and "url(#" not in value.lower():
                return "it refers to something outside itself"
        if name == "style" and ("@import" in (element.text or "") or "url(" in (element.text or "")):
            return "its style loads something from outside"
    return None


def logo_type(content: bytes) -> str:
    """The logo's media type, recognised by its content; BrandError when it is not a usable logo."""
    if len(content) > MAX_LOGO_BYTES:
        raise BrandError(f"PORTAL_BRAND_LOGO is {len(content) / 1024 / 1024:.1f} MB; a logo may be 1 MB at most")
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    head = content[:512].lstrip().lower()
    if head.startswith(b"<?xml") or head.startswith(b"<svg") or b"<svg" in head:
        problem = _svg_problem(content)
        if problem:
            raise BrandError(f"PORTAL_BRAND_LOGO is an SVG the portal will not show: {problem}")
        return "image/svg+xml"
    raise BrandError("PORTAL_BRAND_LOGO must be a PNG, JPEG or SVG image")


def load_brand(name: str, logo_path: str, colour: str) -> Brand:
    logo = kind = None
    if logo_path.strip():
        path = Path(logo_path.strip())
        if not path.is_file():
            raise BrandError(f"PORTAL_BRAND_LOGO: there is no file at {path}")
        if path.stat().st_size > MAX_LOGO_BYTES:
            raise BrandError(f"PORTAL_BRAND_LOGO is {path.stat().st_size / 1024 / 1024:.1f} MB; a logo may be 1 MB "
                             "at most")
        logo = path.read_bytes()
        kind = logo_type(logo)
    return Brand(name=name, colour=check_colour(colour), logo=logo, logo_type=kind)


def current_brand() -> Brand:
    return current_app.extensions["vitrine_brand"]


@bp.get("/brand/logo")
def logo():
    brand = current_brand()
    if brand.logo is None:
        return current_app.send_static_file("img/logo.svg")
    return brand.logo, 200, {
        "Content-Type": brand.logo_type,
        "Cache-Control": "public, max-age=86400",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    }


@bp.get("/brand/theme.css")
def theme():
    shades = current_brand().shades
    rules = ":root {" + " ".join(f"--{name}: {value};" for name, value in shades.items()) + "}\n"
    return rules, 200, {"Content-Type": "text/css; charset=utf-8", "Cache-Control": "public, max-age=86400"}


def brand_logo_url() -> str:
    return url_for("brand.logo") if current_brand().logo else url_for("static", filename="img/logo.svg")


def brand_theme_url() -> str | None:
    """The stylesheet of the brand's colour, after portal.css (None with the portal's own colours)."""
    return url_for("brand.theme") if current_brand().colour else None


def init_app(app) -> None:
    app.extensions["vitrine_brand"] = load_brand(app.config["BRAND_NAME"], app.config["BRAND_LOGO"],
                                                 app.config["BRAND_COLOUR"])
    app.register_blueprint(bp)
    app.jinja_env.globals.update(brand_logo_url=brand_logo_url, brand_theme_url=brand_theme_url)
