"""Commands of the core: users, workflows, the worker and the embedded server."""
from __future__ import annotations

import signal
import sys

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
@click.option("--role", required=True,
              type=click.Choice([r.value for r in Role if r not in (Role.CANDIDATE, Role.PROCTOR)]))
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--province", "province_code", default=None, help="省份代码（省级用户）")
@click.option("--city", "city_code", default=None, help="地市代码（地市级用户）")
@click.option("--school", "school_code", default=None, help="学校标识码（院校用户）")
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
@click.option("--workers", type=click.IntRange(1, 64), envvar="JOB_WORKERS", default=2, show_default=True,
              help="任务处理线程数（默认：环境变量 JOB_WORKERS，否则 2）")
def worker(workers):
    import logging

    from ..extensions import huey

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _reap_dead_jobs()
    consumer = huey.create_consumer(workers=workers, worker_type="thread")
    consumer.run()


def _web_workers_default() -> int:
    from .serving import default_web_workers

    try:
        return default_web_workers()
    except ValueError:
        raise click.UsageError("环境变量 WEB_WORKERS 须为正整数") from None


@click.command(help="运行网页服务（gunicorn，多进程）与后台任务处理进程；--dev 为开发用的自动重载服务。")
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535), help="监听端口")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="网页进程数（默认：环境变量 WEB_WORKERS，否则 2×CPU 核数+1，最多 8）")
@click.option("--threads", type=click.IntRange(1, 64), envvar="WEB_THREADS", default=1, show_default=True,
              help="每个网页进程的线程数（大于 1 时使用 gthread）")
@click.option("--timeout", type=click.IntRange(5, 3600), envvar="WEB_TIMEOUT", default=60, show_default=True,
              help="单个请求的最长处理时间（秒），超时的网页进程被替换")
@click.option("--job-workers", type=click.IntRange(1, 64), envvar="JOB_WORKERS", default=2, show_default=True,
              help="后台任务处理线程数")
@click.option("--no-worker", is_flag=True, help="不启动后台任务处理进程（由 systemd 单独运行 examadmin worker 时）")
@click.option("--dev", is_flag=True, help="开发模式：Werkzeug 自动重载服务，后台任务在同一进程内运行")
def serve(host, port, workers, threads, timeout, job_workers, no_worker, dev):
    if dev:
        _serve_dev(host, port, job_workers, no_worker)
        return
    from . import serving

    workers = workers or _web_workers_default()
    if workers < 1:
        raise click.UsageError("环境变量 WEB_WORKERS 须为正整数")
    web = serving.Child("web", serving.web_argv(host=host, port=port, workers=workers, threads=threads,
                                                timeout=timeout, graceful_timeout=30))
    worker = None if no_worker else serving.Child("worker", serving.worker_argv(job_workers))
    sys.exit(serving.Supervisor(web, worker).run())


def _serve_dev(host, port, job_workers, no_worker):
    """Werkzeug's reloading server with the worker threads in the same process, for developers."""
    import os

    from flask import current_app
    from werkzeug.serving import run_simple

    from ..extensions import huey

    app = current_app._get_current_object()
    consumer = None
    # With the reloader this function runs in a watching parent and in the serving child;
    # only the child (WERKZEUG_RUN_MAIN) runs jobs.
    if not no_worker and os.environ.get("WERKZEUG_RUN_MAIN") == "true":
        _reap_dead_jobs()
        consumer = huey.create_consumer(workers=job_workers, worker_type="thread")
        consumer.start()
        # Huey took over SIGINT/SIGTERM for itself; give Ctrl+C back to the web server.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if os.environ.get("WERKZEUG_RUN_MAIN") == "true":
        click.echo(f"开发模式已启动：http://{host}:{port}/  （修改代码后自动重载；Ctrl+C 退出）")
    try:
        run_simple(host, port, app, use_reloader=True, use_debugger=False, threaded=True)
    except KeyboardInterrupt:
        pass
    finally:
        if consumer is not None:
            consumer.stop(graceful=True)
