"""Seat scheduling, proctors, admission tickets and check-in pages."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("scheduling", __name__, url_prefix="/scheduling")
