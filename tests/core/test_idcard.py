"""ID-number normalising and checking (GB 11643-1999), with property tests."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, strategies as st

from examadmin.core import idcard

REGIONS = ["110101", "500107", "510104", "650102"]


@st.composite
def valid_numbers(draw):
    region = draw(st.sampled_from(REGIONS))
    born = draw(st.dates(min_value=date(1930, 1, 1), max_value=date(2015, 12, 31)))
    seq = draw(st.integers(0, 999))
    first17 = f"{region}{born:%Y%m%d}{seq:03d}"
    return first17 + idcard.check_char(first17), born, "男" if seq % 2 else "女"


@given(valid_numbers())
def test_every_valid_number_parses_with_its_birth_date_and_gender(case):
    number, born, gender = case
    info = idcard.parse(number)
    assert (info.birth_date, info.gender) == (born, gender)


@given(valid_numbers(), st.integers(0, 16), st.integers(1, 9))
def test_changing_one_digit_breaks_the_check(case, position, delta):
    number = case[0]
    changed = number[:position] + str((int(number[position]) + delta) % 10) + number[position + 1:]
    with pytest.raises(idcard.IdCardError):
        idcard.parse(changed)


FULLWIDTH = str.maketrans("0123456789Xx", "０１２３４５６７８９Ｘｘ")


@given(valid_numbers(), st.lists(st.sampled_from([" ", "\u200b", "\u3000", "\t", "\ufeff", "\u00a0"]),
                                 max_size=4), st.booleans(), st.booleans())
def test_normalise_undoes_what_typing_and_pasting_do(case, junk, fullwidth, lower):
    number = case[0]
    typed = number.translate(FULLWIDTH) if fullwidth else number
    typed = typed.lower() if lower else typed
    typed = "".join(junk) + typed[:9] + "".join(junk) + typed[9:] + "".join(junk)
    assert idcard.normalise(typed) == number


@given(st.text(max_size=30))
def test_normalise_is_idempotent_and_leaves_no_space(text):
    once = idcard.normalise(text)
    assert idcard.normalise(once) == once
    assert not any(ch.isspace() for ch in once)


def test_known_number_and_messages():
    assert idcard.parse("11010519491231002X").gender == "女"
    with pytest.raises(idcard.IdCardError, match="18 位"):
        idcard.parse("1101051949123100")
    with pytest.raises(idcard.IdCardError, match="校验位"):
        idcard.parse("110105194912310021")
    with pytest.raises(idcard.IdCardError, match="不是有效日期"):
        idcard.parse("110105194902300027")
    future = date.today() + timedelta(days=400)
    first17 = f"110105{future:%Y%m%d}002"
    with pytest.raises(idcard.IdCardError, match="不合理"):
        idcard.parse(first17 + idcard.check_char(first17))


def test_mask():
    assert idcard.mask("50010720000101123X") == "500107********123X"


@pytest.mark.parametrize("number, shown", [
    ("50010720000101123X", "**************123X"),  # 居民身份证: no region code, no birth date
    ("E12345678", "*****5678"),                      # passport
    ("H1234567890", "*******7890"),                  # 港澳居民来往内地通行证
    ("8300001990010112", "************0112"),        # 台湾居民 (16)
    ("AB1234", "***234"),                            # short papers keep at most half
    ("1234", "****"),
    ("", ""),
    (None, ""),
])
def test_mask_keep_last4_shows_the_last_four_of_every_paper(number, shown):
    assert idcard.mask_keep_last4(number) == shown
