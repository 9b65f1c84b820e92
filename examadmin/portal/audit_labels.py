"""The audit log's Chinese names for candidate accounts."""
from __future__ import annotations

from ..core import audit

audit.register_fields("portal_account", {"id_number": "证件号码"})
