"""Reading typed values out of form or CLI data, with a Chinese message naming the field."""
from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from ...core.errors import DomainError

DATETIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")


def text(data: dict, field: str, label: str, limit: int, *, required: bool = True) -> str:
    value = str(data.get(field) or "").strip()
    if required and not value:
        raise DomainError(f"请填写{label}", field=field)
    if len(value) > limit:
        raise DomainError(f"{label}不能超过 {limit} 个字", field=field)
    return value


def integer(data: dict, field: str, label: str, minimum: int, maximum: int) -> int:
    raw = data.get(field)
    try:
        value = None if raw is None or isinstance(raw, bool) else int(str(raw).strip())
    except ValueError:
        value = None
    if value is None:
        raise DomainError(f"请填写{label}（整数）", field=field)
    if not minimum <= value <= maximum:
        raise DomainError(f"{label}应在 {minimum} 到 {maximum} 之间", field=field)
    return value


def when(data: dict, field: str, label: str) -> datetime:
    raw = data.get(field)
    if isinstance(raw, datetime):
        return raw.replace(second=0, microsecond=0)
    for fmt in DATETIME_FORMATS:
        try:
            return datetime.strptime(str(raw or "").strip(), fmt)
        except ValueError:
            continue
    raise DomainError(f"请填写{label}（格式：2026-12-01 09:00）", field=field)


def day(data: dict, field: str, label: str) -> date:
    raw = data.get(field)
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw
    try:
        return datetime.strptime(str(raw or "").strip(), "%Y-%m-%d").date()
    except ValueError:
        raise DomainError(f"请填写{label}（格式：2026-12-01）", field=field)


def clock_time(data: dict, field: str, label: str) -> time:
    raw = data.get(field)
    if isinstance(raw, time):
        return raw.replace(second=0, microsecond=0)
    for fmt in ("%H:%M", "%H:%M:%S"):
        try:
            return datetime.strptime(str(raw or "").strip(), fmt).time()
        except ValueError:
            continue
    raise DomainError(f"请填写{label}（格式：09:00）", field=field)


def money(data: dict, field: str, label: str) -> Decimal | None:
    """An optional amount in yuan: empty is None, otherwise 0 to 100000 with two decimals."""
    raw = data.get(field)
    if raw is None or str(raw).strip() == "":
        return None
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise DomainError(f"{label}应为金额（元），如 120 或 120.50", field=field)
    if not value.is_finite() or value < 0 or value > 100000 or value != value.quantize(Decimal("0.01")):
        raise DomainError(f"{label}应为 0 到 100000 元之间、最多两位小数的金额", field=field)
    return value.quantize(Decimal("0.01"))


def show(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)
