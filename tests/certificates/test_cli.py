"""`examadmin certificates issue --plan N [--json]` runs stage three from the console."""
from __future__ import annotations

import json

from sqlalchemy import select

from examadmin.certificates import services, signing
from examadmin.certificates.models import CertificateRecord
from examadmin.certificates.pdf import demo_seal_png
from examadmin.certificates.states import CertificateState as S
from examadmin.extensions import db
from tests.certificates.factories import make_setup


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
