"""Who may do what to which record: the URL map, roles by endpoint, and scopes."""
from __future__ import annotations

import pytest
from sqlalchemy import select
from werkzeug.routing.converters import NumberConverter

from examadmin.catalog.models import School
from examadmin.core import audit, jobs, permissions
from examadmin.core.auth import SYSTEM, User
from examadmin.core.web import is_public
from examadmin.extensions import db
from tests.conftest import login_as, make_city, make_school, make_user


def _sample_url(rule) -> str:
    values = {}
    for arg in rule.arguments:
        converter = rule._converters[arg]
        values[arg] = 1 if isinstance(converter, NumberConverter) else "x"
    return rule.build(values, append_unknown=False)[1]


def test_every_non_public_endpoint_refuses_an_anonymous_user(app, client):
    checked = 0
    for rule in app.url_map.iter_rules():
        if is_public(app, rule.endpoint):
            continue
        url = _sample_url(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            assert response.status_code in (302, 401), f"{method} {url} answered {response.status_code}"
            if response.status_code == 302:
                assert "/login" in response.headers["Location"], f"{method} {url}"
            checked += 1
    assert checked > 20  # the walk really covered the app


def test_public_endpoints_are_only_the_known_ones(app):
    public = {rule.endpoint for rule in app.url_map.iter_rules() if is_public(app, rule.endpoint)}
    # the candidate portal's sign-in and activation (考生账号由所在院校开通) are public too, and the
    # health check that a load balancer asks
    assert public == {"static", "bootstrap.static", "auth.login", "portal.login", "portal.activate", "scores.lookup",
                      "certificates.verify", "certificates.verify_code", "health.healthz",
                      "registrations.payment_notify"}  # an online payment provider's callback


# role x endpoint: what each role gets on the pages of this issue
PAGES = [
    ("/admin/users/", {"sysadmin"}),
    ("/admin/users/new", {"sysadmin"}),
    ("/catalog/provinces", {"sysadmin"}),
    ("/catalog/schools/new", {"sysadmin"}),
    ("/catalog/majors/new", {"sysadmin"}),
    ("/catalog/certificates/new", {"sysadmin", "org"}),
    ("/catalog/schools", {"sysadmin", "org", "province", "city", "school"}),
    ("/catalog/majors", {"sysadmin", "org", "province", "city", "school"}),
    ("/catalog/certificates", {"sysadmin", "org", "province", "city", "school"}),
    ("/audit/", {"sysadmin", "org", "province", "city", "school"}),
    ("/jobs/", {"sysadmin", "org", "province", "city", "school", "candidate"}),
    ("/certificates/paper", {"sysadmin", "org", "school"}),
    ("/", {"sysadmin", "org", "province", "city", "school", "candidate"}),
    # tickets, check-in and the portal (issue 10); a candidate and a proctor are sent on
    ("/tickets/", {"sysadmin", "org", "school"}),
    ("/tickets/checkin", {"school", "proctor"}),
    ("/portal/accounts", {"school"}),
]
ROLES = ["sysadmin", "org", "province", "city", "school", "candidate", "proctor"]
#: pages that send a role elsewhere instead of refusing it
REDIRECTS = {("/tickets/", "candidate"), ("/tickets/", "proctor"), ("/", "proctor"), ("/", "candidate")}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("url,allowed", PAGES)
def test_role_table(client, role, url, allowed):
    login_as(client, make_user(role))
    status = client.get(url).status_code
    expected = 302 if (url, role) in REDIRECTS else 200 if role in allowed else 403
    assert status == expected, f"{role} {url}"


def test_school_sees_only_its_own_school_and_province_only_its_schools(client):
    own = make_school("50", name="本校职业学院")
    other = make_school("50", name="他校职业学院")
    far = make_school("51", name="外省职业学院")
    school_user = make_user("school", school=own)
    login_as(client, school_user)
    body = client.get("/catalog/schools").get_data(as_text=True)
    assert "本校职业学院" in body and "他校职业学院" not in body and "外省职业学院" not in body

    province_user = make_user("province", province_code="50")
    rows = db.session.scalars(permissions.scoped(province_user, select(School))).all()
    assert own in rows and other in rows and far not in rows


def test_a_record_outside_the_scope_is_404_not_403():
    own, other = make_school(), make_school()
    school_user = make_user("school", school=own)
    assert permissions.get_for(school_user, School, own.id) == own
    with pytest.raises(permissions.NotInScope):
        permissions.get_for(school_user, School, other.id)


def test_a_school_cannot_read_another_schools_job(client):
    alice = make_user("school")
    bob = make_user("school")
    job = jobs.submit(alice, "audit_export", {})
    db.session.commit()
    login_as(client, bob)
    assert client.get(f"/jobs/{job.id}").status_code == 404
    assert client.get(f"/jobs/{job.id}.json").status_code == 404
    assert client.get(f"/jobs/{job.id}/download").status_code == 404
    assert client.post(f"/jobs/{job.id}/retry").status_code in (302, 404)
    login_as(client, alice)
    assert client.get(f"/jobs/{job.id}").status_code == 200


def test_a_school_cannot_change_another_schools_records(client):
    school_user = make_user("school")
    other_user = make_user("school")
    db.session.commit()
    login_as(client, school_user)
    assert client.post(f"/admin/users/{other_user.id}/active", data={"active": "0"}).status_code in (403, 302)
    assert db.session.get(User, other_user.id).active is True


def test_audit_log_is_scoped(client):
    city = make_city("50")
    mine = make_school("50", city=city, name="审计本校学院")
    theirs = make_school("50", name="审计他校学院")
    elsewhere = make_school("51", name="审计外省学院")
    for school in (mine, theirs, elsewhere):
        audit.record(SYSTEM, "school.update", school, before={"name": "旧"}, after={"name": school.name})
    checks = [
        (make_user("school", school=mine), {"审计本校学院"}),
        (make_user("city", city=city), {"审计本校学院"}),
        (make_user("province", province_code="50"), {"审计本校学院", "审计他校学院"}),
        (make_user("org"), {"审计本校学院", "审计他校学院", "审计外省学院"}),
    ]
    for user, expected in checks:
        login_as(client, user)
        body = client.get("/audit/?action=school.update").get_data(as_text=True)
        seen = {name for name in ("审计本校学院", "审计他校学院", "审计外省学院") if name in body}
        assert seen == expected, user.role


def test_unknown_action_is_a_programming_error():
    with pytest.raises(KeyError):
        permissions.require(make_user("org"), "no.such.action")


def _steps(page: str) -> str:
    return page.split('data-testid="workflow-steps"', 1)[1].split("</ol>", 1)[0]


def test_dashboard_links_only_steps_the_user_may_open(client):
    login_as(client, make_user("province"))
    steps = _steps(client.get("/").get_data(as_text=True))
    assert 'href="/exams/plans"' in steps and 'href="/exams/rooms"' not in steps  # rooms: not for provinces
    login_as(client, make_user("school"))
    steps = _steps(client.get("/").get_data(as_text=True))
    assert 'href="/exams/rooms"' in steps and 'href="/candidates/"' in steps
