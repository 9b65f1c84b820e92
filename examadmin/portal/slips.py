"""Activation slips (考生账号激活通知单) as a PDF to print and cut: eight per A4 page."""
from __future__ import annotations

import io

from reportlab.lib.pagesizes import A4

from ..core import idcard, pdf

W, H = A4
M = 28
COLS, ROWS = 2, 4


def slips_pdf(slips, activate_url: str, school_name: str) -> bytes:
    """One slip per candidate: name, class, the ID number masked except the last four, the one-time code and how to use it."""
    font = pdf.cjk_font().name
    buffer = io.BytesIO()
    canvas = pdf.new_canvas(buffer, title="考生账号激活通知单", pagesize=A4)
    cell_w, cell_h = (W - 2 * M) / COLS, (H - 2 * M) / ROWS
    per_page = COLS * ROWS
    for start in range(0, max(len(slips), 1), per_page):
        canvas.setDash(3, 3)
        canvas.setLineWidth(0.4)
        for c in range(COLS + 1):
            canvas.line(M + c * cell_w, M, M + c * cell_w, H - M)
        for r in range(ROWS + 1):
            canvas.line(M, M + r * cell_h, W - M, M + r * cell_h)
        canvas.setDash()
        for i, slip in enumerate(slips[start:start + per_page]):
            x = M + (i % COLS) * cell_w + 12
            top = H - M - (i // COLS) * cell_h - 24
            candidate = slip.candidate
            canvas.setFont(font, 12)
            canvas.drawString(x, top, "考生账号激活通知单")
            canvas.setFont(font, 8)
            canvas.drawString(x, top - 14, school_name[:30])
            lines = [("姓名", candidate.name), ("班级", candidate.class_name or "—"),
                     ("证件号码", idcard.mask_keep_last4(candidate.id_number))]
            y = top - 34
            canvas.setFont(font, 10)
            for label, value in lines:
                canvas.drawString(x, y, f"{label}：{value}")
                y -= 15
            canvas.setFont(font, 10)
            canvas.drawString(x, y - 4, "激活码：")
            canvas.setFont("Courier-Bold", 16)
            canvas.drawString(x + 44, y - 6, f"{slip.code[:4]}-{slip.code[4:]}")
            canvas.setFont(font, 7.5)
            y -= 26
            for text in (f"激活网址：{activate_url}",
                         "用证件号码和激活码激活一次并设置密码，", "之后用证件号码和密码登录。激活码只能使用一次，请妥善保管。"):
                canvas.drawString(x, y, text[:60])
                y -= 11
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()
