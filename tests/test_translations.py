"""Every screen speaks en, es and pt_BR: the catalogs are complete and compiled, and no template shows
text that cannot be translated. `scripts/i18n` extracts, updates and compiles; these tests say what is left."""

import re
from html.parser import HTMLParser

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from portal.config import PROJECT_ROOT
from portal.i18n import LOCALES

CATALOGS = PROJECT_ROOT / "portal" / "translations"
TEMPLATES = PROJECT_ROOT / "templates"
# The same keywords as scripts/i18n.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "lazy_ngettext": (1, 2),
            "lazy_pgettext": ((1, "c"), 2)}
FIX = "run scripts/i18n, translate what it reports, then scripts/i18n compile"


def _key(message_id, context=None):
    singular = message_id[0] if isinstance(message_id, (list, tuple)) else message_id
    return (context, singular)


@pytest.fixture(scope="module")
def extracted() -> dict:
    """Every message marked for translation in the code and templates: key → first place it is used."""
    with open(PROJECT_ROOT / "babel.cfg") as config:
        method_map, options_map = parse_mapping_cfg(config)
    found = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        str(PROJECT_ROOT), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True
    ):
        found.setdefault(_key(message, context), f"{filename}:{lineno}")
    return found


def _catalog(locale: str):
    with open(CATALOGS / locale / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po, locale=locale)


def test_the_extraction_finds_the_portal_strings(extracted):
    assert (None, "Log in") in extracted
    assert (None, "The form has expired. Reload the page and send it again.") in extracted  # a macro file
    assert (None, "Logged in") in extracted  # lazy_gettext in Python


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_is_translated_in_the_catalog(extracted, locale):
    catalog = _catalog(locale)
    entries = {_key(m.id, m.context): m for m in catalog if m.id}
    problems = []
    for key, where in sorted(extracted.items(), key=lambda item: item[1]):
        message = entries.get(key)
        strings = message and (message.string if isinstance(message.string, (list, tuple)) else [message.string])
        if message is None:
            problems.append(f"missing  {key[1]!r}  ({where})")
        elif message.fuzzy:
            problems.append(f"fuzzy    {key[1]!r}  ({where})")
        elif not all(strings):
            problems.append(f"empty    {key[1]!r}  ({where})")
    assert not problems, f"{locale}: {len(problems)} messages need work ({FIX}):\n" + "\n".join(problems)


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_keep_the_placeholders_of_their_message(locale):
    catalog = _catalog(locale)
    problems = [f"{message.id!r}: {error}" for message, errors in catalog.check() for error in errors]
    assert not problems, f"{locale}:\n" + "\n".join(problems)


@pytest.mark.parametrize("locale", LOCALES)
def test_the_compiled_catalog_is_the_catalog(locale):
    folder = CATALOGS / locale / "LC_MESSAGES"
    po_path, mo_path = folder / "messages.po", folder / "messages.mo"
    assert mo_path.exists(), f"{mo_path} is missing: {FIX}"
    with open(mo_path, "rb") as mo:
        compiled = {(m.context, _hashable(m.id)): m.string for m in read_mo(mo) if m.id}
    written = {(m.context, _hashable(m.id)): m.string for m in _catalog(locale)
               if m.id and not m.fuzzy and any(_forms(m.string))}
    # Git does not keep modification times, so a difference in content is what proves a stale .mo.
    older = " (and older than the .po)" if mo_path.stat().st_mtime < po_path.stat().st_mtime else ""
    stale = sorted(str(k) for k in set(written) ^ set(compiled)) + sorted(
        str(k) for k in set(written) & set(compiled) if tuple(_forms(written[k])) != tuple(_forms(compiled[k]))
    )
    assert not stale, f"{mo_path} does not match its .po{older}: run scripts/i18n compile. Differs on:\n" + "\n".join(
        stale[:20]
    )


def _forms(string):
    return string if isinstance(string, (list, tuple)) else [string]


def _hashable(message_id):
    return tuple(message_id) if isinstance(message_id, (list, tuple)) else message_id


@pytest.mark.parametrize(
    ("language", "text"),
    [("es", "Iniciar sesión"), ("pt-BR", "Entrar"), ("en", "Log in")],
)
def test_pages_come_out_in_the_browsers_language(client, language, text):
    page = client.get("/login", headers={"Accept-Language": language})
    assert f'<html lang="{language}">' in page.get_data(as_text=True)
    assert f">{text}</button>" in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("language", "required", "invalid"),
    [
        ("en", "This field is required.", "Invalid email address."),
        ("es", "Este campo es obligatorio.", "Email inválido."),
        ("pt-BR", "Campo obrigatório.", "Email inválido."),
    ],
)
def test_wtforms_own_messages_are_translated_too(login_as, language, required, invalid):
    client = login_as("customer", "admin")
    headers = {"Accept-Language": language, "HX-Request": "true"}
    empty = client.form_post("/team", {"name": "", "email": "", "role": "member"}, headers=headers)
    assert empty.status_code == 422
    assert required in empty.get_data(as_text=True)
    wrong = client.form_post("/team", {"name": "Ana", "email": "ana-at-example", "role": "member"}, headers=headers)
    assert wrong.status_code == 422
    assert invalid in wrong.get_data(as_text=True)


# --- No literal text in templates -------------------------------------------------------------------

# Words that are the same in every language: names, acronyms and formats.
ALLOWED_WORDS = {"SHA-256", "PDF", "CSV", "XML", "API", "JSON", "NF-e", "NFC-e", "Pix", "OXXO", "ID"}
JINJA_COMMENT = re.compile(r"{#.*?#}", re.S)
JINJA_TRANS = re.compile(r"{%-?\s*trans\b.*?{%-?\s*endtrans\s*-?%}", re.S)
JINJA_TAG = re.compile(r"{{.*?}}|{%.*?%}", re.S)
TRANSLATED_CALL = re.compile(r"\b(?:_|gettext|ngettext|pgettext|npgettext|lazy_gettext)\(\s*$")
STRING_LITERAL = re.compile(r"""(['"])((?:(?!\1).)*)\1""")
SENTENCE = re.compile(r"^[A-ZÁÉÍÓÚÑÇ][a-záéíóúñç]+(?: [A-Za-záéíóúñç]+)+[.!?:]?$")
VISIBLE_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label", "aria-description", "label"}
LETTER = re.compile(r"[^\W\d_]")


def _has_words(text: str) -> bool:
    for word in ALLOWED_WORDS:
        text = text.replace(word, " ")
    return bool(LETTER.search(text))


# Text inside these is code, data or a sample to copy, the same in every language.
UNTRANSLATED_TAGS = {"script", "style", "code", "pre", "kbd", "samp"}


class _TextFinder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in UNTRANSLATED_TAGS:
            self._skip += 1
        for name, value in attrs:
            if value and name in VISIBLE_ATTRIBUTES and _has_words(value):
                self.found.append((self.getpos()[0], f'{name}="{value.strip()}"'))
        named = dict(attrs)
        if tag == "input" and named.get("type") in ("submit", "button") and _has_words(named.get("value") or ""):
            self.found.append((self.getpos()[0], f'value="{named["value"]}"'))

    def handle_endtag(self, tag):
        if tag in UNTRANSLATED_TAGS:
            self._skip = max(0, self._skip - 1)

    def handle_data(self, data):
        if not self._skip and _has_words(data):
            self.found.append((self.getpos()[0], data.strip()))


def _blank(match: re.Match) -> str:
    """Keep line numbers: replace Jinja by its newlines only."""
    return "\n" * match.group(0).count("\n")


def literal_text(source: str, html: bool) -> list[tuple[int, str]]:
    """User-visible text written in a template outside _(): (line, text) pairs."""
    source = JINJA_TRANS.sub(_blank, JINJA_COMMENT.sub(_blank, source))
    found = []
    for tag in JINJA_TAG.finditer(source):
        for literal in STRING_LITERAL.finditer(tag.group(0)):
            before = tag.group(0)[: literal.start()]
            if SENTENCE.match(literal.group(2)) and not TRANSLATED_CALL.search(before):
                found.append((source.count("\n", 0, tag.start()) + 1, literal.group(2)))
    text = JINJA_TAG.sub(_blank, source)
    if not html:
        return found + [(n + 1, line.strip()) for n, line in enumerate(text.splitlines()) if _has_words(line)]
    finder = _TextFinder()
    finder.feed(text)
    finder.close()
    return found + finder.found


def test_the_literal_finder_catches_untranslated_text():
    source = '<p title="Save it">{{ _("Fine") }}</p>\n<h2>Orders</h2>{{ "Not translated at all" if x }}\n<b>·</b>'
    assert literal_text(source, html=True) == [(2, "Not translated at all"), (1, 'title="Save it"'), (2, "Orders")]
    assert literal_text("{{ _('Hello') }}\nDear customer\n{{ link }}", html=False) == [(2, "Dear customer")]


def test_templates_show_no_untranslated_text():
    problems = []
    for path in sorted(TEMPLATES.rglob("*")):
        if path.suffix not in (".html", ".txt"):
            continue
        for line, text in literal_text(path.read_text(encoding="utf-8"), html=path.suffix == ".html"):
            problems.append(f"{path.relative_to(PROJECT_ROOT)}:{line}: {text[:80]}")
    assert not problems, "wrap these in {{ _('…') }}:\n" + "\n".join(problems)
