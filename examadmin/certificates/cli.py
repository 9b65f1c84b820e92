"""`examadmin certificates ...`: issuance from the console (the verification commands join this group)."""
from __future__ import annotations

import functools
import json
import time

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from werkzeug.exceptions import HTTPException

from ..cli import actor_option
from ..core import permissions
from ..core.errors import DomainError
from ..extensions import db
from . import cli_verify
from .cli_verify import fail as _fail


@click.group("certificates", help="证书：生成证书记录、发放电子证书、查验。")
def group() -> None:
    pass


def register(app: Flask) -> None:
    app.cli.add_command(group)


def refusals_answered(fn):
    """A refusal (a rule, an unknown --as user, a role without the right, a record outside the
    scope) ends the command through `_fail`: the message in Chinese and exit 1, no traceback."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        as_json = bool(kwargs.get("as_json"))
        try:
            return fn(*args, **kwargs)
        except DomainError as exc:
            _fail(exc.message, as_json)
        except permissions.NotInScope:
            _fail("找不到该考试计划，或它不在您的管理范围内", as_json)
        except permissions.ForbiddenAction:
            _fail("您的角色无权执行此操作", as_json)
        except HTTPException as exc:  # any other refusal a service raises as an HTTP error
            _fail(exc.description or "操作被拒绝", as_json)
    return wrapper


@group.command("make-records", help="为成绩已发布的考试计划中每个合格的结果生成证书记录（可重复执行）。")
@click.option("--plan", "plan_id", type=int, required=True, help="考试计划编号")
@with_appcontext
@refusals_answered
@actor_option
def make_records_command(plan_id, actor):
    from . import services

    made = services.make_records(plan_id, actor)
    held = services.holders_without_new_record(actor, plan_id)
    db.session.commit()
    click.echo(f"已生成 {made} 条证书记录")
    if held:
        click.echo(f"{len(held)} 人已持有该等级的有效证书，未重复生成：{'、'.join(held)}")


def _public_base(base_url: str | None) -> str:
    """The address the QR codes carry: PUBLIC_BASE_URL, else --base-url, else SERVER_NAME; none: refused.

    A console has no request to take the address from, and a QR code printed with a wrong one
    cannot be corrected afterwards.
    """
    from urllib.parse import urlsplit

    if base_url:
        parts = urlsplit(base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise DomainError(f"--base-url「{base_url}」不是有效的网址，应形如 https://zs.example.cn")
        base_url = base_url.strip()
    config = current_app.config
    if config.get("PUBLIC_BASE_URL") or base_url:
        return config.get("PUBLIC_BASE_URL") or base_url
    if config.get("SERVER_NAME"):
        scheme = "https" if config.get("PREFERRED_URL_SCHEME") == "https" else "http"
        return f"{scheme}://{config['SERVER_NAME']}"
    raise DomainError("不知道证书二维码应指向的公网地址：请用 --base-url 指定（如 --base-url https://zs.example.cn），"
                      "或设置环境变量 PUBLIC_BASE_URL")


@group.command("issue", help="发放（第三阶段）：为考试计划中待发放的证书编号、签名并生成电子证书。")
@click.option("--plan", "plan_id", type=int, required=True, help="考试计划编号")
@click.option("--base-url", "base_url", default=None,
              help="证书二维码中查验网址的公网地址（如 https://zs.example.cn）；已设置 PUBLIC_BASE_URL 时以其为准")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON：issued、seconds")
@with_appcontext
@refusals_answered
@actor_option
def issue_command(plan_id, base_url, as_json, actor):
    """Moves the plan's 待发放 records and generates their e-certificates in one transaction."""
    from . import services

    started = time.perf_counter()
    services.issue(actor, plan_id, as_job=False)  # permission and records first: their refusals come first
    issued = services.generate(actor, plan_id, base_url=_public_base(base_url))
    db.session.commit()
    seconds = round(time.perf_counter() - started, 2)
    if as_json:
        click.echo(json.dumps({"issued": issued, "seconds": seconds}))
    else:
        click.echo(f"已发放 {issued} 份电子证书，用时 {seconds} 秒")



cli_verify.add_commands(group)  # `verify`
