"""Commands of the core: users, workflows, the worker and the embedded server."""
from __future__ import annotations

import signal

import click
from flask import Flask

from ..cli import actor_option, domain_command
from . import auth
from .roles import Role


def register(app: Flask) -> None:
    app.cli.add_command(users)
    app.cli.add_command(workflows)
    app.cli.add_command(worker)
    app.cli.add_command(serve)


@click.group(help="账号管理。")
def users():
    pass


@users.command("create")
@click.option("--username", required=True)
@click.option("--name", required=True, help="姓名")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--province", "province_code", default=None, help="省份代码（省级用户）")
@click.option("--city", "city_code", default=None, help="地市代码（地市级用户）")
@click.option("--school", "school_code", default=None, help="学校标识码（院校用户、考生）")
@click.option("--signer", is_flag=True, help="设为签发负责人")
@actor_option
@domain_command
def users_create(username, name, role, password, province_code, city_code, school_code, signer, actor):
    from sqlalchemy import select

    from ..catalog.models import City, Province
    from ..catalog.services import find_school
    from ..extensions import db

    province = db.session.scalar(select(Province).where(Province.code == province_code)) if province_code else None
    city = db.session.scalar(select(City).where(City.code == city_code)) if city_code else None
    school = find_school(school_code) if school_code else None
    user = auth.create_user(
        actor, username=username, name=name, role=role, password=password,
        province_id=province.id if province else None, city_id=city.id if city else None,
        school_id=school.id if school else None, is_signer=signer, must_change_password=False,
    )
    click.echo(f"已创建用户 {user.username}（{user.role_label}，{user.scope_label}）")


@users.command("disable")
@click.argument("username")
@actor_option
@domain_command
def users_disable(username, actor):
    user = auth.set_user_active(actor, auth.find_user(username).id, False)
    click.echo(f"已停用 {user.username}，其所有登录已结束")


@users.command("enable")
@click.argument("username")
@actor_option
@domain_command
def users_enable(username, actor):
    user = auth.set_user_active(actor, auth.find_user(username).id, True)
    click.echo(f"已启用 {user.username}")


@users.command("reset-password")
@click.argument("username")
@click.option("--password", default=None, help="新密码（默认随机生成并打印）")
@actor_option
@domain_command
def users_reset_password(username, password, actor):
    user, new_password = auth.reset_password(actor, auth.find_user(username).id, password)
    click.echo(f"{user.username} 的新密码：{new_password}（首次登录须修改）")


@click.command(help="打印每个业务领域的状态机（状态与允许的流转）。")
def workflows():
    from . import workflow

    for machine in workflow.REGISTRY:
        click.echo(f"\n== {machine.name}：{' / '.join(s.value for s in machine.states)}")
        for source, action, target, who, note in machine.describe():
            line = f"  {source:<24} --{action}--> {target:<10} [{who}]"
            click.echo(line + (f"  ({note})" if note else ""))


def _reap_dead_jobs() -> None:
    """Jobs left 运行中 by a process that died (a crash, a killed worker) end 失败 now."""
    from ..extensions import db
    from .job_liveness import reap_dead_jobs

    count = reap_dead_jobs()
    db.session.commit()
    if count:
        click.echo(f"{count} 个任务的处理进程已意外退出，已标记为失败（可在任务页面重新运行）")


@click.command(help="运行后台任务处理进程（Huey）。")
@click.option("--workers", default=2, show_default=True)
def worker(workers):
    import logging

    from ..extensions import huey

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _reap_dead_jobs()
    consumer = huey.create_consumer(workers=workers, worker_type="thread")
    consumer.run()


@click.command(help="内置模式：在同一进程中运行网页服务与后台任务处理。")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
def serve(host, port):
    from flask import current_app
    from werkzeug.serving import make_server

    from ..extensions import huey

    app = current_app._get_current_object()
    _reap_dead_jobs()
    consumer = huey.create_consumer(workers=2, worker_type="thread")
    consumer.start()  # worker threads in this process
    # Huey took over SIGINT/SIGTERM for itself; give Ctrl+C back to the web server.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    click.echo(f"考试管理系统已启动：http://{host}:{port}/  （Ctrl+C 退出）")
    try:
        # werkzeug's server directly: Flask ignores app.run() inside its own CLI, and
        # run_simple would print its red "development server" warning at every start. This
        # embedded mode is meant for one school or a demo; README names the production setup.
        make_server(host, port, app, threaded=True).serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        consumer.stop(graceful=True)
