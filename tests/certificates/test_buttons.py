"""The org's buttons on a plan's records (生成证书记录, 评价组织签发, 发放) are disabled with the
reason when they could only be refused, and say how many records they would take; the services
refuse all the same (tests/certificates/test_issuance.py)."""
from __future__ import annotations

import re

from examadmin.certificates import services
from examadmin.certificates.pdf import demo_seal_png
from examadmin.scores.states import PublicationStage
from tests.certificates.factories import make_result, make_setup
from tests.conftest import login_as


def _button(page: str, testid: str) -> str:
    """The button's opening tag and its label."""
    found = re.search(r'<button[^>]*data-testid="' + testid + r'"[^>]*>[^<]*', page)
    assert found, testid
    return found.group(0)


def _reason(page: str, testid: str) -> str | None:
    found = re.search(r'data-testid="' + testid + r'-reason">([^<]+)<', page)
    return found.group(1) if found else None


def _page(client, s, **extra) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"plan_id": s.plan.id, **extra}.items())
    return client.get(f"/certificates/?{query}").get_data(as_text=True)


def test_nothing_can_be_made_or_signed_or_issued_before_the_scores_are_final(client):
    s = make_setup(passed=2, failed=0, stage=PublicationStage.DISPLAY)
    login_as(client, s.org)
    page = _page(client, s)
    for testid in ("make-records", "org-sign", "issue"):
        assert " disabled" in _button(page, testid)
    assert _reason(page, "make-records") == "生成证书记录：该考试计划的成绩尚未发布，发布后才能生成证书记录"
    assert _reason(page, "org-sign") == "评价组织签发：本计划没有待评价组织签发的证书"
    assert _reason(page, "issue") == "发放：本计划没有待发放的证书"
    assert 'title="该考试计划的成绩尚未发布' in _button(page, "make-records")


def test_each_button_is_enabled_with_its_count_while_it_has_work(client):
    s = make_setup(passed=3, failed=1)
    login_as(client, s.org)
    page = _page(client, s)
    assert " disabled" not in _button(page, "make-records") and _button(page, "make-records").endswith("生成证书记录（3）")
    assert " disabled" in _button(page, "org-sign")

    services.make_records(s.plan.id, s.org)
    page = _page(client, s)
    assert " disabled" in _button(page, "make-records")
    assert _reason(page, "make-records") == "生成证书记录：没有需要新生成的证书记录（已全部生成）"
    assert " disabled" not in _button(page, "org-sign") and _button(page, "org-sign").endswith("评价组织签发（3）")
    # a site with nothing of its own waiting: its batch would be refused
    other_site_page = _page(client, s, site_id=s.site.id + 1000)
    assert _reason(other_site_page, "org-sign") == "评价组织签发：该站点没有待评价组织签发的证书"

    make_result(s.plan, s.site, True)  # a result that passed after the records were made
    assert _button(_page(client, s), "make-records").endswith("生成证书记录（1）")

    services.org_sign(s.org, s.plan.id)
    _, token = services.start_signoff(s.school_user, s.plan.id, s.site.id)
    services.confirm_signoff(s.signer, token)
    page = _page(client, s)
    assert " disabled" in _button(page, "org-sign")
    # 待发放 now, but without the certificate's seal 发放 would be refused
    assert " disabled" in _button(page, "issue") and _button(page, "issue").endswith("发放（3）")
    assert "尚未上传电子印章" in _reason(page, "issue")
    services.upload_seal(s.org, s.plan.certificate_id, demo_seal_png("测试评价组织"))
    page = _page(client, s)
    assert " disabled" not in _button(page, "issue") and _reason(page, "issue") is None


def test_an_odd_plan_in_the_address_shows_no_buttons_and_no_error(client):
    s = make_setup(passed=1, failed=0)
    login_as(client, s.org)
    for plan_id in ("abc", str(2 ** 70), "999999"):
        r = client.get(f"/certificates/?plan_id={plan_id}")
        assert r.status_code == 200 and 'data-testid="org-actions"' not in r.get_data(as_text=True)
