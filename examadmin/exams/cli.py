"""Commands for exam plans."""
from __future__ import annotations

import click
from flask import Flask

from ..cli import actor_option, domain_command
from ..extensions import db
from .services import plans, rooms


def register(app: Flask) -> None:
    app.cli.add_command(exams)


@click.group(help="考试计划与考场。")
def exams():
    pass


@exams.command("list")
@actor_option
@domain_command
def list_command(actor):
    """列出考试计划：编号、状态、报考期间、场次数。"""
    for plan in db.session.scalars(plans.list_plans(actor)):
        click.echo(f"{plan.id:>5}  {plan.state.value}  {plan.registration_start:%Y-%m-%d %H:%M} 至 "
                   f"{plan.registration_end:%Y-%m-%d %H:%M}  场次 {len(plan.sessions)}  {plan.name}")


@exams.command("publish")
@click.argument("plan_id", type=int)
@actor_option
@domain_command
def publish_command(plan_id, actor):
    """发布考试计划（院校随后可见）。"""
    plan = plans.publish_plan(actor, plan_id)
    click.echo(f"已发布「{plan.name}」")


@exams.command("withdraw")
@click.argument("plan_id", type=int)
@actor_option
@domain_command
def withdraw_command(plan_id, actor):
    """撤回已发布的考试计划（尚无考场时）。"""
    plan = plans.withdraw_plan(actor, plan_id)
    click.echo(f"已撤回「{plan.name}」为草稿")


@exams.command("seats")
@click.argument("plan_id", type=int)
@click.option("--site", "site_id", type=int, default=None, help="只看该站点（编号）")
@actor_option
@domain_command
def seats_command(plan_id, site_id, actor):
    """各站点每个场次的考场数与座位数。"""
    rows = rooms.seat_summary(actor, plan_id, site_id)
    if not rows:
        click.echo("没有站点为该计划设置考场")
    for row in rows:
        click.echo(row.site.name)
        for cell in row.sessions:
            click.echo(f"  {cell.session.label}  考场 {cell.rooms}  座位 {cell.seats}")
