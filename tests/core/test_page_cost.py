"""What every signed-in page pays: the menu is worked out once per role, not on every page."""
from __future__ import annotations

import re

from examadmin.core import nav, permissions
from tests.conftest import login_as, make_user

ACTIVE = re.compile(r'<a class="nav-link px-2 py-1 active" href="([^"]+)">')


def sidebar(page: str) -> str:
    return page[page.index('data-testid="sidebar"'):page.index("</aside>")]


def test_the_menu_is_decided_once_per_role_and_marks_the_page(client, monkeypatch):
    asked: list[str] = []
    real = permissions.can

    class Counting:
        @staticmethod
        def can(user, action):
            asked.append(action)
            return real(user, action)

    monkeypatch.setattr(nav, "permissions", Counting)
    client.application.extensions.pop("examadmin.menu", None)
    client.application.extensions.pop("examadmin.sidebar", None)

    school = make_user("school")
    login_as(client, school)
    candidates = client.get("/candidates/").get_data(as_text=True)
    first = len(asked)
    assert first >= 20  # every menu item was checked once for the role
    assert ACTIVE.findall(sidebar(candidates)) == ["/candidates/"]
    registrations = client.get("/registrations/").get_data(as_text=True)
    assert ACTIVE.findall(sidebar(registrations)) == ["/registrations/"]
    again = client.get("/candidates/").get_data(as_text=True)
    assert sidebar(again) == sidebar(candidates)
    login_as(client, make_user("school"))  # another user of the same role
    client.get("/candidates/")
    assert len(asked) == first  # no permission asked again for the same role

    # another role has its own menu: the org seals certificates, a school does not
    org = make_user("org")
    login_as(client, org)
    org_page = client.get("/candidates/").get_data(as_text=True)
    assert len(asked) > first
    assert "电子印章" in sidebar(org_page) and "电子印章" not in sidebar(candidates)
    assert "考生账号" in sidebar(candidates) and "考生账号" not in sidebar(org_page)


def test_anonymous_pages_have_no_menu(client):
    page = client.get("/scores/lookup").get_data(as_text=True)
    assert 'data-testid="sidebar"' not in page


def test_the_dashboards_workflow_steps_are_decided_once_per_role(client, monkeypatch):
    asked: list[str] = []
    real = permissions.can

    class Counting:
        @staticmethod
        def can(user, action):
            asked.append(action)
            return real(user, action)

    monkeypatch.setattr(nav, "permissions", Counting)
    for key in ("examadmin.menu", "examadmin.sidebar", "examadmin.workflow_steps"):
        client.application.extensions.pop(key, None)
    login_as(client, make_user("province"))
    first = client.get("/").get_data(as_text=True)
    after_first = len(asked)
    assert after_first > 0
    second = client.get("/").get_data(as_text=True)
    assert len(asked) == after_first
    steps = re.compile(r'<ol class="workflow-steps.*?</ol>', re.S)
    assert steps.search(first).group(0) == steps.search(second).group(0)
    # a school has its own steps (rooms and scheduling are open to it, not to a province)
    login_as(client, make_user("school"))
    school = steps.search(client.get("/").get_data(as_text=True)).group(0)
    assert len(asked) > after_first and school != steps.search(first).group(0)
