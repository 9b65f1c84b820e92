"""`examadmin backup OUT` and `examadmin restore IN` (the rules live in core/backup.py)."""
from __future__ import annotations

import click
from flask import Flask

from ..cli import domain_command


def register(app: Flask) -> None:
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


@click.command("backup", help="备份数据库、存储目录中的文件与实例密钥，写成一个 .tar.gz 文件（权限 600）。"
                              "OUT 为文件名，或一个目录（在其中新建带时间的文件名）。")
@click.argument("out", type=click.Path(dir_okay=True, file_okay=True))
@click.option("--keep", type=int, default=None,
              help="OUT 为目录时，只保留最新的这么多份备份（更早的删除）")
@domain_command
def backup_command(out, keep):
    from . import backup

    result = backup.backup(out, keep=keep)
    click.echo(f"备份完成：{result.path}（{_size(result.size)}；{result.tables} 张表 {result.rows} 行，"
               f"{result.files} 个存储文件）")
    if not result.secret_key_in_archive:
        click.echo("注意：SECRET_KEY 由环境变量设置，不在备份中；请另行保管环境文件（如 /etc/examadmin/examadmin.env）。")
    for path in result.removed:
        click.echo(f"已删除较早的备份：{path.name}")
    click.echo("备份中含全部考生个人信息：请加密保存，并另存一份到本机以外的地方。")


@click.command("restore", help="从 examadmin backup 生成的文件恢复到本安装（应为新安装：数据库为空、存储目录为空）。")
@click.argument("archive", metavar="IN", type=click.Path(exists=False))
@click.option("--force", is_flag=True, help="目标数据库或存储目录已有数据时仍然恢复：数据库被备份内容整体替换")
@domain_command
def restore_command(archive, force):
    from . import backup

    result = backup.restore(archive, force=force)
    click.echo(f"恢复完成：{result.created_at} 的备份，{result.tables} 张表 {result.rows} 行，"
               f"{result.files} 个存储文件，行数与文件校验均与备份清单一致。")
    if result.storage_left:
        click.echo(f"存储目录中另有 {result.storage_left} 个备份之外的文件，已保留未动。")
    if result.needs_upgrade:
        click.echo(f"备份的数据库迁移版本为 {result.revision}，早于本程序：请运行 `examadmin db upgrade`。")
    click.echo("请重启网页服务与后台任务进程（systemctl restart examadmin-web examadmin-worker）。")
