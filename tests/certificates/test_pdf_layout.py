"""The e-certificate's layout holds for a long issuer name: no text runs under the QR code, and the
seal, stamped across the issuer's name, covers neither the QR code nor the 发证机构 field.

Found on a new-user walk: the issuer's name (13 pt from the page's middle) ran under the QR code's
left edge, and the seal covered the 发证机构 line.
"""
from __future__ import annotations

import io
from datetime import date

import pytest
from pypdf import PdfReader
from pypdf.generic import ContentStream
from reportlab.pdfbase.pdfmetrics import stringWidth

from examadmin.certificates import pdf
from tests.pdftext import text_runs

LONG_ORG = "中国社会工作联合会心理健康工作委员会北京分会培训评价中心"  # 29 characters


def _page(org_name: str, tmp_path) -> bytes:
    seal = tmp_path / "seal.png"
    seal.write_bytes(pdf.demo_seal_png("评价组织"))
    return pdf.render(pdf.CertificatePage(
        name="阿卜杜热合曼·买买提依明", gender="男", id_type="居民身份证", id_number="110101200001011234",
        certificate_name="社会心理服务职业技能等级证书", level="初级", number="2026012345678901",
        issue_date=date(2026, 11, 25), org_name=org_name, verify_url="https://zs.example.cn/certificates/v/" + "A" * 32,
        photo_path=None, seal_path=str(seal)))


def _text_boxes(data: bytes) -> list[tuple[str, float, float, float, float]]:
    """Each text run as (text, x0, x1, y0, y1), measured with the font it was drawn in."""
    font = pdf.font_name()
    return [(t.strip(), x, x + stringWidth(t.strip(), font, size), y - 0.12 * size, y + 0.88 * size)
            for t, x, y, size in text_runs(data)]


def _image_boxes(data: bytes) -> list[tuple[float, float, float, float]]:
    """Where each image was drawn, as (x0, x1, y0, y1), from the page's q/Q, cm and Do operators."""
    page = PdfReader(io.BytesIO(data)).pages[0]
    matrix, stack, boxes = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0], [], []
    for operands, operator in ContentStream(page.get_contents(), page.pdf).operations:
        if operator == b"q":
            stack.append(matrix)
        elif operator == b"Q":
            matrix = stack.pop()
        elif operator == b"cm":
            a, b, c, d, e, f = (float(v) for v in operands)
            m = matrix
            matrix = [a * m[0] + b * m[2], a * m[1] + b * m[3], c * m[0] + d * m[2], c * m[1] + d * m[3],
                      e * m[0] + f * m[2] + m[4], e * m[1] + f * m[3] + m[5]]
        elif operator == b"Do":
            boxes.append((matrix[4], matrix[4] + matrix[0], matrix[5], matrix[5] + matrix[3]))
    return boxes


def _overlap(a, b) -> bool:
    return a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]


@pytest.mark.parametrize("org_name", [LONG_ORG, "社会心理服务职业技能评价组织有限公司", "某评价组织"])
def test_nothing_runs_under_the_qr_code_and_the_seal_covers_no_field(tmp_path, org_name):
    data = _page(org_name, tmp_path)
    texts = _text_boxes(data)
    shown = "".join(t[0] for t in texts)
    assert shown.count(org_name) >= 1  # the 发证机构 field; the issuer line may be wrapped
    issuer = [t for t in texts if t[0] != org_name and t[0] in org_name] or \
        [t for t in texts if t[0] == org_name][1:]
    assert "".join(t[0] for t in issuer) == org_name  # drawn whole, in one or two lines

    layout = pdf.layout()
    qr = (layout["qr"].x0, layout["qr"].x1, layout["qr"].y0, layout["qr"].y1)
    images = _image_boxes(data)
    assert any(all(abs(a - b) < 0.01 for a, b in zip(box, qr)) for box in images)  # the QR is where layout says
    seal = next(box for box in images if abs((box[1] - box[0]) - pdf.SEAL_SIZE) < 0.01)
    assert not _overlap(seal, qr)
    for text, *box in texts:
        assert not _overlap(box, qr), f"{text!r} runs under the QR code"
    field_row = next(t for t in texts if t[0] == "发证机构")
    for text, *box in texts:
        if abs(box[2] - field_row[3]) < 1:  # the 发证机构 row: its label and value
            assert not _overlap(box, seal), f"the seal covers {text!r}"
    # stamped on the issuer's name, as a seal is, but covering it at most partly
    for line in issuer:
        if _overlap(line[1:], seal):
            assert line[1] < seal[0], f"the seal covers all of {line[0]!r}"
    assert any(_overlap(line[1:], seal) for line in issuer)


def test_an_ordinary_issuer_name_is_drawn_on_one_line_at_13_pt():
    lines, size = pdf.fit_lines("某某评价组织", pdf.font_name(), 13, 80 * pdf.mm)
    assert lines == ["某某评价组织"] and size == 13
    lines, size = pdf.fit_lines(LONG_ORG, pdf.font_name(), 13, 60 * pdf.mm)
    assert "".join(lines) == LONG_ORG and len(lines) == 2 and size >= pdf.MIN_FONT
    assert all(stringWidth(line, pdf.font_name(), size) <= 60 * pdf.mm + 0.01 for line in lines)
