"""Text as name searches compare it: without accents and case, so "Pao Dourado" finds "Pão Dourado"."""

import unicodedata


def folded(text: str | None) -> str:
    """`text` case-folded and without its accents: "Pão Dourado" → "pao dourado", "ÑANDÚ" → "nandu"."""
    decomposed = unicodedata.normalize("NFKD", (text or "").casefold())
    return "".join(character for character in decomposed if not unicodedata.combining(character))


def search_text(*parts: str | None) -> str:
    """What a search column holds: each part folded, one a line (a search never spans two parts)."""
    return "\n".join(folded(part) for part in parts if part)
