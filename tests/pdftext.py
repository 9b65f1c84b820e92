"""Reading back what a PDF page drew, for the layout tests of tickets and certificates."""
from __future__ import annotations

import io

from pypdf import PdfReader


def text_runs(data: bytes) -> list[tuple[str, float, float, float]]:
    """The text runs of the first page as (text, x, baseline, size): what one drawString drew
    (pypdf reports a string in pieces where the font subset changes, all at its starting point)."""
    runs: list[list] = []

    def visit(text, cm, tm, font, size):
        x, y = tm[4] + cm[4], tm[5] + cm[5]
        if runs and runs[-1][1:] == [x, y, size] and not runs[-1][0].endswith("\n"):
            runs[-1][0] += text
        elif text.strip():
            runs.append([text, x, y, size])

    PdfReader(io.BytesIO(data)).pages[0].extract_text(visitor_text=visit)
    return [(text.strip(), x, y, size) for text, x, y, size in runs]
