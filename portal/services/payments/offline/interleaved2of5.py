"""Interleaved 2 of 5, the boleto's barcode symbology, drawn as a printable SVG."""

from xml.sax.saxutils import quoteattr

# Each digit is five elements, two of them wide (1) and three narrow (0).
PATTERNS = {
    "0": "00110", "1": "10001", "2": "01001", "3": "11000", "4": "00101",
    "5": "10100", "6": "01100", "7": "00011", "8": "10010", "9": "01010",
}
NARROW = 1
WIDE = 3  # FEBRABAN: wide = 3 × narrow (the norm allows 2.25 to 3)


def modules(digits: str) -> list[tuple[bool, int]]:
    """The sequence of (is bar, width in narrow units): start, pairs of digits interleaved, stop."""
    if len(digits) % 2 or not digits.isdigit():
        raise ValueError("Interleaved 2 of 5 encodes an even number of digits")
    elements = [(True, NARROW), (False, NARROW), (True, NARROW), (False, NARROW)]  # start: narrow bar, space ×2
    for index in range(0, len(digits), 2):
        bars, spaces = PATTERNS[digits[index]], PATTERNS[digits[index + 1]]
        for bar, space in zip(bars, spaces, strict=True):
            elements.append((True, WIDE if bar == "1" else NARROW))
            elements.append((False, WIDE if space == "1" else NARROW))
    elements += [(True, WIDE), (False, NARROW), (True, NARROW)]  # stop: wide bar, narrow space, narrow bar
    return elements


def svg(digits: str, label: str, narrow_mm: float = 0.25, height_mm: float = 13.0, quiet_mm: float = 5.0) -> str:
    """An SVG of the barcode sized in millimetres (FEBRABAN: 13 mm high; with a 0.25 mm narrow bar the 44 digits
    of a boleto are about 103 mm long), with quiet zones either side."""
    x = quiet_mm
    rects = []
    for is_bar, width in modules(digits):
        size = width * narrow_mm
        if is_bar:
            rects.append(f'<rect x="{x:.3f}" y="0" width="{size:.3f}" height="{height_mm}"/>')
        x += size
    total = x + quiet_mm
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label={quoteattr(label)} '
        f'class="barcode" width="{total:.3f}mm" height="{height_mm}mm" viewBox="0 0 {total:.3f} {height_mm}">'
        f'<title>{_escape(label)}</title><rect x="0" y="0" width="{total:.3f}" height="{height_mm}" fill="#fff"/>'
        f'<g fill="#000">{"".join(rects)}</g></svg>'
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
