"""examadmin: administration of 1+X vocational skill-certificate exams."""
from __future__ import annotations

import os
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import config as config_module
from .config import ROOT

# The app's files are its own from the first one: Huey's SQLite queue is created when
# extensions.py is imported, before create_app runs (which sets the umask again).
os.umask(config_module.UMASK)

from .extensions import bootstrap, csrf, db, huey, limiter, login_manager, migrate  # noqa: E402


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings from the environment, then `config` on top (tests)."""
    # Everything the process creates (the SQLite database and its journal, Huey's queue, photos,
    # letters, exports written by xlsxwriter or reportlab) is readable by the app's user alone.
    os.umask(config_module.UMASK)
    app = Flask(__name__, template_folder=str(ROOT / "templates"), static_folder="static")
    app.config.update(config_module.load())
    if config:
        app.config.update(config)
    if app.config.get("TRUST_PROXY"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)

    from .core import personal, ratelimit as _ratelimit, requestlog, web  # noqa: F401 - the limits store

    personal.install_log_masking(app.logger)  # no whole ID or mobile number in any log line
    requestlog.install(app)  # one line per request, the slow ones with their query count
    web.install(app)  # first, so that sign-in is checked before anything else (CSRF included)
    db.init_app(app)
    migrate.init_app(app, db)
    csrf.init_app(app)
    limiter.init_app(app)
    bootstrap.init_app(app)
    _init_login(app)
    if app.config.get("HUEY_IMMEDIATE"):
        huey.immediate = True

    _import_models()
    _register_blueprints(app)
    _register_cli(app)
    _template_helpers(app)
    return app


def _init_login(app: Flask) -> None:
    from .core.auth import load_session_user

    login_manager.init_app(app)
    login_manager.user_loader(load_session_user)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录。"
    login_manager.session_protection = "basic"


#: The business areas, in the order of the yearly workflow. Each has models.py and
#: views.py (with `bp`), and may have cli.py (with `register(app)`), tasks.py (jobs) and
#: todos.py (its sources of the dashboards' to-do lists, core/todo.py).
AREAS = ["catalog", "pilots", "sites", "candidates", "exams", "registrations", "scheduling", "tickets", "portal",
         "scores", "certificates", "hours", "renewals", "dashboard"]


def _area_module(area: str, name: str):
    import importlib

    try:
        return importlib.import_module(f"{__name__}.{area}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{area}.{name}":
            raise
        return None


def _import_models() -> None:
    """Every area's models and jobs, so that metadata and the job registry are complete."""
    from .core import audit as _audit, auth as _auth, jobs as _jobs, tasks as _tasks, todo as _todo  # noqa: F401

    for area in AREAS:
        _area_module(area, "models")
        _area_module(area, "tasks")
        _area_module(area, "audit_labels")  # the audit log's Chinese field names (core.audit.register_fields)
        _area_module(area, "todos")  # the area's to-do sources for the dashboards


def _register_blueprints(app: Flask) -> None:
    from .core.views import blueprints

    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    for area in AREAS:
        app.register_blueprint(_area_module(area, "views").bp)


def _register_cli(app: Flask) -> None:
    from . import demo
    from .core import cli as core_cli, cli_backup

    core_cli.register(app)
    cli_backup.register(app)
    for area in AREAS:
        cli = _area_module(area, "cli")
        if cli is not None:
            cli.register(app)
    demo.register(app)


def _template_helpers(app: Flask) -> None:
    from .core.clock import now

    @app.template_filter("dt")
    def format_datetime(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return value.strftime(fmt) if value else ""

    app.jinja_env.globals["now"] = now
    # Links to pages of capabilities that may not be built yet are shown only when they exist.
    app.jinja_env.globals["has_endpoint"] = lambda name: name in app.view_functions
