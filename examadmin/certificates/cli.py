"""`examadmin certificates ...`: certificate commands at the console."""
from __future__ import annotations

from flask import Flask
from flask.cli import AppGroup

from . import cli_verify

certificates_group = AppGroup("certificates", help="证书：发放、查验。")
cli_verify.add_commands(certificates_group)


def register(app: Flask) -> None:
    app.cli.add_command(certificates_group)


