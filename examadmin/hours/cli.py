"""`examadmin hours import`: a training provider's hours list from the console.

Exit status (as the other imports): 0 when something was imported or nothing was wrong,
1 when the input was refused, 2 on usage errors (click's own).
"""
from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext
from werkzeug.exceptions import HTTPException

from ..candidates.cli import finish, refuse
from ..core.errors import DomainError
from ..extensions import db
from ..scores.cli import OrgOperator


def register(app: Flask) -> None:
    app.cli.add_command(hours)


def _actor(as_user: str | None):
    if not as_user:
        return OrgOperator()  # the org's work: providers' lists arrive at the org
    from ..core.auth import find_user

    return find_user(as_user)


@click.group(help="持证后学时：导入培训机构的学时名单。")
def hours():
    pass


@hours.command("import")
@click.option("--valid-only", is_flag=True, help="只导入正确的行（默认：有错误就全部不导入）")
@click.option("--as", "as_user", default=None, help="以该评价组织或院校用户身份执行（默认：评价组织）")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出结果")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_command(valid_only, as_user, as_json, file):
    """从 Excel 导入学时（列：证件号码、姓名、类别、日期、机构、学时）。"""
    from .importer import import_rows

    try:
        report = import_rows(_actor(as_user), file, valid_only=valid_only, file_name=Path(file).name)
    except DomainError as exc:
        refuse(exc.message, as_json)
    except HTTPException as exc:  # a user who may not import hours
        refuse(exc.description, as_json)
    if report.imported:
        db.session.commit()
    else:
        db.session.rollback()
    lines = [f"共 {report.rows} 行：新增 {report.created}，已导入过 {report.unchanged}，空行 {report.skipped_blank}，"
             f"{'已导入' if report.imported else '有错误，未导入任何数据'}"]
    lines += [f"第 {p.row} 行 {p.column}：{p.message}" for p in report.errors]
    finish(report.as_dict(), as_json, report.imported, "\n".join(lines))
