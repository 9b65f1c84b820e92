"""The fast QR path gives exactly the codes qrcode itself makes."""
from __future__ import annotations

import random

import qrcode
import qrcode.util
from qrcode.constants import ERROR_CORRECT_H, ERROR_CORRECT_L, ERROR_CORRECT_M

from examadmin.core import pdf


def _matrix(data: str, level: int, create_bytes) -> list[list[bool]]:
    saved = qrcode.util.create_bytes
    qrcode.util.create_bytes = create_bytes
    try:
        code = qrcode.QRCode(error_correction=level, mask_pattern=2, border=0)
        code.add_data(data, optimize=0)
        code.make(fit=True)
        return code.get_matrix()
    finally:
        qrcode.util.create_bytes = saved


def test_reed_solomon_codewords_are_those_of_qrcode():
    rng = random.Random(7)
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ.-*:"
    for n in range(120):
        data = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 300)))
        level = (ERROR_CORRECT_L, ERROR_CORRECT_M, ERROR_CORRECT_H)[n % 3]
        assert _matrix(data, level, pdf._create_bytes) == _matrix(data, level, pdf._qrcode_create_bytes), data


def test_a_qr_image_has_the_modules_of_the_code():
    image = pdf.qr_image("12345.3.12-34-12.20300622*ABCDEFGHIJKLMNOPQRSTUVWX", box=3, border=2)
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, mask_pattern=2, border=2)
    code.add_data("12345.3.12-34-12.20300622*ABCDEFGHIJKLMNOPQRSTUVWX", optimize=0)
    code.make(fit=True)
    matrix = code.get_matrix()
    assert code.version == 3 and image.size == (len(matrix) * 3, len(matrix) * 3)
    pixels = image.load()
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            assert pixels[x * 3 + 1, y * 3 + 1] == (0 if dark else 255)
