"""Certificate issuance, the QR sign-off, downloads, revocation and public verification."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("certificates", __name__, url_prefix="/certificates")
from . import views_public  # noqa: E402,F401  (verification, downloads, paper, revocation)
