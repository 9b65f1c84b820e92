"""How a payment order is paid: the `PaymentProvider` interface and its local provider.

The platform's 网上缴费 (online payment) is an outside service. Every order records the
provider that handles it (`PaymentOrder.provider`). The working local provider is
`VoucherProvider`: the school pays by bank transfer, uploads the voucher (付款凭证) and the
org confirms or rejects it by hand.

Where an online provider plugs in:
1. Subclass `OnlineProvider`: `checkout_url(order)` gives the cashier page the payer is sent
   to; `parse_notification(payload)` checks the provider's signature on its callback and
   returns a `Notification` (or raises `DomainError`).
2. Set `PAYMENT_PROVIDER=package.module:Class` (loaded on first use), or call
   `register_provider("name", Class)` at start-up and set `PAYMENT_PROVIDER=name`.
3. Give the provider the callback URL `POST /registrations/payments/notify/<name>` (public, no
   CSRF token: `views_payment.payment_notify`). It passes the JSON body (or the form fields) to
   `payments.record_notification(name, payload)`, which confirms the order as the system (the
   `confirm` move allows "system") after checking reference and amount, acknowledges a repeated
   notice of the same payment, and answers a refusal with 400 and the message.
The order pages then show a 网上缴费 button (`checkout_url`) beside the voucher upload.
"""
from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from contextlib import suppress
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable, Protocol

from ..core.errors import DomainError

#: the largest voucher accepted
MAX_VOUCHER_BYTES = 10 * 1024 * 1024
#: (magic bytes at the start of the file, storage suffix, MIME type)
VOUCHER_TYPES = (
    (b"%PDF-", ".pdf", "application/pdf"),
    (b"\xff\xd8\xff", ".jpg", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", ".png", "image/png"),
)
MIME_BY_SUFFIX = {suffix: mime for _, suffix, mime in VOUCHER_TYPES}


@dataclass(frozen=True)
class Notification:
    """What an online provider says about one payment, after its signature was checked."""

    reference: str
    transaction_ref: str
    amount: Decimal
    paid: bool


class PaymentProvider(Protocol):
    #: stored in PaymentOrder.provider
    name: str
    #: shown on the order page
    label: str
    #: True when the school pays outside the system and uploads a voucher
    takes_voucher: bool

    def checkout_url(self, order: Any) -> str | None:
        """Where the payer goes to pay online; None for the voucher provider."""

    def check_voucher(self, file_name: str, data: bytes) -> str:
        """The storage suffix of an acceptable voucher, or a DomainError in Chinese."""

    def parse_notification(self, payload: Any) -> Notification:
        """An online provider's callback, verified; the voucher provider has none."""


def voucher_suffix(data: bytes) -> str | None:
    """The suffix of a PDF, JPEG or PNG judged by its first bytes (never by its name); None otherwise."""
    for magic, suffix, _ in VOUCHER_TYPES:
        if data.startswith(magic):
            return suffix
    return None


class VoucherProvider:
    """Bank transfer outside the system, voucher uploaded by the school, confirmed by the org."""

    name = "voucher"
    label = "转账凭证（上传凭证，评价组织确认到账）"
    takes_voucher = True

    def checkout_url(self, order: Any) -> str | None:
        return None

    def check_voucher(self, file_name: str, data: bytes) -> str:
        shown = file_name or "凭证"
        if not data:
            raise DomainError("请上传付款凭证（PDF、JPEG 或 PNG），文件不能为空", field="voucher")
        if len(data) > MAX_VOUCHER_BYTES:
            raise DomainError(f"付款凭证「{shown}」超过 {MAX_VOUCHER_BYTES // (1024 * 1024)} MB，请压缩后再上传",
                              field="voucher")
        suffix = voucher_suffix(data)
        if suffix is None:
            raise DomainError(f"付款凭证「{shown}」不是 PDF、JPEG 或 PNG 文件（按文件内容判断，与扩展名无关）",
                              field="voucher")
        return suffix

    def parse_notification(self, payload: Any) -> Notification:
        raise DomainError("转账凭证方式没有在线支付通知，由评价组织人工确认到账")


class OnlineProvider(ABC):
    """Base of an online provider (网上缴费): it has a cashier page and sends notifications."""

    name = "online"
    label = "网上缴费"
    takes_voucher = False

    @abstractmethod
    def checkout_url(self, order: Any) -> str | None:
        """The provider's cashier page for this order."""

    def check_voucher(self, file_name: str, data: bytes) -> str:
        raise DomainError("网上缴费的订单无需上传凭证")

    @abstractmethod
    def parse_notification(self, payload: Any) -> Notification:
        """Check the callback's signature and say what was paid."""


_PROVIDERS: dict[str, Callable[[], PaymentProvider]] = {"voucher": VoucherProvider}


def register_provider(name: str, factory: Callable[[], PaymentProvider]) -> None:
    """Make a provider available under `name` (an online provider's package calls this)."""
    _PROVIDERS[name] = factory


def unregister_provider(name: str) -> None:
    if name != "voucher":
        _PROVIDERS.pop(name, None)


def _configured() -> str:
    """The provider named by the PAYMENT_PROVIDER setting, loading a "module:Class" on first use."""
    from flask import current_app, has_app_context

    name = (current_app.config.get("PAYMENT_PROVIDER") if has_app_context() else None) or "voucher"
    if ":" in name:
        module_name, class_name = name.split(":", 1)
        try:
            factory = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError):
            raise DomainError(f"无法载入缴费方式「{name}」，请检查设置 PAYMENT_PROVIDER") from None
        register_provider(factory.name, factory)
        name = factory.name
    return name


def get_provider(name: str = "voucher") -> PaymentProvider:
    """The provider of that name; the one configured as "module:Class" is loaded on first use
    (an order made by one process may be confirmed by another)."""
    if name not in _PROVIDERS:
        # a misconfigured setting is reported by name below, for the order's own provider
        with suppress(DomainError):
            _configured()
    try:
        return _PROVIDERS[name]()
    except KeyError:
        raise DomainError(f"未配置的缴费方式「{name}」") from None


def default_provider_name() -> str:
    """The provider new orders use: PAYMENT_PROVIDER (a registered name or "module:Class"), else the voucher."""
    name = _configured()
    if name not in _PROVIDERS:
        raise DomainError(f"未配置的缴费方式「{name}」，请检查设置 PAYMENT_PROVIDER")
    return name
