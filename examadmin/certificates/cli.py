"""`examadmin certificates ...`: issuance from the console (the verification commands join this group)."""
from __future__ import annotations

import json
import sys
import time

import click
from flask import Flask
from flask.cli import with_appcontext

from ..cli import actor_option
from ..core.errors import DomainError
from ..extensions import db


@click.group("certificates", help="证书：生成证书记录、发放电子证书、查验。")
def group() -> None:
    pass


def register(app: Flask) -> None:
    app.cli.add_command(group)


def _fail(message: str, as_json: bool) -> None:
    db.session.rollback()
    if as_json:
        click.echo(json.dumps({"error": message}, ensure_ascii=False))
    else:
        click.echo(f"错误：{message}", err=True)
    sys.exit(1)


@group.command("make-records", help="为成绩已发布的考试计划中每个通过的结果生成证书记录（可重复执行）。")
@click.option("--plan", "plan_id", type=int, required=True, help="考试计划编号")
@actor_option
@with_appcontext
def make_records_command(plan_id, actor):
    from . import services

    try:
        made = services.make_records(plan_id, actor)
        db.session.commit()
    except DomainError as exc:
        _fail(exc.message, False)
    click.echo(f"已生成 {made} 条证书记录")


@group.command("issue", help="发放（第三阶段）：为考试计划中待发放的证书编号、签名并生成电子证书。")
@click.option("--plan", "plan_id", type=int, required=True, help="考试计划编号")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON：issued、seconds")
@actor_option
@with_appcontext
def issue_command(plan_id, as_json, actor):
    """Moves the plan's 待发放 records and generates their e-certificates in one transaction."""
    from . import services

    started = time.perf_counter()
    try:
        services.issue(actor, plan_id, as_job=False)
        issued = services.generate(actor, plan_id)
        db.session.commit()
    except DomainError as exc:
        _fail(exc.message, as_json)
    seconds = round(time.perf_counter() - started, 2)
    if as_json:
        click.echo(json.dumps({"issued": issued, "seconds": seconds}))
    else:
        click.echo(f"已发放 {issued} 份电子证书，用时 {seconds} 秒")


from . import cli_verify  # noqa: E402

cli_verify.add_commands(group)  # `verify`
