"""Background jobs of registrations and payment."""
from __future__ import annotations

from . import lapse_tasks as _lapse_tasks  # noqa: F401
