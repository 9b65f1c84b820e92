"""Ticket numbers: format, check digit, parsing, limits."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from examadmin.core.errors import DomainError
from examadmin.scheduling.services.ticket_numbers import (LENGTH, SiteNumbering, TicketParts, build, is_valid,
                                                          luhn_digit, parse)


def test_the_format_reads_year_plan_site_session_room_seat_issue_and_check():
    number = build(TicketParts(2026, 12, 34, 3, 2, 17))
    assert number == "2026" "00012" "00034" "03" "002" "017" "0" + number[-1] and len(number) == LENGTH
    assert luhn_digit("7992739871") == "3"  # the textbook Luhn example


@given(st.integers(2000, 2099), st.integers(1, 99999), st.integers(1, 99999), st.integers(1, 99),
       st.integers(1, 999), st.integers(1, 999), st.integers(0, 9))
def test_build_and_parse_agree_and_the_fast_builder_gives_the_same_number(year, plan, site, session, room, seat,
                                                                         issue):
    parts = TicketParts(year, plan, site, session, room, seat, issue)
    number = build(parts, issue)
    assert is_valid(number) and parse(number) == parts
    assert SiteNumbering(year, plan, site).build(session, room, seat, issue) == number


@given(st.integers(0, LENGTH - 1), st.integers(1, 9))
def test_any_single_mistyped_digit_is_caught(position, delta):
    number = build(TicketParts(2026, 5, 77, 1, 3, 29))
    wrong = number[:position] + str((int(number[position]) + delta) % 10) + number[position + 1:]
    assert not is_valid(wrong)
    with pytest.raises(DomainError, match="校验位"):
        parse(wrong)


def test_parts_beyond_the_format_are_refused_with_a_message():
    with pytest.raises(DomainError, match="考核站点编号 100000"):
        build(TicketParts(2026, 1, 100000, 1, 1, 1))
    with pytest.raises(DomainError, match="补发位"):
        build(TicketParts(2026, 1, 1, 1, 1, 1), 10)
    with pytest.raises(DomainError, match="座位号"):
        SiteNumbering(2026, 1, 1).build(1, 1, 1000)
