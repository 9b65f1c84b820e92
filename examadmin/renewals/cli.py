"""`examadmin renewals ...`: reminders and validity from the console."""
from __future__ import annotations

import json
import sys
from datetime import date

import click
from flask import Flask
from flask.cli import with_appcontext

from ..extensions import db


@click.group("renewals", help="持证后管理：再登记提醒。")
def group() -> None:
    pass


def register(app: Flask) -> None:
    app.cli.add_command(group)


@group.command("remind", help="向再登记窗口已开放、或距有效期届满一个月的持证人发送提醒（每人每类每周期只发一次）。")
@click.option("--date", "on", default=None, help="按该日期计算（YYYY-MM-DD，默认今天）")
@click.option("--allow-future", is_flag=True,
              help="仅供测试：允许晚于今天的日期（将发出今天尚不成立的提醒，生产环境勿用）")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出 reminded、emailed、no_address、failed")
@with_appcontext
def remind_command(on, allow_future, as_json):
    from ..core import clock
    from .reminders import send_due_reminders

    today = None
    if on:
        try:
            today = date.fromisoformat(on)
        except ValueError:
            click.echo(f"错误：日期「{on}」格式不正确，应为 YYYY-MM-DD", err=True)
            sys.exit(1)
        if today > clock.now().date() and not allow_future:
            click.echo(f"错误：日期 {today} 晚于今天（{clock.now().date()}），按该日期发出的提醒今天尚不成立；"
                       "仅在测试时可加 --allow-future", err=True)
            sys.exit(1)
    outcome = send_due_reminders(today)
    db.session.commit()
    if as_json:
        click.echo(json.dumps(outcome.as_dict(), ensure_ascii=False))
    else:
        click.echo(f"已提醒 {outcome.reminded} 人次：邮件 {outcome.emailed}，未登记邮箱 {outcome.no_address}，"
                   f"发送失败 {outcome.failed}。")
