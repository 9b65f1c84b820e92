"""`examadmin certificates verify NUMBER ID_NUMBER [--json]`: the public verification at the console."""
from __future__ import annotations

import json
import sys

import click
from flask.cli import with_appcontext
from werkzeug.exceptions import HTTPException

from ..core.errors import DomainError
from ..extensions import db
from . import verification


def fail(message: str, as_json: bool, status: int = 1) -> None:
    """End a certificates command with the message in Chinese (JSON with --json) and `status`."""
    db.session.rollback()
    if as_json:
        click.echo(json.dumps({"error": message}, ensure_ascii=False))
    else:
        click.echo(f"错误：{message}", err=True)
    sys.exit(status)


def add_commands(group: click.Group) -> None:
    group.add_command(verify_command)


@click.command("verify", help="查验证书：按证书编号和证件号码查询，并校验电子签名。")
@click.argument("number")
@click.argument("id_number")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON（含 signature_ok：电子签名是否有效）")
@with_appcontext
def verify_command(number, id_number, as_json):
    """Exit 0 for a valid certificate, 1 when not found, mistyped, revoked or its signature is broken."""
    try:
        answer = verification.verify_by_number(number, id_number, ip="cli")
        db.session.commit()
    except DomainError as exc:
        fail(exc.message, as_json, 2)
    except HTTPException as exc:  # a refusal a service raises as an HTTP error: a message, no traceback
        fail(exc.description or "查验被拒绝", as_json, 2)
    if as_json:
        click.echo(json.dumps(answer.as_json(), ensure_ascii=False))
    else:
        click.echo(f"查验结果：{answer.status}")
        click.echo(answer.message)
        if answer.found:
            for label, value in (("姓名", answer.name), ("证件号码", answer.id_number_masked),
                                 ("证书名称", answer.certificate), ("证书等级", answer.level),
                                 ("证书编号", answer.number), ("发证日期", answer.issue_date),
                                 ("发证机构", answer.org_name), ("证书状态", answer.state),
                                 ("电子签名", "有效" if answer.signature_ok else "无效")):
                click.echo(f"{label}：{value}")
    sys.exit(0 if answer.status == verification.VALID else 1)
