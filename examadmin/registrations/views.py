"""Registration (报考管理) and payment (缴费管理) pages."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("registrations", __name__, url_prefix="/registrations")
from . import views_payment  # noqa: E402,F401
