"""Who may open which page of sites, plans and rooms (role x endpoint), and scopes."""
from __future__ import annotations

import pytest

from examadmin.extensions import db
from tests.conftest import login_as
from tests.exams.factories import make_plan, make_room, make_subject
from tests.sites.factories import make_site, make_user

STAFF = {"sysadmin", "org", "province", "city", "school"}
PAGES = [
    ("/sites/", STAFF),
    ("/sites/new", {"school"}),
    ("/exams/plans", STAFF),
    ("/exams/plans/new", {"sysadmin", "org"}),
    ("/exams/subjects", STAFF),
    ("/exams/subjects/new", {"sysadmin", "org"}),
    ("/exams/rooms", {"sysadmin", "org", "school"}),
    ("/exams/rooms/new", {"school"}),
]
ROLES = ["sysadmin", "org", "province", "city", "school", "candidate"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("url,allowed", PAGES)
def test_role_table(client, role, url, allowed):
    login_as(client, make_user(role))
    status = client.get(url).status_code
    assert status == (200 if role in allowed else 403), f"{role} {url}"


@pytest.fixture
def world():
    subject = make_subject()
    plan = make_plan([(subject, "09:00", "11:00")])
    owner = make_user("school")
    site = make_site(owner)
    room = make_room(owner, plan, site, subject)
    pending = make_site(make_user("school"), approved=False)
    db.session.commit()
    return {"plan": plan, "site": site, "room": room, "owner": owner, "pending": pending}


# role x action on records: (method, url template, who succeeds); others get 403 or 404
ACTIONS = [
    ("GET", "/sites/{site}", {"sysadmin", "org", "province", "owner"}),
    ("GET", "/sites/{site}/edit", {"owner"}),
    ("POST", "/sites/{pending}/approve", {"sysadmin", "org"}),
    ("POST", "/sites/{site}/disable", {"sysadmin", "org"}),
    ("GET", "/exams/plans/{plan}", {"sysadmin", "org", "province", "far_province", "owner", "school"}),
    ("GET", "/exams/plans/{plan}/edit", {"sysadmin", "org"}),
    ("GET", "/exams/rooms/{room}", {"owner"}),
    ("POST", "/exams/rooms/{room}/delete", {"owner"}),
]
ACTORS = ["sysadmin", "org", "province", "far_province", "school", "owner"]


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("method,template,allowed", ACTIONS)
def test_record_table(client, world, actor, method, template, allowed):
    # the sites' schools lie in province 50, so the province user is the sites' province
    if actor == "owner":
        user = world["owner"]
    elif actor == "far_province":
        user = make_user("province", province_code="51")
    else:
        user = make_user(actor, province_code="50")
    login_as(client, user)
    url = template.format(**{k: v.id for k, v in world.items()})
    response = client.open(url, method=method)
    if actor in allowed:
        assert response.status_code in (200, 302), f"{actor} {method} {url}"
        if response.status_code == 302:
            follow = client.get(response.headers["Location"])
            assert "不能执行" not in follow.get_data(as_text=True)
    else:
        assert response.status_code in (403, 404), f"{actor} {method} {url}"


def test_a_school_gets_404_for_another_schools_site_and_room(client, world):
    login_as(client, make_user("school"))
    for url in (f"/sites/{world['site'].id}", f"/sites/{world['site'].id}/edit",
                f"/exams/rooms/{world['room'].id}"):
        assert client.get(url).status_code == 404, url
