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


def draw_page(c: canvas.Canvas, page: CertificatePage) -> None:
    width, height = PAGE
    font = font_name()
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
    for i, (label, value) in enumerate(fields):
        y = top - i * step
        c.setFont(font, 12)
        c.setFillColorRGB(0.35, 0.35, 0.35)
        c.drawString(left, y, label)
        c.setFillColorRGB(0, 0, 0)
        c.setFont(font, 14)
        c.drawString(left + 32 * mm, y, value)

    photo_w, photo_h = 35 * mm, 35 * mm * 441 / 358
    photo_x, photo_y = width - 40 * mm - photo_w, height - 70 * mm - photo_h
    if page.photo_path:
        c.drawImage(page.photo_path, photo_x, photo_y, photo_w, photo_h)
    else:
        c.setLineWidth(0.5)
        c.rect(photo_x, photo_y, photo_w, photo_h)
        c.setFont(font, 10)
        c.drawCentredString(photo_x + photo_w / 2, photo_y + photo_h / 2, "照片")

    qr_size = 32 * mm
    qr_x, qr_y = width - 40 * mm - qr_size, 28 * mm
    _draw_qr(c, page.verify_url, qr_x, qr_y, qr_size)
    c.setFont(font, 8)
    c.drawCentredString(qr_x + qr_size / 2, qr_y - 4 * mm, "扫码查验证书真伪")

    c.setFont(font, 13)
    c.drawString(width / 2 - 10 * mm, 45 * mm, page.org_name)
    if page.seal_path:
        seal = 40 * mm
        draw_encoded(c, _seal_image(page.seal_path), width / 2 - 5 * mm, 30 * mm, seal, seal)


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
