"""examadmin: administration of 1+X vocational skill-certificate exams."""
from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import config as config_module
from .config import ROOT
from .extensions import bootstrap, csrf, db, huey, limiter, login_manager, migrate


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings from the environment, then `config` on top (tests)."""
    app = Flask(__name__, template_folder=str(ROOT / "templates"), static_folder="static")
    app.config.update(config_module.load())
    if config:
        app.config.update(config)
    if app.config.get("TRUST_PROXY"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)

    from .core import web

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
#: views.py (with `bp`), and may have cli.py (with `register(app)`) and tasks.py (jobs).
AREAS = ["catalog", "pilots", "sites", "candidates", "exams", "registrations", "scheduling", "scores", "certificates", "dashboard"]


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
    from .core import audit as _audit, auth as _auth, jobs as _jobs, tasks as _tasks  # noqa: F401

    for area in AREAS:
        _area_module(area, "models")
        _area_module(area, "tasks")


def _register_blueprints(app: Flask) -> None:
    from .core.views import blueprints

    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    for area in AREAS:
        app.register_blueprint(_area_module(area, "views").bp)


def _register_cli(app: Flask) -> None:
    from . import demo
    from .core import cli as core_cli

    core_cli.register(app)
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
