"""《再登记申请表》: long texts wrap inside their own cell, on the on-time and the late (补办) form."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth

from examadmin.core import clock
from examadmin.core.pdf import cjk_font
from examadmin.renewals import pdf
from examadmin.renewals.models import RenewalApplication
from examadmin.renewals.validity import cycle
from examadmin.extensions import db
from tests.renewals.factories import make_holder

LONG_PLAN = "2026年第2次幼儿照护职业技能等级证书（初级、中级、高级）全国统一考核计划（补考与重考合并安排）"
LONG_VALUE = "幼儿照护职业技能等级证书（初级） · 已报名待审核，考点为某某市职业技术学院第二实训楼三层"


class Recorder:
    """A canvas that keeps what is drawn: the cells (rects) and the strings with their positions."""

    def __init__(self):
        self.rects, self.strings, self.pages = [], [], 1
        self.size = 10.5

    def rect(self, x, y, w, h, *args, **kwargs):
        self.rects.append((x, y, w, h))

    def setFont(self, name, size):
        self.font, self.size = name, size

    def drawString(self, x, y, text):
        self.strings.append((x, y, text, self.size))


def _cell_of(rects, x, y):
    return [r for r in rects if r[0] <= x <= r[0] + r[2] and r[1] <= y <= r[1] + r[3]]


def test_a_long_label_and_value_wrap_inside_their_cells():
    font = cjk_font().name
    canvas = Recorder()
    bottom = pdf._row(canvas, font, 200 * mm, LONG_PLAN, LONG_VALUE, height=8 * mm)
    assert len(canvas.strings) > 2  # more than one line each
    assert "".join(t for x, _, t, _ in canvas.strings if x < 25 * mm + pdf.LABEL_WIDTH) == LONG_PLAN
    value = "".join(t for x, _, t, _ in canvas.strings if x > 25 * mm + pdf.LABEL_WIDTH)
    assert value.replace(" ", "") == LONG_VALUE.replace(" ", "")
    for x, y, text, size in canvas.strings:
        cells = _cell_of(canvas.rects, x, y)
        assert len(cells) == 1, text  # inside exactly one cell, not on a column line
        cx, cy, cw, ch = cells[0]
        assert x + stringWidth(text, font, size) <= cx + cw, text  # the text ends before the cell does
        assert cy < y < cy + ch
    lines = sorted({round(y, 3) for _, y, _, _ in canvas.strings}, reverse=True)
    assert all(a - b >= 10.5 for a, b in zip(lines, lines[1:]))  # no two lines on top of each other
    assert bottom < 200 * mm - 8 * mm  # the row grew


def test_wrap_breaks_chinese_anywhere_and_keeps_every_character():
    font = cjk_font().name
    lines = pdf.wrap(LONG_PLAN, font, 10.5, 100)
    assert len(lines) > 3 and "".join(lines) == LONG_PLAN
    assert all(stringWidth(line, font, 10.5) <= 100 for line in lines)
    assert pdf.wrap("Alpha beta gamma delta", font, 10.5, stringWidth("Alpha beta gamma", font, 10.5)) == \
        ["Alpha beta gamma", "delta"]


@pytest.mark.parametrize("late", [False, True])
def test_the_whole_form_draws_no_text_over_a_cell_border(monkeypatch, late):
    monkeypatch.setattr(clock, "now", lambda: datetime(2028, 11, 20, 10, 0))
    holder = make_holder(date(2026, 1, 15))
    application = RenewalApplication(record_id=holder.record.id, candidate_id=holder.record.candidate_id,
                                     school_id=holder.record.school_id, cycle_expiry=date(2029, 1, 14), late=late,
                                     explanation="未能按期再登记的原因说明。" * 40)
    db.session.add(application)
    db.session.flush()
    font = cjk_font().name
    drawn = []

    class Canvas(Recorder):
        def showPage(self):
            drawn.append(self.check())
            self.rects, self.strings = [], []

        def check(self):
            for x, y, text, size in self.strings:
                for cx, cy, cw, ch in self.rects:
                    inside_y = cy < y < cy + ch
                    if inside_y and cx < x < cx + cw:
                        assert x + stringWidth(text, font, size) <= cx + cw, text
            return len(self.strings)

        def __getattr__(self, name):  # everything else a canvas does (title, centred strings, text objects)
            return lambda *args, **kwargs: _Text() if name == "beginText" else None

    class _Text:
        def __getattr__(self, name):
            return lambda *args, **kwargs: None

    canvas = Canvas()
    monkeypatch.setattr(pdf, "new_canvas", lambda target, **kwargs: canvas)
    monkeypatch.setattr(pdf, "pdf_bytes", lambda draw: draw(None) or b"")
    history = [(LONG_PLAN, LONG_VALUE)] * 12
    pdf.application_form(application, cycle(holder.record), 95, history)
    assert drawn and sum(drawn) > 20
