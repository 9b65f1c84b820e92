"""Paging of long lists: the count is capped (超过 N 条) and pages stop at the cap, so that a
national list never counts or skips a million rows; short lists keep their exact total."""
from __future__ import annotations

import re

from sqlalchemy import event, func, select

from examadmin.catalog.models import School
from examadmin.core import counts
from examadmin.extensions import db
from tests.conftest import login_as, make_school, make_user


def _total(body: str) -> str:
    return re.search(r'data-testid="total">([^<]*)<', body).group(1)


def _schools(n: int) -> int:
    for _ in range(n):
        make_school()
    db.session.commit()
    return db.session.scalar(select(func.count(School.id)))


def test_a_list_longer_than_the_cap_says_so_and_pages_stop_there(client, app, monkeypatch):
    login_as(client, make_user("org"))
    total = _schools(12)
    monkeypatch.setitem(app.config, "PAGE_SIZE", 3)
    monkeypatch.setattr(counts, "COUNT_CAP", total - 4)
    cap = total - 4
    body = client.get("/catalog/schools").get_data(as_text=True)
    assert _total(body).startswith(f"超过 {cap:,} 条")
    last = -(-cap // 3)
    assert f"第 1 / {last} 页" in body
    # a page beyond the cap shows the last page of the capped list, not an OFFSET past it
    deep = client.get("/catalog/schools?page=5000").get_data(as_text=True)
    assert f"第 {last} / {last} 页" in deep
    assert "测试职业学院" in deep  # the rows of that page, not an empty page past the end


def test_a_short_list_keeps_its_exact_total_on_every_page(client, app, monkeypatch):
    login_as(client, make_user("org"))
    total = _schools(7)
    monkeypatch.setitem(app.config, "PAGE_SIZE", 5)
    last = -(-total // 5)
    first = client.get("/catalog/schools").get_data(as_text=True)
    end = client.get(f"/catalog/schools?page={last}").get_data(as_text=True)
    assert _total(first).startswith(f"共 {total} 条") and _total(end).startswith(f"共 {total} 条")
    assert f"第 {last} / {last} 页" in end


def test_the_count_reads_no_further_than_the_cap(client, app, monkeypatch):
    login_as(client, make_user("org"))
    _schools(6)
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    monkeypatch.setattr(counts, "COUNT_CAP", 3)
    seen = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        if "count(" in statement.lower():
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", remember)
    try:
        assert client.get("/catalog/schools").status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", remember)
    statements = [s for s in seen if "school" in s[0].lower()]
    assert statements and all("LIMIT" in s[0].upper() for s in statements)


def test_a_later_page_shows_the_same_rows_in_the_same_order_as_an_offset_would(client, app, monkeypatch):
    """Past page one the rows are found by key first, then loaded with what the page shows."""
    org = make_user("org")
    login_as(client, org)
    _schools(8)
    monkeypatch.setitem(app.config, "PAGE_SIZE", 3)
    from examadmin.catalog import services

    expected = [s.name for s in db.session.scalars(services.list_schools(org).limit(3).offset(3))]
    body = client.get("/catalog/schools?page=2").get_data(as_text=True)
    positions = [body.index(name) for name in expected]
    assert positions == sorted(positions)
    others = [s.name for s in db.session.scalars(services.list_schools(org).limit(3))]
    assert not any(name in body for name in others)
