"""Commands for master data."""
from __future__ import annotations

import click
from flask import Flask

from ..cli import actor_option, domain_command
from ..config import ROOT
from . import services


def register(app: Flask) -> None:
    app.cli.add_command(catalog)


@click.group(help="基础数据。")
def catalog():
    pass


@catalog.command("load-majors")
@click.argument("path", type=click.Path(exists=True, dir_okay=False),
                default=str(ROOT / "sample_data" / "majors.csv"))
@actor_option
@domain_command
def load_majors(path, actor):
    """从 CSV 导入专业目录（已有的行保持不变）。"""
    result = services.load_majors_csv(actor, path)
    click.echo(f"新增专业 {result['added']} 个")


@catalog.command("seed")
@actor_option
@domain_command
def seed(actor):
    """载入随系统提供的基础数据：省份、专业目录、社会心理服务证书及其等级（可重复执行）。"""
    added = services.seed_reference_data(actor, ROOT / "sample_data")
    click.echo(f"新增省份 {added['provinces']} 个，专业 {added['majors']} 个，证书 {added['certificates']} 个")
