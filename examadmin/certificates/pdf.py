"""The e-certificate PDF (电子证书): A4 landscape, photo, seal, QR code to the public verification page.

WenQuanYi Micro Hei is embedded as a subset when installed (Debian fonts-wqy-microhei);
otherwise reportlab's CID font STSong-Light is used (not embedded: the viewer supplies the
glyphs) with a warning. The QR code is drawn as vector modules from the matrix, which is
faster than an image and sharp when printed (PERFORMANCE.md).
"""
from __future__ import annotations

import io
import logging
import math
from dataclasses import dataclass
from datetime import date

import qrcode
from qrcode.exceptions import DataOverflowError
from reportlab import rl_config
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas

from ..core import pdf as _core_pdf  # noqa: F401 - installs the table-driven Reed-Solomon into qrcode

log = logging.getLogger(__name__)

rl_config.useA85 = 0  # plain binary streams: a large share of the time otherwise (PERFORMANCE.md)

WQY_PATH = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
PAGE = landscape(A4)
_font_name: str | None = None


def font_name() -> str:
    """The registered CJK font: WenQuanYi Micro Hei embedded, else STSong-Light with a warning."""
    global _font_name
    if _font_name is None:
        try:
            from reportlab.pdfbase.ttfonts import TTFont

            pdfmetrics.registerFont(TTFont("WQYMicroHei", WQY_PATH, subfontIndex=0))
            _font_name = "WQYMicroHei"
        except Exception:  # noqa: BLE001 - any failure to load the font file means: fall back
            from reportlab.pdfbase.cidfonts import UnicodeCIDFont

            log.warning("WenQuanYi Micro Hei not found at %s: certificates use STSong-Light, "
                        "which is not embedded in the PDF", WQY_PATH)
            pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
            _font_name = "STSong-Light"
    return _font_name


@dataclass
class CertificatePage:
    name: str
    gender: str
    id_type: str
    id_number: str
    certificate_name: str
    level: str
    number: str
    issue_date: date
    org_name: str
    verify_url: str
    photo_path: str | None
    seal_path: str | None


#: the QR version per length of the encoded URL: a job's URLs all have one length (the same base
#: and a code of fixed length), so the version is searched once, not fitted for every page
_qr_versions: dict[int, int] = {}


def _qr_matrix(data: str) -> list[list[bool]]:
    """The QR code's modules. A fixed mask pattern and one segment (no mode optimising) make the
    version depend on the length only, so the version found once is reused (PERFORMANCE.md)."""
    version = _qr_versions.get(len(data))
    qr = qrcode.QRCode(version=version, error_correction=qrcode.constants.ERROR_CORRECT_M, border=0,
                       mask_pattern=0)
    qr.add_data(data, optimize=0)
    try:
        qr.make(fit=version is None)
    except DataOverflowError:  # cannot happen for one length in byte mode; search rather than fail
        qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0, mask_pattern=0)
        qr.add_data(data, optimize=0)
        qr.make(fit=True)
    _qr_versions.setdefault(len(data), qr.version)
    return qr.get_matrix()


@dataclass(frozen=True)
class EncodedImage:
    """An image already compressed for a PDF (Flate), with its alpha channel as a soft mask.

    reportlab compresses an image again in every document it is drawn into; a job draws the
    same seal on a thousand pages, so it is encoded once and its bytes written as they are.
    """

    name: str
    width: int
    height: int
    color_space: str
    data: bytes
    smask: "EncodedImage | None" = None


def encode_image(image, level: int = 6) -> EncodedImage:
    """A PIL image (L, RGB or RGBA) compressed for PDF."""
    import hashlib
    import zlib

    smask = None
    if image.mode == "RGBA":
        smask = encode_image(image.getchannel("A"), level)
        image = image.convert("RGB")
    elif image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    data = zlib.compress(image.tobytes(), level)
    name = "img" + hashlib.md5(data + (smask.name.encode() if smask else b"")).hexdigest()
    return EncodedImage(name, image.width, image.height, "DeviceGray" if image.mode == "L" else "DeviceRGB",
                        data, smask)


def _xobject(image: EncodedImage):
    from reportlab.pdfbase.pdfdoc import PDFImageXObject

    obj = PDFImageXObject(image.name)  # no source: its fields are set here
    obj.width, obj.height, obj.bitsPerComponent = image.width, image.height, 8
    obj.colorSpace, obj._filters, obj.streamContent, obj.mask = image.color_space, ("FlateDecode",), image.data, None
    return obj


def draw_encoded(c: canvas.Canvas, image: EncodedImage, x: float, y: float, width: float, height: float) -> None:
    """Draw an EncodedImage: what canvas.drawImage does, without compressing the image again."""
    from reportlab.pdfbase.pdfdoc import PDFObjectReference

    doc = c._doc
    reg_name = doc.getXObjectName(image.name)
    if doc.idToObject.get(reg_name) is None:
        obj = _xobject(image)
        c._setXObjects(obj)
        doc.Reference(obj, reg_name)
        doc.addForm(image.name, obj)
        if image.smask is not None:
            mask_name = doc.getXObjectName(image.smask.name)
            if doc.idToObject.get(mask_name) is None:
                mask = _xobject(image.smask)
                c._setXObjects(mask)
                obj.smask = doc.Reference(mask, mask_name)
            else:
                obj.smask = PDFObjectReference(mask_name)
    c._currentPageHasImages = 1
    c.saveState()
    c.translate(x, y)
    c.scale(width, height)
    c._code.append(f"/{reg_name} Do")
    c.restoreState()
    c._formsinuse.append(image.name)


def _draw_qr(c: canvas.Canvas, data: str, x: float, y: float, size: float) -> None:
    # One pixel per module, drawn scaled: a tiny image is far cheaper to write than a path
    # of hundreds of rectangles, and PDF viewers do not smooth images without /Interpolate.
    from PIL import Image

    matrix = _qr_matrix(data)
    n = len(matrix)
    pixels = b"".join(bytes(line) for line in matrix).translate(_DARK_TO_GREY)
    draw_encoded(c, encode_image(Image.frombytes("L", (n, n), pixels), level=1), x, y, size, size)


#: QR matrix cells (True = 1 = dark) to grey levels
_DARK_TO_GREY = bytes([255, 0]) + bytes(254)


#: the smallest size a value or the issuer's name is shrunk to before it wraps (points)
MIN_FONT = 9


def fit_lines(text: str, font: str, size: float, max_width: float, max_lines: int = 2) -> tuple[list[str], float]:
    """`text` at `size`, shrunk to fit `max_width` down to MIN_FONT, else wrapped into at most
    `max_lines` lines drawn as large as they fit (at most `size`); returns the lines and the size."""
    width = pdfmetrics.stringWidth(text, font, size)
    if width <= max_width:
        return [text], size
    if size * max_width / width >= MIN_FONT:
        return [text], size * max_width / width
    lines = max(1, min(max_lines, math.ceil(pdfmetrics.stringWidth(text, font, MIN_FONT) / max_width)))
    per = math.ceil(len(text) / lines)
    parts = [text[i:i + per] for i in range(0, len(text), per)]
    widest = max(pdfmetrics.stringWidth(part, font, size) for part in parts)
    return parts, min(size, size * max_width / widest)


@dataclass(frozen=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float


def layout() -> dict[str, Box]:
    """Where the photo, the QR code, the seal and the issuer's block go on the page (points)."""
    width, height = PAGE
    photo_w, photo_h = 35 * mm, 35 * mm * 441 / 358
    photo_x, photo_y = width - 40 * mm - photo_w, height - 70 * mm - photo_h
    qr_size = 32 * mm
    qr_x, qr_y = width - 40 * mm - qr_size, 28 * mm
    return {
        "photo": Box(photo_x, photo_y, photo_x + photo_w, photo_y + photo_h),
        "qr": Box(qr_x, qr_y, qr_x + qr_size, qr_y + qr_size),
        # the issuer's name: from the middle of the page to well clear of the QR code, below
        # the last field (发证机构 at 58 mm), so the seal stamped on it covers no field
        "issuer": Box(width / 2 - 10 * mm, 26 * mm, qr_x - 12 * mm, 46 * mm),
    }


#: the seal's side; it sits across the issuer's name, like a stamp, inside the issuer block's height
SEAL_SIZE = 34 * mm


def draw_page(c: canvas.Canvas, page: CertificatePage) -> None:
    width, height = PAGE
    font = font_name()
    boxes = layout()
    c.setStrokeColorRGB(0.55, 0.42, 0.12)
    c.setLineWidth(3)
    c.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    c.setLineWidth(0.8)
    c.rect(15 * mm, 15 * mm, width - 30 * mm, height - 30 * mm)

    c.setFillColorRGB(0.5, 0.1, 0.1)
    c.setFont(font, 30)
    c.drawCentredString(width / 2, height - 42 * mm, "职业技能等级证书")
    c.setFillColorRGB(0, 0, 0)
    c.setFont(font, 13)
    c.drawCentredString(width / 2, height - 52 * mm, page.certificate_name)

    left, top, step = 40 * mm, height - 75 * mm, 11 * mm
    fields = [
        ("姓　　名", page.name), ("性　　别", page.gender), (page.id_type or "证件号码", page.id_number),
        ("证书名称", page.certificate_name), ("证书等级", page.level), ("证书编号", page.number),
        ("发证日期", f"{page.issue_date.year}年{page.issue_date.month}月{page.issue_date.day}日"),
        ("发证机构", page.org_name),
    ]
    # a long value is shrunk to end before the photo and the QR code (both start at the same x)
    value_x, value_max = left + 32 * mm, boxes["photo"].x0 - 5 * mm - (left + 32 * mm)
    for i, (label, value) in enumerate(fields):
        y = top - i * step
        c.setFont(font, 12)
        c.setFillColorRGB(0.35, 0.35, 0.35)
        c.drawString(left, y, label)
        c.setFillColorRGB(0, 0, 0)
        lines, size = fit_lines(value, font, 14, value_max)
        c.setFont(font, size)
        if len(lines) == 1:
            c.drawString(value_x, y, lines[0])
        else:  # two lines around the row's baseline, inside its step
            c.drawString(value_x, y + size * 0.55, lines[0])
            c.drawString(value_x, y - size * 0.55, lines[1])

    photo = boxes["photo"]
    if page.photo_path:
        c.drawImage(page.photo_path, photo.x0, photo.y0, photo.x1 - photo.x0, photo.y1 - photo.y0)
    else:
        c.setLineWidth(0.5)
        c.rect(photo.x0, photo.y0, photo.x1 - photo.x0, photo.y1 - photo.y0)
        c.setFont(font, 10)
        c.drawCentredString((photo.x0 + photo.x1) / 2, (photo.y0 + photo.y1) / 2, "照片")

    qr = boxes["qr"]
    _draw_qr(c, page.verify_url, qr.x0, qr.y0, qr.x1 - qr.x0)
    c.setFont(font, 8)
    c.drawCentredString((qr.x0 + qr.x1) / 2, qr.y0 - 4 * mm, "扫码查验证书真伪")

    # the issuer's name at the right of its block, shrunk (then wrapped) to fit its width; the
    # seal is stamped across the name's right part, covering at most part of it, inside the block
    issuer = boxes["issuer"]
    lines, size = fit_lines(page.org_name, font, 13, issuer.x1 - issuer.x0)
    name_w = max(pdfmetrics.stringWidth(line, font, size) for line in lines)
    seal_from = max(0.4 * name_w, 0.7 * name_w - SEAL_SIZE / 2)  # the seal's left edge, from the name's
    name_x0 = max(issuer.x0, min(issuer.x1 - name_w, issuer.x1 - SEAL_SIZE - seal_from))
    middle = (issuer.y0 + issuer.y1) / 2
    c.setFont(font, size)
    first = middle - 0.3 * size + (len(lines) - 1) * 0.6 * size
    for i, line in enumerate(lines):
        c.drawRightString(name_x0 + name_w, first - i * 1.2 * size, line)
    if page.seal_path:
        seal_x = min(name_x0 + seal_from, issuer.x1 - SEAL_SIZE)
        draw_encoded(c, _seal_image(page.seal_path), seal_x, middle - SEAL_SIZE / 2, SEAL_SIZE, SEAL_SIZE)


#: seals encoded for drawing, per stored path (a job draws the same seal on every page)
_seals: dict[str, EncodedImage] = {}
SEAL_PIXELS = 240  # 40 mm at 150 dpi: sharp enough printed, and cheap to embed on every page


def _seal_image(path: str) -> EncodedImage:
    """The seal scaled down and compressed once; every page then copies the same bytes.

    A new upload is stored under a new key, so a path's image never changes."""
    encoded = _seals.get(path)
    if encoded is None:
        from PIL import Image

        with Image.open(path) as image:
            image.load()
            image = image.convert("RGBA")
            image.thumbnail((SEAL_PIXELS, SEAL_PIXELS))
        if len(_seals) > 32:
            _seals.clear()
        encoded = _seals[path] = encode_image(image, level=9)
    return encoded


def render(page: CertificatePage) -> bytes:
    """One certificate as a PDF file's bytes."""
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=PAGE, pageCompression=1)
    c.setTitle(f"{page.certificate_name} {page.number}")
    c.setAuthor(page.org_name)
    draw_page(c, page)
    c.showPage()
    c.save()
    return out.getvalue()


def render_to_file(page: CertificatePage, path: str, *, durable: bool = True) -> None:
    """Render one certificate into `path`, atomically (a reader never sees half a file).

    durable=False leaves the flush to disk to the caller (`sync_files` once for a batch): an
    fsync per file was the largest single cost of an issue job (about 5 ms each).
    """
    import os
    import uuid

    # a temporary name of its own: two processes (or app machines sharing STORAGE_DIR) that
    # render the same certificate never write into one file
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.{uuid.uuid4().hex}.part")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        with open(tmp, "wb") as out:
            out.write(render(page))
            out.flush()
            if durable:
                os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def sync_files(paths: list[str]) -> None:
    """Make files written with durable=False (and their renames) safe on disk before the caller
    commits the records that point to them: one sync for the whole batch where the system has
    it, else an fsync per file."""
    import os

    if hasattr(os, "sync"):
        os.sync()
        return
    for path in paths:
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())


def demo_seal_png(org_name: str, size: int = 400) -> bytes:
    """A round red seal with the organisation's name and a star, for the demo (PNG, transparent)."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    red = (200, 20, 20, 230)
    margin = size // 40
    draw.ellipse((margin, margin, size - margin, size - margin), outline=red, width=size // 30)
    cx = cy = size / 2
    r = size * 0.12
    star = []
    for i in range(10):
        angle = -math.pi / 2 + i * math.pi / 5
        radius = r if i % 2 == 0 else r * 0.4
        star.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    draw.polygon(star, fill=red)
    try:
        font = ImageFont.truetype(WQY_PATH, size // 11, index=0)
    except OSError:
        font = ImageFont.load_default()
    text = org_name[:16]
    span = math.pi * 1.25
    for i, ch in enumerate(text):
        angle = -math.pi / 2 - span / 2 + span * (i + 0.5) / max(len(text), 1)
        x = cx + size * 0.34 * math.cos(angle)
        y = cy + size * 0.34 * math.sin(angle)
        glyph = Image.new("RGBA", (size // 8, size // 8), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((size // 16, size // 16), ch, font=font, fill=red, anchor="mm")
        glyph = glyph.rotate(-math.degrees(angle) - 90, resample=Image.BICUBIC)
        image.alpha_composite(glyph, (int(x - size // 16), int(y - size // 16)))
    draw.text((cx, cy + size * 0.25), "电子印章", font=font, fill=red, anchor="mm")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
