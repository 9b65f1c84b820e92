"""The `examadmin` command: Flask's CLI with the app's own commands.

Commands call the same services as the views, as the system actor unless --as names a
user, and commit once at the end; a DomainError prints its message and exits with 1.
"""
from __future__ import annotations

import functools
import sys

import click
from flask.cli import FlaskGroup, with_appcontext
from werkzeug.exceptions import HTTPException

from .core.errors import DomainError


def main() -> None:
    from . import create_app

    group = FlaskGroup(create_app=lambda: create_app(), help="1+X 考试管理系统的命令行。")
    group.main()


def domain_command(fn):
    """Commit when the command succeeds; roll back and exit 1 with the message when a rule refuses."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from .extensions import db

        try:
            result = fn(*args, **kwargs)
            db.session.commit()
            return result
        except DomainError as exc:
            db.session.rollback()
            click.echo(f"错误：{exc.message}", err=True)
            sys.exit(1)
        except HTTPException as exc:  # the permission layer's 403/404: an answer, not a traceback
            db.session.rollback()
            click.echo(f"错误：{exc.description}", err=True)
            sys.exit(1)
    return with_appcontext(wrapper)


def actor_option(fn):
    """--as USERNAME: act as that user (permission checks apply); default the system actor."""
    @click.option("--as", "as_user", default=None, help="以该用户身份执行（默认：系统管理员身份）")
    @functools.wraps(fn)
    def wrapper(*args, as_user=None, **kwargs):
        from .core.auth import SYSTEM, find_user

        try:
            actor = find_user(as_user) if as_user else SYSTEM
        except DomainError as exc:  # an unknown --as user: told so, exit 1, no traceback
            click.echo(f"错误：{exc.message}", err=True)
            sys.exit(1)
        return fn(*args, actor=actor, **kwargs)
    return wrapper
