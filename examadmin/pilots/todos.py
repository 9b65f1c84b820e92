"""To-dos of pilot applications: reviews waiting for a city or province, returns for a school."""
from __future__ import annotations

from typing import Any, Iterable

from flask import url_for

from ..core import permissions
from ..core.roles import Role
from ..core.todo import Todo, count_in_scope, source
from .models import Application
from .states import ApplicationState as S


def _applications(user: Any, state: S, label: str, hint: str) -> Todo:
    count = count_in_scope(user, Application, Application.state == state)
    return Todo(label, count, url_for("pilots.applications", state=state.value), hint)


@source("pilots.review")
def reviews(user: Any) -> Iterable[Todo]:
    if not permissions.can(user, "pilots.review"):
        return []
    if user.role == Role.CITY:
        return [_applications(user, S.CITY_REVIEW, "待审核的试点申报", "审核后通过（报省级）或退回")]
    if user.role == Role.PROVINCE:
        return [_applications(user, S.PROVINCE_REVIEW, "待审批的试点申报", "核定各专业批准人数，或退回")]
    return []


@source("pilots.returned")
def returned(user: Any) -> Iterable[Todo]:
    if not permissions.can(user, "pilots.apply"):
        return []
    return [_applications(user, S.RETURNED, "被退回的试点申报", "按退回原因修改后重新提交")]
