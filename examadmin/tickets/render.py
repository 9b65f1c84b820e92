"""Drawing the admission ticket (one A4 page per candidate), the door list and the sign-in sheet."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable, Iterable

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase.pdfmetrics import stringWidth

from ..core import pdf
from .data import Roster, TicketData

W, H = A4
#: part of a kept ticket's digest (services.ticket_pdf): the drawing code itself, so that a new
#: version of it draws the tickets already kept again
LAYOUT_VERSION = hashlib.sha256(Path(__file__).read_bytes() + Path(pdf.__file__).read_bytes()).hexdigest()[:16]
M = 42  # page margin

#: the rules for candidates printed on every ticket (issue 10, DOMAIN.md §8)
RULES = [
    "须持本人准考证和有效身份证原件到准考证指定的考点参加考试。",
    "如有调整或新增，以准考证信息为准。",
    "请使用 A4 纸打印本准考证，确保照片和文字清晰。",
    "请按准考证上的时间提前到达考场，入场时出示本页二维码供监考人员扫码签到。",
]


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Break Chinese text (no spaces needed) into lines that fit `width`."""
    lines, current = [], ""
    for ch in text:
        if stringWidth(current + ch, font, size) > width and current:
            lines.append(current)
            current = ch
        else:
            current += ch
    if current:
        lines.append(current)
    return lines


# ---- admission ticket -------------------------------------------------------------------

TOP = H - M - 84          # top of the field grid (below the title and the plan's name)
ROW = 26                  # height of a field row
PHOTO_W, PHOTO_H = 105, 129
PHOTO_X = W - M - 8 - PHOTO_W
SHORT = ["姓　　名", "性　　别", "证件类型", "证件号码", "准考证号"]
LONG = ["证书名称", "等　　级", "考核站点", "站点地址"]
LABEL_W = 72
TABLE_TOP = TOP - ROW * (len(SHORT) + len(LONG)) - 26
COLS = [("科目", 0), ("考试方式", 150), ("考试时间", 215), ("考场", 360), ("座位号", 455)]
#: a subjects row of one line, and of two (a long subject or room name wraps)
TABLE_ROW, TABLE_ROW_2 = 22, 30
QR = 130


def _ticket_form(canvas, font: str) -> None:
    """What every ticket page shares, drawn once per document (a form XObject)."""
    canvas.beginForm("ticket")
    canvas.setLineWidth(1.2)
    canvas.rect(M - 6, M - 6, W - 2 * M + 12, H - 2 * M + 12)
    canvas.setLineWidth(0.6)
    left, right = M + 8, W - M - 8
    canvas.setFont(font, 11)
    for i, label in enumerate(SHORT + LONG):
        y = TOP - ROW * (i + 1)
        line_end = PHOTO_X - 10 if i < len(SHORT) else right
        canvas.line(left, y, line_end, y)
        canvas.drawString(left + 4, y + 8, label)
    canvas.rect(PHOTO_X, TOP - PHOTO_H, PHOTO_W, PHOTO_H)
    # the subjects table header
    canvas.setFillGray(0.92)
    canvas.rect(left, TABLE_TOP - 22, right - left, 22, stroke=0, fill=1)
    canvas.setFillGray(0)
    canvas.setFont(font, 10.5)
    for label, x in COLS:
        canvas.drawString(left + 6 + x, TABLE_TOP - 15, label)
    canvas.line(left, TABLE_TOP, right, TABLE_TOP)
    canvas.line(left, TABLE_TOP - 22, right, TABLE_TOP - 22)
    # rules and the QR caption
    rules_top = M + QR + 40
    canvas.setFont(font, 12)
    canvas.drawString(left, rules_top, "考生须知")
    canvas.setFont(font, 10)
    y = rules_top - 18
    for n, rule in enumerate(RULES, start=1):
        for k, line in enumerate(wrap(rule, font, 10, right - left - QR - 40)):
            canvas.drawString(left + (0 if k == 0 else 14), y, (f"{n}. " if k == 0 else "") + line)
            y -= 15
    canvas.setFont(font, 9)
    canvas.drawCentredString(right - QR / 2, M + 2, "入场签到二维码")
    canvas.endForm()


MIN_SIZE = 7      # below this a printed ticket is no longer comfortably legible
WRAP_BELOW = 9    # a one-line field that would need a smaller size wraps onto two lines instead


def _one_line_size(text: str, font: str, size: float, width: float, smallest: float) -> float | None:
    """The largest size from `size` down to `smallest` at which `text` fits `width` on one line."""
    # No glyph is wider than the font size, so short text needs no measuring (most fields).
    while size >= smallest:
        if len(text) * size <= width or stringWidth(text, font, size) <= width:
            return size
        size -= 0.5
    return None


def _clip(text: str, font: str, size: float, width: float) -> str:
    """`text` cut short with an ellipsis so that it fits `width`."""
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


def _layout(text: str, font: str, size: float, width: float, *, lines: int = 1) -> tuple[float, list[str]]:
    """How a value is drawn in `width`: one line, shrunk from `size` if need be; where `lines` is 2
    and one line would need less than WRAP_BELOW, two lines at the largest size that holds it;
    what even MIN_SIZE cannot hold is cut short with an ellipsis, never drawn over its neighbours."""
    one = _one_line_size(text, font, size, width, WRAP_BELOW if lines > 1 else MIN_SIZE)
    if one is not None:
        return one, [text]
    if lines > 1:
        for two in (WRAP_BELOW, 8.5, 8, 7.5, MIN_SIZE):
            wrapped = wrap(text, font, two, width)
            if len(wrapped) <= lines:
                return two, wrapped
        wrapped = wrap(text, font, MIN_SIZE, width)
        return MIN_SIZE, wrapped[:lines - 1] + [_clip("".join(wrapped[lines - 1:]), font, MIN_SIZE, width)]
    return MIN_SIZE, [_clip(text, font, MIN_SIZE, width)]


def _fit(canvas, text: str, font: str, size: float, width: float, x: float, y: float, *,
         centred: bool = False) -> None:
    """Draw one line at baseline `y`, shrinking the size until it fits (cut short below MIN_SIZE)."""
    size, (line,) = _layout(text, font, size, width)
    canvas.setFont(font, size)
    if centred:
        canvas.drawCentredString(x, y, line)
    else:
        canvas.drawString(x, y, line)


def _fit_lines(canvas, size: float, lines: list[str], font: str, x: float, bottom: float, height: float) -> None:
    """Draw one or two lines centred vertically in a box from `bottom` of `height`."""
    canvas.setFont(font, size)
    gap = 1.5
    block = len(lines) * size + (len(lines) - 1) * gap
    baseline = bottom + (height + block) / 2 - size * 0.88  # the CJK glyphs sit about 0.88 em above the baseline
    for line in lines:
        canvas.drawString(x, baseline, line)
        baseline -= size + gap


def _ticket_page(canvas, t: TicketData, font: str) -> None:
    canvas.doForm("ticket")
    left, right = M + 8, W - M - 8
    _fit(canvas, f"{t.certificate}（{t.level}）", font, 17, right - left, W / 2, H - M - 26, centred=True)
    canvas.setFont(font, 22)
    canvas.drawCentredString(W / 2, H - M - 54, "准 考 证")
    # the plan's name on a line of its own: beside the title a long one ran into it
    _fit(canvas, t.plan_name, font, 10, right - left, W / 2, H - M - 72, centred=True)
    values = [t.name, t.gender, t.id_type, t.id_number, t.ticket_number,
              t.certificate, t.level, t.site_name, t.site_address]
    for i, value in enumerate(values):
        bottom = TOP - ROW * (i + 1)
        end = PHOTO_X - 14 if i < len(SHORT) else right
        width = end - left - LABEL_W - 8
        if i < len(SHORT):
            _fit(canvas, value, font, 15 if i in (0, 4) else 11.5, width, left + LABEL_W + 8, bottom + 8)
        else:  # a long site name or address wraps onto a second line within the row
            size, lines = _layout(value, font, 11.5, width, lines=2)
            if len(lines) == 1:
                canvas.setFont(font, size)
                canvas.drawString(left + LABEL_W + 8, bottom + 8, lines[0])
            else:
                _fit_lines(canvas, size, lines, font, left + LABEL_W + 8, bottom, ROW)
    pdf.draw_photo(canvas, t.photo_path, PHOTO_X, TOP - PHOTO_H, PHOTO_W, PHOTO_H)
    y = TABLE_TOP - 22
    # each column's width ends where the next begins: a long room name ran into the seat number
    widths = [nxt - x - 8 for (_, x), (_, nxt) in zip(COLS, COLS[1:])] + [right - left - 6 - COLS[-1][1]]
    for line in t.lines:
        cells = [_layout(text, font, 10.5, width, lines=2) for text, width in zip(
            [line.subject, line.mode, line.when, line.room, str(line.seat_number)], widths)]
        height = TABLE_ROW_2 if any(len(lines) > 1 for _, lines in cells) else TABLE_ROW
        y -= height
        for (_, x), (size, lines) in zip(COLS, cells):
            _fit_lines(canvas, size, lines, font, left + 6 + x, y, height)
        canvas.line(left, y, right, y)
    canvas.drawImage(pdf.qr_reader(t.token), right - QR, M + 12, QR, QR)


def render_tickets(target, tickets: Iterable[TicketData], *, title: str = "准考证",
                   progress: Callable[[int], None] | None = None) -> int:
    """Write one A4 page per ticket into `target` (a path or a file object); returns the page count."""
    font = pdf.cjk_font().name
    canvas = pdf.new_canvas(target, title=title, pagesize=A4)
    _ticket_form(canvas, font)
    pages = 0
    for ticket in tickets:
        _ticket_page(canvas, ticket, font)
        canvas.showPage()
        pages += 1
        if progress:
            progress(pages)
    if not pages:
        canvas.setFont(font, 14)
        canvas.drawString(M, H - M - 20, "没有可打印的准考证")
        canvas.showPage()
    canvas.save()
    return pages


# ---- room materials ---------------------------------------------------------------------

def _roster_heading(canvas, font: str, title: str, roster: Roster, page: int, pages: int) -> float:
    canvas.setFont(font, 20)
    canvas.drawCentredString(W / 2, H - M - 20, title)
    canvas.setFont(font, 11)
    s = roster.session
    lines = [f"考试计划：{roster.plan_name}", f"考核站点：{roster.site_name}",
             f"考场：{roster.room.name}　　科目：{s.subject.level.value} {s.subject.name}（{s.subject.mode.value}）",
             f"考试时间：{roster.session_label}　　人数：{len(roster.rows)}　　第 {page}/{pages} 页"]
    y = H - M - 46
    for line in lines:
        _fit(canvas, line, font, 11, W - 2 * M, M, y)
        y -= 16
    return y - 6


def render_door_list(target, roster: Roster) -> int:
    """考场门贴: room, session, ticket numbers and names in seat order."""
    font = pdf.cjk_font().name
    canvas = pdf.new_canvas(target, title=f"考场门贴 {roster.room.name}", pagesize=A4)
    per_page = 30
    chunks = [roster.rows[i:i + per_page] for i in range(0, len(roster.rows), per_page)] or [[]]
    cols = [("座位号", 0), ("准考证号", 70), ("姓名", 260), ("性别", 400)]
    for n, chunk in enumerate(chunks, start=1):
        y = _roster_heading(canvas, font, "考 场 门 贴", roster, n, len(chunks))
        canvas.setFont(font, 18)
        canvas.drawCentredString(W / 2, y - 10, roster.room.name)
        y -= 40
        canvas.setFont(font, 11)
        for label, x in cols:
            canvas.drawString(M + 6 + x, y, label)
        canvas.line(M, y - 6, W - M, y - 6)
        y -= 6
        canvas.setFont(font, 12)
        for row in chunk:
            y -= 20
            for (_, x), text in zip(cols, [str(row.seat_number), row.ticket_number, row.name, row.gender]):
                canvas.drawString(M + 6 + x, y + 6, text)
            canvas.setLineWidth(0.3)
            canvas.line(M, y, W - M, y)
        if not chunk:
            canvas.drawString(M, y - 20, "本考场本场次没有考生")
        canvas.showPage()
    canvas.save()
    return len(chunks)


SIGN_X = 426  # where the signature column of the sign-in sheet begins (from the left margin)


def render_sign_in_sheet(target, roster: Roster) -> int:
    """签到表: seat, photo, ticket number, name, masked ID number and a signature column."""
    font = pdf.cjk_font().name
    canvas = pdf.new_canvas(target, title=f"签到表 {roster.room.name}", pagesize=A4)
    per_page = 12
    row_h = 52
    chunks = [roster.rows[i:i + per_page] for i in range(0, len(roster.rows), per_page)] or [[]]
    # (label, x, width): a 24-digit ticket number needs about 140 pt at 10.5 pt, and ran into the
    # name when the column was 130 wide; a long name wraps onto a second line within the row
    cols = [("座位号", 0, 38), ("照片", 44, 36), ("准考证号", 86, 140), ("姓名", 232, 84), ("证件号码", 320, 102),
            ("考生签名", SIGN_X + 4, W - 2 * M - SIGN_X - 8)]
    for n, chunk in enumerate(chunks, start=1):
        y = _roster_heading(canvas, font, "考 生 签 到 表", roster, n, len(chunks))
        canvas.setFont(font, 10.5)
        for label, x, _ in cols:
            canvas.drawString(M + 4 + x, y - 14, label)
        canvas.rect(M, y - 20, W - 2 * M, 20)
        y -= 20
        for row in chunk:
            y -= row_h
            canvas.rect(M, y, W - 2 * M, row_h)
            pdf.draw_photo(canvas, row.photo_path, M + 44, y + 4, 36, 44)
            for (_, x, width), text in zip([cols[0], cols[2], cols[3], cols[4]],
                                           [str(row.seat_number), row.ticket_number, row.name, row.id_number]):
                size, lines = _layout(text, font, 10.5, width, lines=2)
                _fit_lines(canvas, size, lines, font, M + 4 + x, y, row_h)
            canvas.line(M + SIGN_X, y, M + SIGN_X, y + row_h)
        canvas.setFont(font, 10)
        canvas.drawString(M, M - 14, "监考人员签字：____________________　　____________________　　缺考人数：______")
        canvas.showPage()
    canvas.save()
    return len(chunks)
