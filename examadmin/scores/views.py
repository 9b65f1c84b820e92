"""Score entry, publication, objections, statistics and the public score lookup."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("scores", __name__, url_prefix="/scores")

from . import views_public  # noqa: E402,F401  (statistics, the candidate's scores, the public lookup)
