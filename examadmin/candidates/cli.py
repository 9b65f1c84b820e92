"""`examadmin candidates ...`: imports for operators and scripts, sharing the services.

Exit status: 0 when something was imported or nothing was wrong, 1 when the input was
refused, 2 on usage errors (click's own).
"""
from __future__ import annotations

import json
import sys

import click
from flask import Flask
from flask.cli import with_appcontext

from ..core.errors import DomainError
from ..core.roles import Role
from ..extensions import db


def register(app: Flask) -> None:
    app.cli.add_command(candidates)


class SchoolOperator:
    """An operator at the console acting for one school: a school user's rights, that school's scope."""

    id = None
    role = Role.SCHOOL
    city_id = candidate_id = None
    is_signer = False
    is_authenticated = True
    name = "系统（命令行）"

    def __init__(self, school):
        self.school_id, self.province_id, self.city_id = school.id, school.province_id, school.city_id
        self.school = school


def operator_for(code: str) -> SchoolOperator:
    from ..catalog.services import find_school

    return SchoolOperator(find_school(code))


def finish(result: dict, as_json: bool, ok: bool, text: str) -> None:
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
    else:
        click.echo(text)
    sys.exit(0 if ok else 1)


def refuse(message: str, as_json: bool) -> None:
    db.session.rollback()
    if as_json:
        click.echo(json.dumps({"imported": False, "errors": [{"row": None, "column": None, "message": message}]},
                              ensure_ascii=False))
    else:
        click.echo(f"错误：{message}", err=True)
    sys.exit(1)


@click.group(help="考生管理。")
def candidates():
    pass


@candidates.command("import")
@click.option("--school", "school_code", required=True, help="学校标识码")
@click.option("--valid-only", is_flag=True, help="只导入正确的行（默认：有错误就全部不导入）")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出结果")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_command(school_code, valid_only, as_json, file):
    """从 Excel 导入考生。"""
    from pathlib import Path

    from .importer import import_rows

    try:
        actor = operator_for(school_code)
        report = import_rows(actor, actor.school_id, file, valid_only=valid_only, file_name=Path(file).name)
    except DomainError as exc:
        refuse(exc.message, as_json)
    if report.imported:
        db.session.commit()
    else:
        db.session.rollback()
    lines = [f"共 {report.rows} 行：新增 {report.created}，更新 {report.updated}，未变 {report.unchanged}，"
             f"空行 {report.skipped_blank}，{'已导入' if report.imported else '有错误，未导入任何数据'}"]
    lines += [f"第 {p.row} 行 {p.column}：{p.message}" for p in report.errors]
    lines += [f"提示 第 {p.row} 行 {p.column}：{p.message}" for p in report.warnings]
    finish(report.as_dict(), as_json, report.imported, "\n".join(lines))


@candidates.command("photos")
@click.option("--school", "school_code", required=True, help="学校标识码")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出结果")
@click.argument("zip_file", metavar="ZIP", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def photos_command(school_code, as_json, zip_file):
    """从 zip 压缩包导入考生照片（文件名为证件号码）。"""
    from pathlib import Path

    from .photos import PhotoReport, import_photos, release_reads

    name = Path(zip_file).name
    try:
        actor = operator_for(school_code)
        report = import_photos(actor, actor.school_id, zip_file, file_name=name, release=release_reads)
    except DomainError as exc:
        db.session.rollback()
        result = {**PhotoReport().as_dict(),
                  "errors": [{"file": getattr(exc, "file", name), "message": exc.message}]}
        if as_json:
            click.echo(json.dumps(result, ensure_ascii=False))
        else:
            click.echo(f"错误：{exc.message}", err=True)
        sys.exit(1)
    if report.ok:
        db.session.commit()
    else:
        db.session.rollback()
    lines = [f"共 {report.files} 个照片文件：新上传 {report.attached}，替换 {report.replaced}，未导入 {report.skipped}"
             + (f"；另有 {report.others} 个非照片文件已跳过" if report.others else "")]
    lines += [f"{p.file}：{p.message}" for p in report.errors]
    lines += [f"提示：{n}" for n in report.notices]
    finish(report.as_dict(), as_json, report.ok, "\n".join(lines))
