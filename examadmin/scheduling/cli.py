"""`examadmin schedule`: seat scheduling from the console."""
from __future__ import annotations

import json
import sys

import click
from flask import Flask
from flask.cli import with_appcontext
from werkzeug.exceptions import HTTPException

from ..cli import actor_option
from ..core.errors import DomainError
from ..extensions import db
from .services import seats
from .services.seats import ShortfallError


def register(app: Flask) -> None:
    app.cli.add_command(schedule_command)


@click.command("schedule", help="排考：为考试计划（或其中一个站点）的已缴费考生安排考场、座位和准考证号。")
@click.option("--plan", "plan_id", type=int, required=True, help="考试计划编号")
@click.option("--site", "site_id", type=int, default=None, help="只排该考核站点（编号）")
@click.option("--seed", type=int, default=None, help="打乱座位的随机种子（默认随机，会记录以便复现）")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON：placed、already_placed、shortfall")
@actor_option
@with_appcontext
def schedule_command(plan_id, site_id, seed, as_json, actor):
    """Exit 0 when placed (or nothing to place), 1 on a shortfall or another refusal."""
    try:
        result = seats.schedule(actor, plan_id, site_id, seed=seed)
        db.session.commit()
    except ShortfallError as exc:
        db.session.rollback()
        if as_json:
            click.echo(json.dumps({"placed": 0, "already_placed": _already(exc),
                                   "shortfall": [s.as_dict() for s in exc.shortfall]}, ensure_ascii=False))
        click.echo(f"错误：{exc.message}", err=True)
        sys.exit(1)
    except DomainError as exc:
        db.session.rollback()
        click.echo(f"错误：{exc.message}", err=True)
        sys.exit(1)
    except HTTPException as exc:  # an unknown plan or site, or one outside --as's scope
        db.session.rollback()
        click.echo(f"错误：{exc.description}", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False))
    else:
        click.echo(result.message)
        for run in result.runs:
            click.echo(f"  {run.site.name}：{run.placed} 人（随机种子 {run.seed}）")


def _already(exc: ShortfallError) -> int:
    return exc.already_placed
