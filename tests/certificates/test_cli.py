"""`examadmin certificates issue --plan N [--json]` runs stage three from the console."""
from __future__ import annotations

import json

from sqlalchemy import select

from examadmin.certificates import services, signing
from examadmin.certificates.models import CertificateRecord
from examadmin.certificates.pdf import demo_seal_png
from examadmin.certificates.states import CertificateState as S
from examadmin.extensions import db
from tests.certificates.factories import make_setup, qr_in_pdf


def test_issue_prints_issued_and_seconds(cli):
    s = make_setup(passed=2, failed=0)
    services.make_records(s.plan.id, s.org)
    services.org_sign(s.org, s.plan.id)
    _, token = services.start_signoff(s.school_user, s.plan.id, s.site.id)
    services.confirm_signoff(s.signer, token)
    services.upload_seal(s.org, s.plan.certificate_id, demo_seal_png("评价组织"))
    result = cli.invoke(args=["certificates", "issue", "--plan", str(s.plan.id), "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer["issued"] == 2 and answer["seconds"] >= 0
    records = db.session.scalars(select(CertificateRecord).where(CertificateRecord.plan_id == s.plan.id)).all()
    assert all(r.state == S.ISSUED and signing.verify_signature(r) for r in records)

    again = cli.invoke(args=["certificates", "issue", "--plan", str(s.plan.id), "--json"])
    assert again.exit_code == 1 and "没有待发放" in json.loads(again.output)["error"]


def test_make_records_and_issue_refuse_with_a_message(cli):
    s = make_setup(passed=1, failed=0)
    made = cli.invoke(args=["certificates", "make-records", "--plan", str(s.plan.id)])
    assert made.exit_code == 0 and "已生成 1 条证书记录" in made.output
    result = cli.invoke(args=["certificates", "issue", "--plan", str(s.plan.id)])
    assert result.exit_code == 1 and "电子印章" in result.output


def _ready_with_seal(s):
    services.make_records(s.plan.id, s.org)
    services.org_sign(s.org, s.plan.id)
    _, token = services.start_signoff(s.school_user, s.plan.id, s.site.id)
    services.confirm_signoff(s.signer, token)
    services.upload_seal(s.org, s.plan.certificate_id, demo_seal_png("评价组织"))


def test_refusals_of_the_permission_layer_answer_in_chinese_without_a_traceback(cli):
    s = make_setup(passed=1, failed=0)
    db.session.commit()  # a savepoint of the test's transaction: each refusal rolls back to here
    unknown = cli.invoke(args=["certificates", "issue", "--plan", "999999", "--json"])
    assert unknown.exit_code == 1 and isinstance(unknown.exception, SystemExit), unknown.output
    assert "不在您的管理范围内" in json.loads(unknown.output)["error"]
    username = s.school_user.username
    for args in (["issue", "--plan", str(s.plan.id), "--as", username],
                 ["make-records", "--plan", str(s.plan.id), "--as", username]):
        result = cli.invoke(args=["certificates", *args])
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
        assert "无权" in result.output and "Traceback" not in result.output
    nobody = cli.invoke(args=["certificates", "make-records", "--plan", str(s.plan.id), "--as", "nobody-here"])
    assert nobody.exit_code == 1 and "找不到用户" in nobody.output
    assert db.session.scalar(select(CertificateRecord.id).where(CertificateRecord.plan_id == s.plan.id)) is None
    empty = cli.invoke(args=["certificates", "verify", "", "", "--json"])
    assert empty.exit_code == 2 and "请填写" in json.loads(empty.output)["error"]


def test_issue_refuses_without_a_public_address_and_uses_base_url(app, cli, monkeypatch):
    from examadmin.certificates.pdf import _qr_matrix
    from examadmin.core.storage import get_storage

    s = make_setup(passed=1, failed=0)
    _ready_with_seal(s)
    db.session.commit()  # a savepoint of the test's transaction: each refusal rolls back to here
    monkeypatch.setitem(app.config, "SERVER_NAME", None)
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "")
    refused = cli.invoke(args=["certificates", "issue", "--plan", str(s.plan.id)])
    assert refused.exit_code == 1 and "--base-url" in refused.output and "PUBLIC_BASE_URL" in refused.output
    bad = cli.invoke(args=["certificates", "issue", "--plan", str(s.plan.id), "--base-url", "zs.example.cn"])
    assert bad.exit_code == 1 and "不是有效的网址" in bad.output
    record = db.session.scalar(select(CertificateRecord).where(CertificateRecord.plan_id == s.plan.id))
    assert record.state == S.READY  # nothing moved

    done = cli.invoke(args=["certificates", "issue", "--plan", str(s.plan.id), "--base-url",
                            "https://zs.example.cn/", "--json"])
    assert done.exit_code == 0, done.output
    db.session.expire_all()
    record = db.session.get(CertificateRecord, record.id)
    url = services.verify_url(record, "https://zs.example.cn/")
    assert url == f"https://zs.example.cn/certificates/v/{record.verify_code}"
    assert _qr_matrix(url) != _qr_matrix(f"http://localhost/certificates/v/{record.verify_code}")
    assert qr_in_pdf(get_storage().read(record.file_key), len(_qr_matrix(url))) == _qr_matrix(url)

