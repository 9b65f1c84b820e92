"""A candidate's home is the portal: "/", the brand and the sidebar's first link lead there, and the
menu holds no staff pages such as 后台任务."""
from __future__ import annotations

from tests.conftest import login_as, make_user


def test_a_candidate_is_sent_from_the_staff_dashboard_to_the_portal(client):
    candidate = make_user("candidate")
    login_as(client, candidate)
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/portal/")
    page = client.get("/portal/", follow_redirects=True).get_data(as_text=True)
    assert 'data-testid="brand">' in page
    brand = page[page.index('class="navbar-brand'):].split(">")[0]
    assert 'href="/portal/"' in brand
    sidebar = page[page.index('data-testid="sidebar"'):page.index("</aside>")]
    assert "我的首页" in sidebar and "工作台" not in sidebar and "后台任务" not in sidebar
    assert "我的工作台" not in page and "我的后台任务" not in page


def test_staff_keep_the_dashboard_and_their_jobs_in_the_menu(client):
    login_as(client, make_user("school"))
    page = client.get("/").get_data(as_text=True)
    assert client.get("/").status_code == 200
    brand = page[page.index('class="navbar-brand'):].split(">")[0]
    assert 'href="/"' in brand
    sidebar = page[page.index('data-testid="sidebar"'):page.index("</aside>")]
    assert "工作台" in sidebar and "后台任务" in sidebar
