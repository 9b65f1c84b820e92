"""`examadmin registrations ...`: the 报考 import for operators and scripts, sharing the services.

Exit status as for `examadmin candidates import`: 0 when something was registered or nothing
was wrong, 1 when the input was refused, 2 on usage errors (click's own).
"""
from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext

from ..candidates.cli import finish, operator_for, refuse
from ..core.errors import DomainError
from ..extensions import db


def register(app: Flask) -> None:
    app.cli.add_command(registrations)


@click.group(help="报考与缴费。")
def registrations():
    pass


@registrations.command("import")
@click.option("--school", "school_code", required=True, help="学校标识码")
@click.option("--plan", "plan_id", required=True, type=click.IntRange(1, 2**31 - 1), help="考试计划编号")
@click.option("--valid-only", is_flag=True, help="只导入正确的行（默认：有错误就全部不导入）")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出结果")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_command(school_code, plan_id, valid_only, as_json, file):
    """从 Excel 批量导入报考（按考试计划）。"""
    from werkzeug.exceptions import NotFound

    from .importer import import_rows

    try:
        actor = operator_for(school_code)
        report = import_rows(actor, actor.school_id, plan_id, file, valid_only=valid_only,
                             file_name=Path(file).name)
    except DomainError as exc:
        refuse(exc.message, as_json)
    except NotFound:
        refuse(f"找不到编号为 {plan_id} 的已发布考试计划", as_json)
    if report.imported:
        db.session.commit()
    else:
        db.session.rollback()
    lines = [f"共 {report.rows} 行：报考 {report.created}，空行 {report.skipped_blank}，"
             f"{'已导入' if report.imported else '有错误，未导入任何数据'}"]
    lines += [f"第 {p.row} 行 {p.column}：{p.message}" for p in report.errors]
    lines += [f"提示 第 {p.row} 行 {p.column}：{p.message}" for p in report.warnings]
    finish(report.as_dict(), as_json, report.imported, "\n".join(lines))


from .cli_lapse import add_commands as _add_payment_commands  # noqa: E402

_add_payment_commands(registrations)  # `lapse`
