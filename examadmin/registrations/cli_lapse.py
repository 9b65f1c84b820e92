"""`examadmin registrations lapse`: lapse overdue unpaid registrations now (the scheduled job
runs the same function every 10 minutes).

Exit status: 0 when the run finished (whether or not anything lapsed), 1 when refused
(an unknown plan).
"""
from __future__ import annotations

import json
import sys

import click
from flask.cli import with_appcontext

from ..extensions import db


def add_commands(group: click.Group) -> None:
    group.add_command(lapse_command)


@click.command("lapse", help="将已过缴费截止时间仍未缴费的报考标记为「已放弃（未缴费）」，并退回其占用的指标。")
@click.option("--plan", "plan_id", type=int, default=None, help="只处理该考试计划（编号）")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出 {\"lapsed\": N, \"places_returned\": M}")
@with_appcontext
def lapse_command(plan_id, as_json):
    from ..exams.models import ExamPlan
    from .lapse import lapse_overdue

    if plan_id is not None and (not 0 < plan_id < 2**31 or db.session.get(ExamPlan, plan_id) is None):
        message = f"考试计划 {plan_id} 不存在"
        click.echo(json.dumps({"error": message}, ensure_ascii=False) if as_json else f"错误：{message}",
                   err=not as_json)
        sys.exit(1)
    result = lapse_overdue(plan_id=plan_id)
    db.session.commit()
    if as_json:
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False))
    else:
        click.echo(f"逾期未缴费自动放弃的报考：{result.lapsed} 条，退回指标：{result.places_returned} 个。")
