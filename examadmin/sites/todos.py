"""To-dos of exam sites: applications waiting for the org's review."""
from __future__ import annotations

from typing import Any, Iterable

from flask import url_for

from ..core import permissions
from ..core.todo import Todo, count_in_scope, source
from .models import ExamSite
from .states import SiteState


@source("sites.review")
def reviews(user: Any) -> Iterable[Todo]:
    if not permissions.can(user, "sites.review"):
        return []
    count = count_in_scope(user, ExamSite, ExamSite.state == SiteState.PENDING)
    return [Todo("待审核的考核站点", count, url_for("sites.index", state=SiteState.PENDING.value),
                 "核对设施后通过或驳回")]


@source("sites.rejected")
def rejected(user: Any) -> Iterable[Todo]:
    if not permissions.can(user, "sites.apply"):
        return []
    count = count_in_scope(user, ExamSite, ExamSite.state == SiteState.REJECTED)
    return [Todo("被驳回的考核站点申请", count, url_for("sites.index", state=SiteState.REJECTED.value),
                 "按驳回原因修改后重新提交")]
