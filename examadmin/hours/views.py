"""Hours pages: the holder's own records (portal), review by the school and the org, imports, requirements."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("hours", __name__, url_prefix="/hours")
