"""Odd input never answers 500: every page of the URL map, every argument it reads.

The walk finds the query arguments a page reads by recording them on a first, plain request,
then sends each of them odd values (unknown words, huge numbers, negative, NUL), and fills
the page's own path ids with values beyond 64 bits. The app under test re-raises unexpected
errors (TESTING), so a 500 shows up here as the exception itself.
"""
from __future__ import annotations

import pytest
from flask import Request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing.converters import NumberConverter

from examadmin.catalog.models import School
from examadmin.core import permissions
from examadmin.core.web import is_public
from examadmin.extensions import db
from tests.conftest import login_as, make_user

HUGE = str(2 ** 64 + 7)
ODD_VALUES = ["x", "-1", HUGE, "9" * 40, "１２", "\x00"]
ODD_IDS = [2 ** 63, 2 ** 31, 0]  # 2**31: past PostgreSQL INTEGER
#: endpoints that send a file or a job's download; their arguments are not filters
SKIP = {"static", "bootstrap.static", "auth.logout"}


class _RecordingArgs(ImmutableMultiDict):
    """Query arguments that remember which names the view asked for."""

    asked: set[str] = set()

    def get(self, key, default=None, type=None):  # noqa: A002
        _RecordingArgs.asked.add(key)
        return super().get(key, default, type)

    def __getitem__(self, key):
        _RecordingArgs.asked.add(key)
        return super().__getitem__(key)

    def getlist(self, key, type=None):  # noqa: A002
        _RecordingArgs.asked.add(key)
        return super().getlist(key, type)

    def __contains__(self, key):
        _RecordingArgs.asked.add(key)
        return super().__contains__(key)


class _RecordingRequest(Request):
    parameter_storage_class = _RecordingArgs


def _get_rules(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" in rule.methods and not is_public(app, rule.endpoint) and rule.endpoint not in SKIP:
            yield rule


def _build(rule, value_for_int) -> str:
    values = {}
    for arg in rule.arguments:
        values[arg] = value_for_int if isinstance(rule._converters[arg], NumberConverter) else "x"
    return rule.build(values, append_unknown=False)[1]


def _ok(response, what: str) -> None:
    assert response.status_code < 500, f"{what} answered {response.status_code}"
    if response.status_code == 400:  # a refusal says why, in Chinese
        text = response.json["error"] if response.is_json else response.get_data(as_text=True)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in text), what


@pytest.fixture
def recording(app):
    before = app.request_class
    app.request_class = _RecordingRequest
    yield
    app.request_class = before


@pytest.mark.parametrize("role", ["sysadmin", "org", "province", "city", "school"])
def test_every_page_survives_odd_arguments(app, client, role, recording):
    login_as(client, make_user(role))
    walked = 0
    for rule in _get_rules(app):
        plain = _build(rule, 1)
        _RecordingArgs.asked = set()
        _ok(client.get(plain), plain)
        asked = set(_RecordingArgs.asked)  # empty: the page reads no argument (a download, say)
        for value in ODD_VALUES if asked else ():
            response = client.get(plain, query_string={name: value for name in asked})
            _ok(response, f"{plain}?{'&'.join(asked)}={value!r}")
        for odd_id in ODD_IDS:
            if any(isinstance(c, NumberConverter) for c in rule._converters.values()):
                url = _build(rule, odd_id)
                _ok(client.get(url), url)
        walked += 1
    assert walked > 30  # the walk really covered the app


@pytest.mark.parametrize("path, arg", [
    ("/candidates/", "state"), ("/candidates/", "kind"), ("/sites/", "state"),
    ("/pilots/applications", "state"), ("/exams/plans", "state"), ("/admin/users/", "role"),
    ("/catalog/schools", "type"), ("/catalog/majors", "school_type"),
])
def test_an_unknown_filter_value_is_ignored(client, path, arg):
    login_as(client, make_user("sysadmin"))
    plain = client.get(path)
    odd = client.get(path, query_string={arg: "no-such-value"})
    assert plain.status_code == odd.status_code == 200
    # ignored: the same list as without the filter
    assert odd.get_data(as_text=True).count("<tr") == plain.get_data(as_text=True).count("<tr")


def test_a_huge_page_is_an_empty_page_not_an_error(client):
    login_as(client, make_user("sysadmin"))
    response = client.get("/catalog/schools", query_string={"page": HUGE})
    assert response.status_code == 200


@pytest.mark.parametrize("record_id", [2 ** 63, 2 ** 64 + 7, -(2 ** 63) - 1, "1" * 30, "x", None, 0, -1])
def test_get_for_answers_404_for_any_id_that_names_no_record(record_id):
    user = make_user("sysadmin")
    with pytest.raises(permissions.NotInScope):
        permissions.get_for(user, School, record_id)


def test_a_path_id_beyond_64_bits_is_404(app, client):
    login_as(client, make_user("sysadmin"))
    posted = 0
    for rule in app.url_map.iter_rules():
        if "POST" in rule.methods and any(isinstance(c, NumberConverter) for c in rule._converters.values()):
            url = _build(rule, 2 ** 64)
            assert client.post(url).status_code == 404, url
            posted += 1
    assert posted > 20
    assert client.get(f"/catalog/schools/{2 ** 64}").status_code == 404
    assert client.get(f"/candidates/{2 ** 63}").status_code == 404


@pytest.mark.parametrize("write", [
    lambda n: "".join(chr(0xFF10 + int(d)) for d in str(n)),  # full-width
    lambda n: "".join(chr(0x0660 + int(d)) for d in str(n)),  # Arabic-Indic
    lambda n: f"0{n}", lambda n: f"{n}.0", lambda n: f"-{n}"], ids=["fullwidth", "arabic", "zero", "float", "minus"])
def test_a_path_id_is_written_in_plain_digits_only(client, write):
    """Python's \\d matches full-width and Arabic-Indic digits, and int() reads them and leading
    zeros: a school's page answered under several addresses."""
    from tests.conftest import make_school

    school = make_school()
    db.session.commit()
    login_as(client, make_user("sysadmin"))
    assert client.get(f"/catalog/schools/{school.id}").status_code == 200
    assert client.get(f"/catalog/schools/{write(school.id)}").status_code == 404
