"""The 《再登记申请表》 to print, sign and upload back, and the e-registration record (电子再登记凭证).

Both are one A4 page drawn with reportlab and the shared CJK font (core/pdf.py: WenQuanYi
Micro Hei embedded when installed, else the CID font). They are drawn when downloaded, from
the stored data, so that nothing needs regenerating when a holder corrects an application.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm

from ..core import clock, idcard
from ..core.pdf import cjk_font, new_canvas, pdf_bytes, qr_reader
from .models import RenewalApplication
from .validity import Cycle

WIDTH, HEIGHT = A4


LABEL_WIDTH = 40 * mm
PADDING = 3 * mm
FONT_SIZE = 10.5
LEADING = 4.6 * mm
#: nothing is drawn below this line but the footer
BOTTOM = 25 * mm
#: the lines of the 情况说明 box (the full text is in the application)
EXPLANATION_LINES = 6


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """`text` cut into lines no wider than `width` points: at spaces where a line allows it, else
    between any two characters (Chinese has no spaces to break at)."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines: list[str] = []
    for paragraph in (text or "").split("\n"):
        line = ""
        for char in paragraph:
            if stringWidth(line + char, font, size) <= width:
                line += char
                continue
            cut = line.rfind(" ")
            if char != " " and cut > 0 and stringWidth(line[cut + 1:] + char, font, size) <= width:
                lines.append(line[:cut])
                line = line[cut + 1:] + char
            else:
                lines.append(line.rstrip())
                line = "" if char == " " else char
        lines.append(line)
    return lines or [""]


def row_height(font: str, label: str, value: str, *, width: float = 160 * mm, height: float = 10 * mm) -> float:
    """The height `_row` will give these texts."""
    lines = max(len(wrap(label, font, FONT_SIZE, LABEL_WIDTH - 2 * PADDING)),
                len(wrap(value, font, FONT_SIZE, width - LABEL_WIDTH - 2 * PADDING)))
    return height + (lines - 1) * LEADING


def _row(canvas, font: str, y: float, label: str, value: str, *, x: float = 25 * mm, width: float = 160 * mm,
         height: float = 10 * mm) -> float:
    """One row of two cells whose text wraps within its own cell; the row grows to the taller cell."""
    labels = wrap(label, font, FONT_SIZE, LABEL_WIDTH - 2 * PADDING)
    values = wrap(value, font, FONT_SIZE, width - LABEL_WIDTH - 2 * PADDING)
    row_height = height + (max(len(labels), len(values)) - 1) * LEADING
    canvas.rect(x, y - row_height, LABEL_WIDTH, row_height)
    canvas.rect(x + LABEL_WIDTH, y - row_height, width - LABEL_WIDTH, row_height)
    canvas.setFont(font, FONT_SIZE)
    top = y - height + 3.5 * mm  # the first baseline: where a one-line row puts its text
    for index, text in enumerate(labels):
        canvas.drawString(x + PADDING, top - index * LEADING, text)
    for index, text in enumerate(values):
        canvas.drawString(x + LABEL_WIDTH + PADDING, top - index * LEADING, text)
    return y - row_height


def application_form(application: RenewalApplication, cycle: Cycle, hours: Decimal,
                     history: list[tuple[str, str]]) -> bytes:
    """《再登记申请表》: the holder's data, the certificate, the cycle's hours, a line to sign."""
    record = application.record
    level = record.certificate_level
    font = cjk_font().name

    def draw(target):
        canvas = new_canvas(target, title="再登记申请表", pagesize=A4)
        canvas.setFont(font, 18)
        canvas.drawCentredString(WIDTH / 2, HEIGHT - 28 * mm, "职业技能等级证书再登记申请表")
        canvas.setFont(font, 9)
        kind = "补办再登记" if application.late else "按期再登记"
        canvas.drawString(25 * mm, HEIGHT - 38 * mm, f"申请编号：{application.id}    类别：{kind}    "
                                                     f"打印日期：{clock.now():%Y-%m-%d}")
        y = HEIGHT - 42 * mm
        rows = [
            ("姓名", record.name), ("性别", record.gender),
            (record.id_type.value, idcard.mask(record.id_number)),
            ("证书名称", level.certificate.name), ("证书等级", level.level.value),
            ("证书编号", record.number or ""), ("发证日期", f"{record.issue_date:%Y-%m-%d}"),
            ("本周期", f"{cycle.valid_from:%Y-%m-%d} 至 {application.cycle_expiry:%Y-%m-%d}"),
            ("继续教育学时", f"已核验 {hours} 学时（需 {cycle.hours_needed} 学时）"),
            ("所在院校", record.school.name),
        ]
        for label, value in rows:
            y = _row(canvas, font, y, label, value)
        y -= 6 * mm
        canvas.setFont(font, 11)
        canvas.drawString(25 * mm, y, "报考与证书记录")
        y -= 2 * mm
        for label, value in history[:12]:
            if y - row_height(font, label, value, height=8 * mm) < BOTTOM:
                canvas.showPage()
                y = HEIGHT - 25 * mm
            y = _row(canvas, font, y, label, value, height=8 * mm)
        y -= 6 * mm
        if y - 70 * mm < BOTTOM:  # the explanation and the signature stay together on one page
            canvas.showPage()
            y = HEIGHT - 25 * mm
        canvas.setFont(font, 11)
        canvas.drawString(25 * mm, y, "情况说明" if application.late else "备注")
        canvas.rect(25 * mm, y - 32 * mm, 160 * mm, 30 * mm)
        canvas.setFont(font, 9.5)
        text = canvas.beginText(28 * mm, y - 7 * mm)
        text.setFont(font, 9.5)
        explanation = application.explanation or ""
        lines = wrap(explanation, font, 9.5, 154 * mm)
        for index, line in enumerate(lines[:EXPLANATION_LINES]):
            more = index == EXPLANATION_LINES - 1 and len(lines) > EXPLANATION_LINES
            text.textLine(line[:-1] + "…" if more else line)
        canvas.drawText(text)
        y -= 44 * mm
        canvas.setFont(font, 10.5)
        canvas.drawString(25 * mm, y, "本人承诺以上信息及所附学时证明真实有效，如有不实，愿承担相应责任。")
        canvas.drawString(25 * mm, y - 14 * mm, "申请人签字：____________________        日期：______年____月____日")
        canvas.setFont(font, 8.5)
        canvas.drawString(25 * mm, 18 * mm, "请打印本表，由本人签字后扫描或拍照，在“证书有效期与再登记”页面上传后提交申请。")
        canvas.showPage()
        canvas.save()

    return pdf_bytes(draw)


def registration_record(application: RenewalApplication, verify_url: str) -> bytes:
    """电子再登记凭证: the registration number, the new validity and a QR code to public verification."""
    record = application.record
    level = record.certificate_level
    font = cjk_font().name

    def draw(target):
        canvas = new_canvas(target, title="电子再登记凭证", pagesize=A4)
        canvas.setFont(font, 20)
        canvas.drawCentredString(WIDTH / 2, HEIGHT - 35 * mm, "职业技能等级证书电子再登记凭证")
        y = HEIGHT - 50 * mm
        valid_from = application.cycle_expiry.toordinal() + 1
        rows = [
            ("再登记编号", application.registration_number or ""),
            ("姓名", record.name), (record.id_type.value, idcard.mask(record.id_number)),
            ("证书名称", level.certificate.name), ("证书等级", level.level.value),
            ("证书编号", record.number or ""),
            ("有效期", f"{date.fromordinal(valid_from):%Y-%m-%d} 至 {application.new_expiry:%Y-%m-%d}"),
            ("审核通过日期", f"{application.approved_at:%Y-%m-%d}" if application.approved_at else ""),
            ("发证机构", level.certificate.org_name),
        ]
        for label, value in rows:
            y = _row(canvas, font, y, label, value)
        canvas.drawImage(qr_reader(verify_url), WIDTH / 2 - 17 * mm, y - 45 * mm, 34 * mm, 34 * mm)
        canvas.setFont(font, 9)
        canvas.drawCentredString(WIDTH / 2, y - 50 * mm, "扫码查验证书及有效期")
        canvas.showPage()
        canvas.save()

    return pdf_bytes(draw)
