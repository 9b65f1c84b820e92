"""Certificate numbers carry a check character; the Ed25519 signature covers the stored issued data."""
from __future__ import annotations

import os
import stat
from datetime import date
from types import SimpleNamespace

from hypothesis import given, strategies as st

from examadmin.candidates.models import IdType
from examadmin.certificates import numbers, signing


def test_number_format_and_check_character():
    number = numbers.make_number(2026, 7, 123)
    assert len(number) == 17 and number.startswith("20260007" + "00000123")
    assert numbers.is_well_formed(number)
    assert numbers.is_well_formed(number.lower().replace("x", "x"))
    assert not numbers.is_well_formed(number[:-1])
    assert not numbers.is_well_formed("")
    assert not numbers.is_well_formed("2026000700000123Y")


@given(st.integers(1, 9999), st.integers(1, 99_999_999), st.integers(0, 15), st.integers(1, 9))
def test_every_single_mistyped_digit_is_caught(cert, seq, position, delta):
    number = numbers.make_number(2026, cert, seq)
    digit = int(number[position])
    wrong = number[:position] + str((digit + delta) % 10) + number[position + 1:]
    assert not numbers.is_well_formed(wrong)


@given(st.integers(1, 9999), st.integers(1, 99_999_999), st.integers(0, 14))
def test_every_swap_of_neighbouring_digits_is_caught(cert, seq, position):
    number = numbers.make_number(2026, cert, seq)
    a, b = number[position], number[position + 1]
    if a == b:
        return
    swapped = number[:position] + b + a + number[position + 2:]
    assert not numbers.is_well_formed(swapped)


def _record(**overrides):
    data = dict(number=numbers.make_number(2026, 1, 5), verify_code="abc", name="张三", gender="男",
                id_type=IdType.RESIDENT, id_number="500107200305121234", certificate_level_id=3, plan_id=9,
                issue_date=date(2026, 11, 25), signature=None)
    data.update(overrides)
    return SimpleNamespace(**data)


def test_signature_holds_over_the_stored_data_and_breaks_when_any_field_changes(app):
    record = _record()
    record.signature = signing.sign(record)
    assert signing.verify_signature(record)
    for name, value in [("name", "李四"), ("id_number", "500107200305121242"), ("number", numbers.make_number(2026, 1, 6)),
                        ("issue_date", date(2026, 11, 26)), ("certificate_level_id", 4), ("verify_code", "abd")]:
        altered = _record(signature=record.signature, **{name: value})
        assert not signing.verify_signature(altered), name
    assert not signing.verify_signature(_record(signature="not base64!"))
    assert not signing.verify_signature(_record(signature=None))


def test_the_key_is_generated_once_with_mode_600(app):
    path = signing._key_path()
    signing.private_key()
    assert path.exists()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    before = path.read_bytes()
    signing._cache.clear()
    signing.private_key()
    assert path.read_bytes() == before
    assert "BEGIN PUBLIC KEY" in signing.public_key_pem()
