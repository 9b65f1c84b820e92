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
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M
from reportlab import rl_config
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont

log = logging.getLogger(__name__)

rl_config.useA85 = 0

#: where Debian and other distributions put WenQuanYi Micro Hei; PDF_FONT_PATH comes first
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
    candidates = [os.environ["PDF_FONT_PATH"]] if os.environ.get("PDF_FONT_PATH") else []
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


def qr_image(data: str, *, box: int = 3, border: int = 2) -> Image.Image:
    """A QR code as a 1-bit image; a fixed mask pattern skips qrcode's slow mask search."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=1, border=border, mask_pattern=2)
    code.add_data(data)
    code.make(fit=True)
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
