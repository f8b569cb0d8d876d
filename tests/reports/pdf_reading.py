"""Reading a printed PDF back for the tests: its text row by row, its pages, its images.

pdfminer.six groups a table's text by column; the tests read it as a person does, one
row at a time, so every line of text is put back together with the others on the same
baseline.
"""

from __future__ import annotations

import io
import re
from typing import Any

from pdfminer.high_level import extract_pages
from pdfminer.layout import LTImage, LTTextLine


def _walk(item: Any):
    yield item
    if hasattr(item, "__iter__") and not isinstance(item, LTTextLine):
        for child in item:
            yield from _walk(child)


def pages(data: bytes) -> list:
    return list(extract_pages(io.BytesIO(data)))


def rows(data: bytes) -> list[str]:
    """Every row of text, top to bottom, page after page, cells joined by one space."""
    found = []
    for page in pages(data):
        lines: dict[int, list[tuple[float, str]]] = {}
        for item in _walk(page):
            if isinstance(item, LTTextLine):
                text = item.get_text().strip()
                if text:
                    lines.setdefault(round(item.y0), []).append((item.x0, text))
        for y in sorted(lines, reverse=True):
            found.append(" ".join(text for _, text in sorted(lines[y])))
    return found


def text(data: bytes) -> str:
    """All the text as one string of rows, whitespace made single spaces."""
    return re.sub(r"\s+", " ", " ".join(rows(data)))


def images(data: bytes) -> list[LTImage]:
    return [item for page in pages(data) for item in _walk(page) if isinstance(item, LTImage)]
