"""Payment pages: who may open and press what, uploads, and bad input answered in Chinese."""
from __future__ import annotations

import io
import re

import pytest

from examadmin.candidates.models import CandidateKind
from examadmin.core import clock
from examadmin.extensions import db
from examadmin.registrations import payments
from examadmin.registrations.models import PaymentOrder
from examadmin.registrations.states import PaymentState, RegistrationState
from tests.conftest import login_as
from tests.registrations.factories_payment import AFTER_DEADLINE, make_world, register
from tests.sites.factories import make_user

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def world():
    return make_world(places=10)


def page(client, url, **kw):
    response = client.get(url, **kw)
    return response, response.get_data(as_text=True)


def test_the_school_creates_an_order_uploads_a_voucher_and_the_org_confirms(client, world, app):
    regs = [register(world, name=f"学生{i}") for i in range(2)]
    social = register(world, kind=CandidateKind.SOCIAL, name="王社会")
    login_as(client, world.school_user)
    response, html = page(client, f"/registrations/payments/new?plan_id={world.plan.id}")
    assert response.status_code == 200 and "学生0" in html and "王社会" in html and "生成个人缴费订单" in html
    # Back after an order: the browser must not tick the row that now sits where a paid one was
    boxes = re.findall(r'<input[^>]*type="checkbox"[^>]*>', html)
    assert boxes and all('autocomplete="off"' in box for box in boxes)

    response = client.post("/registrations/payments/new", data={"plan_id": world.plan.id,
                                                                "ids": [r.id for r in regs]})
    assert response.status_code == 302
    order = db.session.scalar(db.select(PaymentOrder).order_by(PaymentOrder.id.desc()))
    assert response.location.endswith(f"/registrations/payments/{order.id}")
    response, html = page(client, response.location)
    assert "600.00 元" in html and "上传付款凭证" in html and order.reference in html

    response = client.post(f"/registrations/payments/{order.id}/voucher",
                           data={"voucher": (io.BytesIO(PDF), "回单.pdf"), "transaction_ref": "A1"},
                           content_type="multipart/form-data", follow_redirects=True)
    assert "付款凭证已提交" in response.get_data(as_text=True)
    db.session.refresh(order)
    assert order.state == PaymentState.SUBMITTED

    response = client.post("/registrations/payments/social", data={"plan_id": world.plan.id,
                                                                   "candidate_id": social.candidate_id},
                           follow_redirects=True)
    assert "已为社会考生「王社会」创建个人缴费订单" in response.get_data(as_text=True)

    login_as(client, world.org)
    response, html = page(client, "/registrations/payments?state=待确认")
    assert order.reference in html and world.school_user.school.name in html
    response, html = page(client, f"/registrations/payments/{order.id}")
    assert "确认到账" in html and "回单.pdf" in html
    response = client.get(f"/registrations/payments/{order.id}/voucher?download=1")
    assert response.data == PDF and response.headers["Cache-Control"] == "no-store"
    response.close()
    response = client.post(f"/registrations/payments/{order.id}/confirm", follow_redirects=True)
    assert "其中 2 条报考为「已缴费」" in response.get_data(as_text=True)
    db.session.expire_all()
    assert all(r.state == RegistrationState.PAID for r in regs)
    response = client.post(f"/registrations/payments/{order.id}/confirm", follow_redirects=True)
    assert "不能重复确认" in response.get_data(as_text=True)


@pytest.mark.parametrize("data,name,message", [
    (b"", "empty.pdf", "文件不能为空"),
    (b"MZ\x90\x00 not a pdf", "virus.pdf", "不是 PDF、JPEG 或 PNG"),
])
def test_bad_vouchers_answer_in_chinese(client, world, data, name, message):
    reg = register(world)
    order = payments.create_school_order(world.school_user, world.plan.id, [reg.id])
    login_as(client, world.school_user)
    response = client.post(f"/registrations/payments/{order.id}/voucher",
                           data={"voucher": (io.BytesIO(data), name)}, content_type="multipart/form-data",
                           follow_redirects=True)
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    db.session.refresh(order)
    assert order.state == PaymentState.DRAFT


def test_a_missing_voucher_file_is_asked_for(client, world):
    reg = register(world)
    order = payments.create_school_order(world.school_user, world.plan.id, [reg.id])
    login_as(client, world.school_user)
    response = client.post(f"/registrations/payments/{order.id}/voucher", data={},
                           content_type="multipart/form-data", follow_redirects=True)
    assert "请选择付款凭证文件" in response.get_data(as_text=True)


def test_bad_selections_answer_in_chinese(client, world):
    login_as(client, world.school_user)
    for data, message in [({"plan_id": world.plan.id}, "请选择要缴费的报考记录"),
                          ({"plan_id": world.plan.id, "ids": ["x1"]}, "无效"),
                          ({"plan_id": world.plan.id, "ids": [str(2**40)]}, "无效")]:
        response = client.post("/registrations/payments/new", data=data)
        assert response.status_code == 200 and message in response.get_data(as_text=True)
    assert client.post("/registrations/payments/new", data={"plan_id": "abc", "ids": ["1"]}).status_code == 404
    assert client.post("/registrations/payments/social", data={"plan_id": world.plan.id,
                                                               "candidate_id": 2**40}).status_code == 404


def test_the_reject_reason_reaches_the_school(client, world):
    reg = register(world)
    order = payments.create_school_order(world.school_user, world.plan.id, [reg.id])
    payments.submit_voucher(world.school_user, order.id, "凭证.pdf", PDF)
    login_as(client, world.org)
    response = client.post(f"/registrations/payments/{order.id}/reject", data={"reason": ""}, follow_redirects=True)
    assert "请填写驳回原因" in response.get_data(as_text=True)
    client.post(f"/registrations/payments/{order.id}/reject", data={"reason": "金额不符"})
    login_as(client, world.school_user)
    response, html = page(client, f"/registrations/payments/{order.id}")
    assert "驳回原因：</strong>金额不符" in html and "上传付款凭证" in html


def test_an_overdue_order_page_shows_the_lapse_with_the_deadline(client, world, monkeypatch):
    reg = register(world, name="迟到生")
    order = payments.create_school_order(world.school_user, world.plan.id, [reg.id])
    monkeypatch.setattr(clock, "now", lambda: AFTER_DEADLINE)
    login_as(client, world.school_user)
    response, html = page(client, f"/registrations/payments/{order.id}")
    assert "已放弃（未缴费）" in html and "缴费截止 2030-05-31 17:00" in html
    assert "缴费截止时间 2030-05-31 17:00 已过" in html and "上传付款凭证" not in html
    db.session.refresh(reg)
    assert reg.state == RegistrationState.UNPAID  # a GET writes nothing


@pytest.mark.parametrize("role,status", [("org", 200), ("sysadmin", 200), ("school", 404), ("province", 403),
                                         ("city", 403), ("candidate", 403)])
def test_who_may_open_an_order(client, world, role, status):
    reg = register(world)
    order = payments.create_school_order(world.school_user, world.plan.id, [reg.id])
    login_as(client, make_user(role))  # a school user of another school: not in scope
    assert client.get(f"/registrations/payments/{order.id}").status_code == status
    assert client.get("/registrations/payments").status_code == (403 if status == 403 else 200)


@pytest.mark.parametrize("role", ["org", "sysadmin", "province", "city"])
def test_only_schools_create_and_withdraw_orders(client, world, role):
    reg = register(world)
    order = payments.create_school_order(world.school_user, world.plan.id, [reg.id])
    login_as(client, make_user(role))
    assert client.get("/registrations/payments/new").status_code == 403
    assert client.post(f"/registrations/payments/{order.id}/withdraw").status_code == 403
    assert client.post(f"/registrations/payments/{order.id}/voucher", data={"voucher": (io.BytesIO(PDF), "a.pdf")},
                       content_type="multipart/form-data").status_code == 403


def test_the_school_may_not_confirm_its_own_order(client, world):
    reg = register(world)
    order = payments.create_school_order(world.school_user, world.plan.id, [reg.id])
    payments.submit_voucher(world.school_user, order.id, "凭证.pdf", PDF)
    login_as(client, world.school_user)
    assert client.post(f"/registrations/payments/{order.id}/confirm").status_code == 403
    assert client.post(f"/registrations/payments/{order.id}/reject", data={"reason": "x"}).status_code == 403


def test_ids_the_database_cannot_hold_are_404(client, world):
    login_as(client, world.org)
    assert client.get(f"/registrations/payments/{2**63}").status_code == 404
    # werkzeug checks the method of the POST rule at this path before its id converter: 405, never a 500
    assert client.get(f"/registrations/payments/{2**40}/voucher").status_code in (404, 405)
    assert client.post(f"/registrations/payments/{2**40}/confirm").status_code == 404


def test_the_list_filters_ignore_unknown_values(client, world):
    reg = register(world)
    order = payments.create_school_order(world.school_user, world.plan.id, [reg.id])
    login_as(client, world.school_user)
    for query in ("state=nonsense", "kind=zzz", "plan_id=abc", f"plan_id={2**40}", "page=-3", "q=" + "x" * 500):
        response = client.get(f"/registrations/payments?{query}")
        assert response.status_code == 200, query
    assert order.reference in client.get("/registrations/payments?state=nonsense").get_data(as_text=True)


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "multipart/form-data"])
def test_a_nul_in_a_form_is_refused_in_chinese_for_both_content_types(client, world, content_type):
    reg = register(world)
    order = payments.create_school_order(world.school_user, world.plan.id, [reg.id])
    login_as(client, world.school_user)
    data = {"transaction_ref": "a\x00b"}
    if content_type == "multipart/form-data":
        data["voucher"] = (io.BytesIO(PDF), "回单.pdf")
    response = client.post(f"/registrations/payments/{order.id}/voucher", data=data, content_type=content_type)
    assert response.status_code == 400 and "无效字符" in response.get_data(as_text=True)
    db.session.refresh(order)
    assert order.state != PaymentState.SUBMITTED

    payments.submit_voucher(world.school_user, order.id, "凭证.pdf", PDF)
    login_as(client, world.org)
    response = client.post(f"/registrations/payments/{order.id}/reject", data={"reason": "a\x00b"},
                           content_type=content_type)
    assert response.status_code == 400 and "无效字符" in response.get_data(as_text=True)
    db.session.refresh(order)
    assert order.state == PaymentState.SUBMITTED


@pytest.mark.parametrize("uploaded, shown", [
    ("../../evil.html", "evil.pdf"), ("..\\..\\回单.PDF", "回单.pdf"), ("..", "付款凭证.pdf"), ("凭证", "凭证.pdf"),
])
def test_a_voucher_downloads_with_the_extension_of_its_type_and_no_path(client, world, uploaded, shown):
    reg = register(world)
    order = payments.create_school_order(world.school_user, world.plan.id, [reg.id])
    login_as(client, world.school_user)
    client.post(f"/registrations/payments/{order.id}/voucher", data={"voucher": (io.BytesIO(PDF), uploaded)},
                content_type="multipart/form-data")
    db.session.refresh(order)
    assert order.state == PaymentState.SUBMITTED and order.voucher_name == shown
    response = client.get(f"/registrations/payments/{order.id}/voucher?download=1")
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment")
    from urllib.parse import unquote
    assert unquote(response.headers["Content-Disposition"]).endswith(shown)
    response.close()
    # a name stored before the rule is cleaned on the way out
    order.voucher_name = "../../evil.html"
    db.session.flush()
    response = client.get(f"/registrations/payments/{order.id}/voucher?download=1")
    disposition = response.headers["Content-Disposition"]
    response.close()
    assert "evil.html" not in disposition and "evil.pdf" in disposition and "/" not in disposition
def test_the_order_page_says_where_to_transfer_and_no_developer_note(client, world, app):
    regs = [register(world, name="学生甲")]
    order = payments.create_school_order(world.school_user, world.plan.id, [r.id for r in regs])
    login_as(client, world.school_user)
    for url in (f"/registrations/payments/{order.id}", "/registrations/payments"):
        html = page(client, url)[1]
        assert "PaymentProvider" not in html and "README" not in html
        assert "目前支持上传缴费凭证、由评价组织确认到账" in html
    html = page(client, f"/registrations/payments/{order.id}")[1]
    assert "收款账户以评价组织通知为准" in html

    app.config.update(PAYMENT_PAYEE_NAME="某某职业技能评价中心", PAYMENT_PAYEE_BANK="中国银行北京分行",
                      PAYMENT_PAYEE_ACCOUNT="6217 0000 1111 2222")
    try:
        html = page(client, f"/registrations/payments/{order.id}")[1]
    finally:
        app.config.update(PAYMENT_PAYEE_NAME="", PAYMENT_PAYEE_BANK="", PAYMENT_PAYEE_ACCOUNT="")
    assert "某某职业技能评价中心" in html and "中国银行北京分行" in html and "6217 0000 1111 2222" in html
    assert "收款账户以评价组织通知为准" not in html


def test_a_social_candidate_sees_the_fee_the_order_reference_and_amount_in_the_portal(client):
    from examadmin.candidates.models import CandidateKind
    from examadmin.registrations import payments
    from tests.conftest import login_as
    from tests.registrations.factories_payment import make_world, register
    from tests.sites.factories import make_user

    world = make_world(places=3)
    reg = register(world, kind=CandidateKind.SOCIAL, name="门户社会人")
    order = payments.create_social_order(world.school_user, world.plan.id, reg.candidate_id)
    payments.submit_voucher(world.school_user, order.id, "凭证.pdf", b"%PDF-1.4\n%test\n")
    account = make_user("candidate", school=world.school_user.school)
    account.candidate_id = reg.candidate_id
    db.session.commit()
    login_as(client, account)
    page = client.get("/portal/").get_data(as_text=True)
    row = page.split('data-testid="portal-registrations"', 1)[1].split("</table>", 1)[0]
    assert "300.00 元" in row.split('data-testid="portal-fee"', 1)[1].split("</td>", 1)[0]
    payment = row.split('data-testid="portal-payment"', 1)[1].split("</td>", 1)[0]
    assert "待确认" in payment and order.reference in payment and "金额 300.00 元" in payment
    assert "缴费截止 2030-05-31 17:00" in payment


def test_a_withdrawn_order_lists_the_registrations_it_released(client, world):
    regs = [register(world, name=f"释放{i}") for i in range(2)]
    order = payments.create_school_order(world.school_user, world.plan.id, [r.id for r in regs])
    payments.withdraw_order(world.school_user, order.id)
    db.session.commit()
    login_as(client, world.school_user)
    page = client.get(f"/registrations/payments/{order.id}").get_data(as_text=True)
    assert "撤销时释放的报考（2 条）" in page and "释放0" in page and "释放1" in page
    assert 'data-testid="released-note"' in page
