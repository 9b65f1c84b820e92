"""State machines of re-registration (再登记申请), DOMAIN.md §12, and the validity states of a certificate."""
from __future__ import annotations

from enum import StrEnum

from ..core.workflow import Workflow


class RenewalState(StrEnum):
    DRAFT = "未提交"
    CITY_REVIEW = "市级审核中"
    PROVINCE_REVIEW = "省级审核中"
    RETURNED = "审核退回"
    APPROVED = "审核通过"


class Validity(StrEnum):
    """A certificate's validity, computed on read (renewals/validity.py), never stored."""

    VALID = "有效"
    DUE = "待再登记"
    RENEWED = "已再登记"
    NOT_RENEWED = "未再登记"
    LAPSED = "已失效"
    REVOKED = "已撤销"


def goes_to_city(application) -> bool:
    # The city reviews first, except after the province itself returned the application:
    # the city has passed it already, so the correction goes straight back to the province.
    return application.returned_by != "province"


def skips_city(application) -> bool:
    return not goes_to_city(application)


S = RenewalState
RENEWAL = Workflow(
    "renewal_application",
    S,
    moves=[
        # (from,                  action,    to,                 who may,     guard)
        ((S.DRAFT, S.RETURNED),   "submit",  S.CITY_REVIEW,      "candidate", goes_to_city,
         "新提交，或由市级退回后重新提交"),
        ((S.DRAFT, S.RETURNED),   "submit",  S.PROVINCE_REVIEW,  "candidate", skips_city,
         "由省级退回后重新提交"),
        (S.CITY_REVIEW,           "pass",    S.PROVINCE_REVIEW,  "city"),
        (S.CITY_REVIEW,           "return",  S.RETURNED,         "city"),
        (S.PROVINCE_REVIEW,       "return",  S.RETURNED,         "province"),
        (S.PROVINCE_REVIEW,       "approve", S.APPROVED,         "province"),   # validity moves on
    ],
    action_labels={"submit": "提交", "pass": "市级审核通过（转省级）", "return": "退回", "approve": "审核通过"},
)

#: states in which the holder may still change the application
EDITABLE = (S.DRAFT, S.RETURNED)
#: states that wait for a reviewer
IN_REVIEW = (S.CITY_REVIEW, S.PROVINCE_REVIEW)
