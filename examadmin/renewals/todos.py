"""To-dos of re-registration: applications waiting for a city or a province, returns for the holder."""
from __future__ import annotations

from typing import Any, Iterable

from flask import url_for

from ..core import permissions
from ..core.roles import Role
from ..core.todo import Todo, count_in_scope, source
from .models import RenewalApplication
from .states import RenewalState as S


def _waiting(user: Any, state: S, label: str, hint: str) -> Todo:
    count = count_in_scope(user, RenewalApplication, RenewalApplication.state == state)
    return Todo(label, count, url_for("renewals.index", state=state.value), hint)


@source("renewals.review")
def reviews(user: Any) -> Iterable[Todo]:
    if not permissions.can(user, "renewals.review"):
        return []
    if user.role == Role.CITY:
        return [_waiting(user, S.CITY_REVIEW, "待审核的再登记申请", "核对学时与签字申请表，通过（转省级）或退回")]
    if user.role == Role.PROVINCE:
        return [_waiting(user, S.PROVINCE_REVIEW, "待审批的再登记申请", "审核通过后证书有效期顺延，或退回")]
    return []


@source("renewals.returned")
def returned(user: Any) -> Iterable[Todo]:
    if not permissions.can(user, "renewals.apply"):
        return []
    return [Todo("被退回的再登记申请", count_in_scope(user, RenewalApplication, RenewalApplication.state == S.RETURNED),
                 url_for("renewals.mine"), "按退回原因修改后重新提交")]
