"""`examadmin tickets`: write a plan's admission tickets into one PDF."""
from __future__ import annotations

import json
import time

import click
from flask import Flask

from ..cli import actor_option, domain_command
from . import services


def register(app: Flask) -> None:
    app.cli.add_command(tickets_command)


@click.command("tickets")
@click.option("--plan", "plan_id", type=int, required=True, help="考试计划编号")
@click.option("--site", "site_id", type=int, default=None, help="只生成该考核站点（编号）的准考证")
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), required=True, help="输出的 PDF 文件")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出 {\"pages\", \"seconds\"}")
@actor_option
@domain_command
def tickets_command(plan_id, site_id, out, as_json, actor):
    """生成考试计划的准考证（每位考生一页 A4，合并为一个 PDF；仅在准考证下载时间内）。"""
    started = time.perf_counter()
    pages = services.write_plan_tickets(actor, plan_id, out, site_id=site_id)
    seconds = round(time.perf_counter() - started, 3)
    if as_json:
        click.echo(json.dumps({"pages": pages, "seconds": seconds}))
    else:
        click.echo(f"已生成 {pages} 页准考证：{out}（{seconds} 秒）")
