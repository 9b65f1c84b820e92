"""`examadmin certificates verify NUMBER ID_NUMBER [--json]`."""
from __future__ import annotations

import json

from examadmin.extensions import db

from .factories_issued import make_plan_and_site, make_record


def test_verify_prints_the_answer_and_the_signature(cli):
    plan, site, _ = make_plan_and_site()
    record = make_record(plan, site, name="赵六")
    db.session.flush()
    result = cli.invoke(args=["certificates", "verify", record.number, record.id_number, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["status"] == "有效" and data["signature_ok"] is True and data["name"] == "赵六"
    assert record.id_number not in result.output

    text = cli.invoke(args=["certificates", "verify", record.number, record.id_number])
    assert "查验结果：有效" in text.output and "电子签名：有效" in text.output

    db.session.execute(db.text("UPDATE certificate_record SET gender = '女' WHERE id = :id"), {"id": record.id})
    db.session.execute(db.text("UPDATE certificate_record SET name = '赵七' WHERE id = :id"), {"id": record.id})
    db.session.expire_all()
    broken = cli.invoke(args=["certificates", "verify", record.number, record.id_number, "--json"])
    assert broken.exit_code == 1
    assert json.loads(broken.output)["signature_ok"] is False


def test_verify_mistyped_and_unknown(cli):
    plan, site, _ = make_plan_and_site()
    record = make_record(plan, site)
    typo = record.number[:-1] + ("1" if record.number[-1] != "1" else "2")
    result = cli.invoke(args=["certificates", "verify", typo, record.id_number, "--json"])
    assert result.exit_code == 1 and json.loads(result.output)["status"] == "证书编号有误"
    result = cli.invoke(args=["certificates", "verify", record.number, "110101199001011234"])
    assert result.exit_code == 1 and "未找到" in result.output
    result = cli.invoke(args=["certificates", "verify", "", ""])
    assert result.exit_code == 2 and "请填写" in result.output
