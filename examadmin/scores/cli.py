"""`examadmin scores import|publish`: score import and publication from the console.

Exit status (as the other imports): 0 when something was imported or nothing was wrong,
1 when the input or the step was refused, 2 on usage errors (click's own).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext
from werkzeug.exceptions import HTTPException

from ..candidates.cli import finish, refuse
from ..core.errors import DomainError
from ..core.roles import Role
from ..extensions import db


def register(app: Flask) -> None:
    app.cli.add_command(scores)


class OrgOperator:
    """An operator at the console acting for the evaluation organisation (scores are the org's work)."""

    id = None
    username = "system"
    name = "系统（命令行）"
    role = Role.ORG
    province_id = city_id = school_id = candidate_id = None
    is_signer = False
    is_authenticated = True


def _actor(as_user: str | None):
    if not as_user:
        return OrgOperator()
    from ..core.auth import find_user

    return find_user(as_user)


@click.group(help="科目成绩：导入与发布。")
def scores():
    pass


@scores.command("import")
@click.option("--plan", "plan_id", type=int, required=True, help="考试计划编号")
@click.option("--valid-only", is_flag=True, help="只导入正确的行（默认：有错误就全部不导入）")
@click.option("--reason", default="", help="修改原因（成绩公示开始后必填）")
@click.option("--as", "as_user", default=None, help="以该评价组织用户身份执行")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出结果")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_command(plan_id, valid_only, reason, as_user, as_json, file):
    """从 Excel 导入科目成绩（按准考证号）。"""
    from .importer import import_rows

    try:
        report = import_rows(_actor(as_user), plan_id, file, valid_only=valid_only, reason=reason,
                             file_name=Path(file).name)
    except DomainError as exc:
        refuse(exc.message, as_json)
    except HTTPException as exc:  # an unknown plan, or a user who may not enter scores
        refuse(exc.description, as_json)
    if report.imported:
        db.session.commit()
    else:
        db.session.rollback()
    lines = [f"共 {report.rows} 行：修改 {report.changed}，未变 {report.unchanged}，空行或未填写 {report.skipped_blank}，"
             f"{'已导入' if report.imported else '有错误，未导入任何数据'}"]
    lines += [f"第 {p.row} 行 {p.column}：{p.message}" for p in report.errors]
    finish(report.as_dict(), as_json, report.imported, "\n".join(lines))


@scores.command("publish")
@click.option("--plan", "plan_id", type=int, required=True, help="考试计划编号")
@click.option("--stage", type=click.Choice(["display", "final"]), required=True,
              help="display：开始公示；final：发布最终成绩")
@click.option("--days", type=int, default=5, show_default=True, help="公示天数（--stage display）")
@click.option("--as", "as_user", default=None, help="以该评价组织用户身份执行")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出结果")
@with_appcontext
def publish_command(plan_id, stage, days, as_user, as_json):
    """开始成绩公示或发布最终成绩。"""
    from . import services

    try:
        actor = _actor(as_user)
        if stage == "display":
            pub = services.open_display(actor, plan_id, days)
        else:
            pub = services.publish_final(actor, plan_id)
        counts = services.summary(pub.plan_id)
        db.session.commit()
    except (DomainError, HTTPException) as exc:
        db.session.rollback()
        message = exc.message if isinstance(exc, DomainError) else exc.description
        if as_json:
            click.echo(json.dumps({"ok": False, "error": message}, ensure_ascii=False))
        click.echo(f"错误：{message}", err=True)
        sys.exit(1)
    result = {"ok": True, "plan_id": pub.plan_id, "stage": pub.stage.value,
              "display_ends_at": pub.display_ends_at.isoformat(sep=" ") if pub.display_ends_at else None,
              "passed": counts["passed"], "failed": counts["not_passed"],
              "absent": counts["absent"], "violation": counts["violation"]}
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
    else:
        extra = f"，公示期至 {pub.display_ends_at:%Y-%m-%d %H:%M}" if stage == "display" else ""
        click.echo(f"考试计划 {pub.plan_id}：{pub.stage.value}{extra}；合格 {counts['passed']} 人，不合格 {counts['failed']} 人")
