"""Personal data (PIPL, DOMAIN.md "Always"): ID numbers and phone numbers masked wherever
they leave a candidate's detail page or the correction review.

`mask_value` walks a JSON-like value: fields named like an ID number or a phone are masked
whatever their form (a passport too), and any other text has 18-character ID numbers and
11-digit mobile numbers inside it masked (a photo's file name is its ID number). The column
type `MaskedJSON` applies it when a row is written and again when it is read, so that audit
records and job results never store a whole number and rows written before the rule show
masked too.
"""
from __future__ import annotations

import logging
import re
from typing import Any

from sqlalchemy import JSON, String, Text
from sqlalchemy.types import TypeDecorator

from .idcard import mask, mask_phone

#: an 18-character 居民身份证 number inside a text, not part of a longer number (a 24-digit ticket
#: number). Letters may touch it: a file is often named ID500106….xlsx or 500106…chen.xlsx, and 18
#: digits in a row almost never occur inside a random code.
_ID_IN_TEXT = re.compile(r"(?<![0-9])\d{17}[\dXx](?![0-9])")
#: an 11-digit mainland mobile number standing on its own inside a text
_MOBILE_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])")


def is_id_field(key: str) -> bool:
    return key == "id_number" or key.endswith("_id_number")


def is_phone_field(key: str) -> bool:
    return key == "phone" or key.endswith("_phone")


def mask_text(text: str) -> str:
    """The text with every ID number and mobile number in it masked."""
    if not text or not any(ch.isdigit() for ch in text):
        return text
    text = _ID_IN_TEXT.sub(lambda m: mask(m.group(0).upper()), text)
    return _MOBILE_IN_TEXT.sub(lambda m: mask_phone(m.group(0)), text)


def mask_value(value: Any, key: str = "") -> Any:
    """A JSON-like value with ID numbers and phone numbers masked (fields by name, texts by pattern)."""
    if isinstance(value, dict):
        return {k: mask_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_value(v, key) for v in value]
    if isinstance(value, str):
        if is_id_field(key):
            return mask(value)
        if is_phone_field(key):
            return mask_phone(value)
        return mask_text(value)
    return value


class MaskedJSON(TypeDecorator):
    """JSON whose ID numbers and phone numbers are masked on the way in and on the way out."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else mask_value(value)

    def process_result_value(self, value, dialect):
        return None if value is None else mask_value(value)


class MaskedLongText(TypeDecorator):
    """A long text (a failed job's message and traceback) with ID and mobile numbers masked in and out."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else mask_text(value)

    def process_result_value(self, value, dialect):
        return None if value is None else mask_text(value)


class MaskedText(TypeDecorator):
    """A short text (a record's label, say) with ID numbers and mobile numbers masked in and out."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else mask_text(value)

    def process_result_value(self, value, dialect):
        return None if value is None else mask_text(value)


class MaskingLogFilter(logging.Filter):
    """Masks ID numbers and mobile numbers in a log record: its message with the arguments
    merged in, its traceback (an IntegrityError's DETAIL and SQL parameters) and stack."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_masked", False):
            return True
        record._masked = True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string: leave it to logging's report
            return True
        record.msg, record.args = mask_text(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


MASKING_LOG_FILTER = MaskingLogFilter()


def install_log_masking(*loggers: logging.Logger) -> None:
    """Mask every log record of the process, whichever logger or handler it goes to.

    A filter on a logger sees only the records logged on that very logger, not those that
    propagate from its children (sqlalchemy.engine, werkzeug, huey); so the filter also runs
    in the record factory, where every record is made. Safe to call again (each app)."""
    for logger in (logging.getLogger(), *loggers):
        if MASKING_LOG_FILTER not in logger.filters:
            logger.addFilter(MASKING_LOG_FILTER)
    factory = logging.getLogRecordFactory()
    if getattr(factory, "_masks_personal_data", False):
        return

    def masking_factory(*args, **kwargs) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        MASKING_LOG_FILTER.filter(record)
        return record

    masking_factory._masks_personal_data = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(masking_factory)
