"""State machines of pilot applications (证书试点申报)."""
from __future__ import annotations

from enum import StrEnum

from ..core.workflow import Workflow


class ApplicationState(StrEnum):
    DRAFT = "未提交"
    CITY_REVIEW = "市级审核中"
    PROVINCE_REVIEW = "省级审核中"
    RETURNED = "审核退回"
    APPROVED = "审核通过"


class PlanStatus(StrEnum):
    """Follows from the clock, never stored."""

    NOT_STARTED = "未开始"
    OPEN = "进行中"
    ENDED = "已结束"


def goes_to_city(application) -> bool:
    # The city reviews first where the plan asks for it, except when the province itself
    # returned the application: the city has passed it already.
    return application.plan.requires_city_review and application.returned_by != "province"


def skips_city(application) -> bool:
    return not goes_to_city(application)


S = ApplicationState
APPLICATION = Workflow(
    "application",
    S,
    moves=[
        # (from,                             action,    to,                  who may, guard)
        ((S.DRAFT, S.RETURNED),              "submit",  S.CITY_REVIEW,       "school", goes_to_city,
         "计划要求地市审核，且不是被省级退回"),
        ((S.DRAFT, S.RETURNED),              "submit",  S.PROVINCE_REVIEW,   "school", skips_city,
         "计划不要求地市审核，或由省级退回"),
        (S.CITY_REVIEW,                      "pass",    S.PROVINCE_REVIEW,   "city"),
        (S.CITY_REVIEW,                      "return",  S.RETURNED,          "city"),
        (S.PROVINCE_REVIEW,                  "return",  S.RETURNED,          "province"),
        (S.PROVINCE_REVIEW,                  "approve", S.APPROVED,          "province"),
        # Changing an approved application: the province returns it first.
        (S.APPROVED,                         "return",  S.RETURNED,          "province"),
    ],
    action_labels={"submit": "提交", "pass": "审核通过（转省级）", "return": "退回", "approve": "审核通过"},
)

#: states in which the school may still edit its application
EDITABLE = (S.DRAFT, S.RETURNED)
