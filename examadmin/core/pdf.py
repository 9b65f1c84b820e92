"""Shared PDF drawing with reportlab: the Chinese font, fast QR codes, photos, static forms.

Chinese text must show in every viewer, so a TrueType CJK font is embedded (reportlab
embeds only the glyphs used, a subset) when one is installed: WenQuanYi Micro Hei from the
Debian package `fonts-wqy-microhei`. Without it the built-in CID font `STSong-Light` is
used, which needs no file but is not embedded (the viewer supplies the glyphs); a warning
goes to the log once. reportlab cannot embed the CFF outlines of Noto CJK, so those are
not tried.

Speed (PERFORMANCE.md): no ASCII85 for images (`useA85 = 0`), photos passed as file paths
(a JPEG is copied into the PDF as it is), QR matrices turned into 1-bit images directly,
and drawing that is the same on every page kept once per document as a form XObject.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import qrcode
import qrcode.util as qrcode_util
from flask import current_app, has_app_context
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M
from qrcode.exceptions import DataOverflowError
from reportlab import rl_config
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont

log = logging.getLogger(__name__)

rl_config.useA85 = 0

#: where Debian and other distributions put WenQuanYi Micro Hei; the setting PDF_FONT_PATH comes first
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy-microhei/wqy-microhei.ttc",
)
CID_FONT = "STSong-Light"


@dataclass(frozen=True)
class FontChoice:
    name: str
    #: True when the glyphs are embedded in the PDF (a TrueType subset)
    embedded: bool
    path: str | None = None


_font: FontChoice | None = None


def cjk_font() -> FontChoice:
    """The registered Chinese font: an embedded TrueType subset, else the CID font (logged)."""
    global _font
    if _font is not None:
        return _font
    configured = current_app.config.get("PDF_FONT_PATH") if has_app_context() else os.environ.get("PDF_FONT_PATH")
    candidates = [configured] if configured else []
    for path in [*candidates, *FONT_CANDIDATES]:
        if not Path(path).is_file():
            continue
        try:
            pdfmetrics.registerFont(TTFont("CJK", path, subfontIndex=0))
        except Exception:  # a broken or CFF font file: try the next one
            log.warning("cannot embed font %s", path, exc_info=True)
            continue
        _font = FontChoice("CJK", True, path)
        return _font
    log.warning("no TrueType CJK font found (install the package fonts-wqy-microhei); PDFs use the "
                "non-embedded CID font %s, whose glyphs the viewer must supply", CID_FONT)
    pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
    _font = FontChoice(CID_FONT, False)
    return _font


def reset_font_choice() -> None:
    """Forget the chosen font (tests that check the fallback)."""
    global _font
    _font = None


#: QR matrix cells (1 = dark) to grey levels
_DARK_TO_GREY = bytes([255, 0]) + bytes(254)


# ---- fast Reed-Solomon for qrcode ------------------------------------------------------
# qrcode computes the error-correction codewords with a general polynomial class, which is
# about half of its time per code. The same remainder by a table-driven shift register
# gives identical codewords (a test compares both on many inputs) in a fraction of it.

_EXP = [0] * 512
_LOG = [0] * 256
_x = 1
for _i in range(255):
    _EXP[_i] = _x
    _LOG[_x] = _i
    _x <<= 1
    if _x & 0x100:
        _x ^= 0x11D
for _i in range(255, 512):
    _EXP[_i] = _EXP[_i - 255]
_GENERATORS: dict[int, list[int]] = {}


def _generator(degree: int) -> list[int]:
    """The generator polynomial's coefficients after the leading 1, as logarithms."""
    if degree not in _GENERATORS:
        poly = [1]
        for i in range(degree):
            nxt = [0] * (len(poly) + 1)
            for j, coef in enumerate(poly):
                nxt[j] ^= coef
                if coef:
                    nxt[j + 1] ^= _EXP[_LOG[coef] + i]
            poly = nxt
        _GENERATORS[degree] = [_LOG[c] for c in poly[1:]]
    return _GENERATORS[degree]


def _ec_codewords(data: list[int], degree: int) -> list[int]:
    gen = _generator(degree)
    rem = [0] * degree
    for byte in data:
        factor = byte ^ rem[0]
        rem = rem[1:]
        rem.append(0)
        if factor:
            lf = _LOG[factor]
            for i, g in enumerate(gen):
                rem[i] ^= _EXP[lf + g]
    return rem


def _create_bytes(buffer, rs_blocks) -> list[int]:
    """qrcode.util.create_bytes with the table-driven remainder (same result)."""
    offset, dcdata, ecdata = 0, [], []
    for block in rs_blocks:
        dc = [0xFF & b for b in buffer.buffer[offset:offset + block.data_count]]
        offset += block.data_count
        dcdata.append(dc)
        ecdata.append(_ec_codewords(dc, block.total_count - block.data_count))
    data = []
    for group in (dcdata, ecdata):
        for i in range(max(len(x) for x in group)):
            data.extend(x[i] for x in group if i < len(x))
    return data


_qrcode_create_bytes = qrcode_util.create_bytes
qrcode_util.create_bytes = _create_bytes


#: the QR version chosen for a length of alphanumeric data (tickets of a plan share lengths)
_versions: dict[int, int] = {}


def qr_image(data: str, *, box: int = 3, border: int = 2) -> Image.Image:
    """A QR code as a greyscale image, made fast: a fixed mask pattern skips qrcode's mask
    search, one segment (no mode optimising) makes the size depend on the length only, so
    the version found once for a length is reused without searching again."""
    version = _versions.get(len(data))
    code = qrcode.QRCode(version=version, error_correction=ERROR_CORRECT_M, box_size=1, border=border,
                         mask_pattern=2)
    code.add_data(data, optimize=0)
    try:
        code.make(fit=version is None)
    except DataOverflowError:  # a different mode than the cached one: search
        code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=1, border=border, mask_pattern=2)
        code.add_data(data, optimize=0)
        code.make(fit=True)
    _versions.setdefault(len(data), code.version)
    matrix = code.get_matrix()
    size = len(matrix)
    # One byte per module (0 black, 255 white), then scaled up without smoothing.
    raw = b"".join(bytes(row) for row in matrix).translate(_DARK_TO_GREY)
    image = Image.frombytes("L", (size, size), raw)
    return image.resize((size * box, size * box), Image.NEAREST)


def qr_reader(data: str) -> ImageReader:
    return ImageReader(qr_image(data))


def draw_photo(canvas, path: str | Path | None, x: float, y: float, w: float, h: float, *,
               font: FontChoice | None = None) -> None:
    """A candidate photo from its file (copied as JPEG), or an empty frame saying 无照片."""
    if path and Path(path).is_file():
        try:
            canvas.drawImage(str(path), x, y, w, h, preserveAspectRatio=True, anchor="c")
            return
        except OSError:
            log.warning("unreadable photo %s", path)
    font = font or cjk_font()
    canvas.saveState()
    canvas.setDash(2, 2)
    canvas.rect(x, y, w, h)
    canvas.setFont(font.name, 9)
    canvas.drawCentredString(x + w / 2, y + h / 2, "无照片")
    canvas.restoreState()


def new_canvas(target, *, title: str, pagesize) -> "object":
    """A reportlab canvas with compression on and a document title."""
    from reportlab.pdfgen.canvas import Canvas

    if isinstance(target, os.PathLike):
        target = os.fspath(target)  # reportlab takes str paths and file objects only
    canvas = Canvas(target, pagesize=pagesize, pageCompression=1)
    canvas.setTitle(title)
    canvas.setAuthor("1+X 考试管理系统")
    return canvas


def pdf_bytes(draw) -> bytes:
    """Run `draw(target)` against an in-memory file and return the PDF."""
    buffer = BytesIO()
    draw(buffer)
    return buffer.getvalue()
