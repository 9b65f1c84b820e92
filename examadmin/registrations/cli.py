"""`examadmin registrations ...`: registration and payment commands for operators and scripts."""
from __future__ import annotations

import click
from flask import Flask


@click.group("registrations", help="报考与缴费。")
def registrations() -> None:
    pass


def register(app: Flask) -> None:
    from .cli_lapse import add_commands

    add_commands(registrations)
    app.cli.add_command(registrations)
