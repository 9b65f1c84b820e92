"""The navigation of each role, following the steps of the yearly workflow.

Areas add their entries here as they are built; an entry whose endpoint does not exist
is left out, so the menu never links to a page the system does not have.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app, render_template, request
from markupsafe import Markup

from . import permissions
from .roles import Role


@dataclass(frozen=True)
class Item:
    label: str
    endpoint: str
    #: a permissions.ACTIONS key the user must be allowed
    action: str
    icon: str = "circle"
    #: roles that may open the page but whose menu leaves it out (a candidate has no use for 后台任务)
    hidden_for: frozenset = frozenset()


@dataclass(frozen=True)
class Section:
    label: str
    items: list[Item] = field(default_factory=list)


MENU: list[Section] = [
    Section("1 证书试点申报", [
        Item("申报计划", "pilots.plans", "pilots.view", "calendar-event"),
        Item("试点申报", "pilots.applications", "pilots.view", "file-earmark-text"),
        Item("指标台账", "pilots.quota_ledger", "pilots.ledger", "clipboard-data"),
    ]),
    Section("3 考核站点申报", [
        Item("考核站点", "sites.index", "sites.view", "geo-alt"),
    ]),
    Section("4 考生管理", [
        Item("考生", "candidates.index", "candidates.view", "person-vcard"),
        Item("信息更正", "candidates.corrections", "candidates.view", "pencil-square"),
    ]),
    Section("5 考试计划", [
        Item("考试计划", "exams.plans", "exams.view", "calendar-week"),
        Item("考试科目", "exams.subjects", "exams.view", "list-check"),
    ]),
    Section("6 报考与缴费", [
        Item("报考管理", "registrations.index", "registrations.view", "person-check"),
        Item("缴费管理", "registrations.payments", "payments.view", "cash-coin"),
    ]),
    Section("7 考场与排考", [
        Item("考场", "exams.rooms", "exams.rooms_view", "door-open"),
        Item("排考", "scheduling.index", "scheduling.view", "grid-3x3"),
        Item("监考人员", "scheduling.proctor_list", "scheduling.view", "person-badge"),
        Item("我的监考安排", "scheduling.mine", "proctors.own", "person-badge"),
    ]),
    Section("8 准考证与考务", [
        Item("准考证与考场材料", "tickets.index", "tickets.materials", "person-badge"),
        Item("考生签到", "tickets.checkin_index", "checkin.scan", "qr-code-scan"),
        Item("考生账号", "portal.accounts", "portal.accounts", "person-lock"),
    ]),
    Section("9 成绩与结果", [
        Item("成绩与结果", "scores.index", "scores.plans", "clipboard-check"),
        Item("成绩统计", "scores.stats_index", "scores.stats", "bar-chart"),
        Item("我的成绩", "scores.mine", "scores.mine", "clipboard-check"),
    ]),
    Section("10 证书发放", [
        Item("证书发放", "certificates.index", "certificates.view", "award"),
        Item("电子印章", "certificates.seals", "certificates.seal", "patch-check"),
    ]),
    Section("11 证书下载与查验", [
        Item("电子证书下载", "certificates.downloads", "certificates.download", "download"),
        Item("纸质证书", "certificates.paper_list", "certificates.history", "truck"),
        Item("证书查询", "certificates.verify", "certificates.download", "patch-check"),
    ]),
    Section("12 持证后管理", [
        Item("学时审核", "hours.index", "hours.view", "hourglass"),
        Item("学时机构统计", "hours.providers", "hours.figures", "bar-chart"),
        Item("报考学时要求", "hours.requirements_page", "hours.requirements", "sliders"),
        Item("再登记申请", "renewals.index", "renewals.view", "arrow-repeat"),
        Item("证书有效期统计", "renewals.overview", "renewals.stats", "bar-chart"),
        Item("再登记规则", "renewals.policies", "renewals.stats", "sliders"),
        Item("发件箱", "renewals.outbox", "renewals.outbox", "envelope"),
    ]),
    Section("考生服务", [
        Item("我的学时", "hours.mine", "hours.record", "hourglass"),
        Item("我的信息与准考证", "portal.index", "portal.view", "person-badge"),
        Item("证书有效期与再登记", "renewals.mine", "renewals.apply", "arrow-repeat"),
    ]),
    Section("基础数据", [
        Item("院校", "catalog.schools", "catalog.view", "building"),
        Item("专业目录", "catalog.majors", "catalog.view", "journal-text"),
        Item("证书与等级", "catalog.certificates", "catalog.view", "award"),
        Item("省份与地市", "catalog.provinces", "catalog.manage_places", "map"),
    ]),
    Section("系统", [
        Item("用户管理", "users.index", "users.manage", "people"),
        Item("审计日志", "audit.index", "audit.view", "clock-history"),
        Item("后台任务", "jobs.index", "jobs.view", "hourglass-split", hidden_for=frozenset({Role.CANDIDATE})),
    ]),
]

#: The twelve steps of DOMAIN.md's yearly workflow, shown on every dashboard. `endpoint`
#: names the page of the step once the system has it.
WORKFLOW_STEPS: list[dict[str, Any]] = [
    {"no": 1, "label": "证书试点申报", "endpoint": "pilots.applications"},
    {"no": 2, "label": "师资培训", "endpoint": None, "outside": True},
    {"no": 3, "label": "考核站点申报", "endpoint": "sites.index"},
    {"no": 4, "label": "考生管理", "endpoint": "candidates.index"},
    {"no": 5, "label": "考试计划", "endpoint": "exams.plans"},
    {"no": 6, "label": "报考与缴费", "endpoint": "registrations.index"},
    {"no": 7, "label": "考场与排考", "endpoint": "exams.rooms"},
    {"no": 8, "label": "准考证", "endpoint": "tickets.index"},
    {"no": 9, "label": "成绩与结果", "endpoint": "scores.index"},
    {"no": 10, "label": "证书发放", "endpoint": "certificates.index"},
    {"no": 11, "label": "证书查询", "endpoint": "certificates.verify"},
    # a holder's own pages when the staff page is not theirs (再登记, then 我的学时)
    {"no": 12, "label": "持证后管理", "endpoint": "renewals.index", "also": ["renewals.mine", "hours.mine"]},
]


def menu_for(user: Any) -> list[Section]:
    """The menu sections this user may use: decided by the role alone (permissions.can), so
    computed once per role and app, not on every page."""
    if not getattr(user, "is_authenticated", False):
        return []
    menus = current_app.extensions.setdefault("examadmin.menu", {})
    role = user.role
    if role not in menus:
        sections = []
        for section in MENU:
            items = [i for i in section.items
                     if i.endpoint in current_app.view_functions and permissions.can(user, i.action)
                     and role not in i.hidden_for]
            if items:
                sections.append(Section(section.label, items))
        menus[role] = sections
    return menus[role]


def home_endpoint(user: Any) -> str:
    """Where the user's home is: a candidate's is the portal (the staff 工作台 is not theirs), everyone
    else's the dashboard (which sends a proctor on to check-in)."""
    if getattr(user, "role", None) == Role.CANDIDATE and "portal.index" in current_app.view_functions:
        return "portal.index"
    return "dashboard.index"


#: the most sidebars kept per app: roles x pages stays far below it; a full cache starts again
SIDEBAR_CACHE_SIZE = 4096


def sidebar(user: Any) -> Markup:
    """The signed-in user's sidebar as HTML (templates/_sidebar.html). It depends only on the
    role, the page it marks active and the app's URL prefix, so each is rendered once: ~35
    permission checks, ~25 url_for and icon macros less on every page."""
    key = (user.role, request.endpoint, request.script_root)
    cache = current_app.extensions.setdefault("examadmin.sidebar", {})
    html = cache.get(key)
    if html is None:
        if len(cache) >= SIDEBAR_CACHE_SIZE:
            cache.clear()
        html = cache[key] = Markup(render_template("_sidebar.html", menu=menu_for(user), home=home_endpoint(user),
                                                   endpoint=request.endpoint).strip())
    return html


def workflow_steps(user: Any) -> list[dict[str, Any]]:
    """The steps with `available` telling whether this user can open the step's page:
    the system has it, and the user may use the menu item that leads there (by role: worked
    out once per role and app)."""
    cache = current_app.extensions.setdefault("examadmin.workflow_steps", {})
    role = getattr(user, "role", None)
    if role in cache:
        return cache[role]
    actions = {item.endpoint: item.action for section in MENU for item in section.items}

    def available(endpoint: str | None) -> bool:
        if not endpoint or endpoint not in current_app.view_functions:
            return False
        return endpoint not in actions or permissions.can(user, actions[endpoint])

    steps = []
    for step in WORKFLOW_STEPS:
        endpoint = next((e for e in [step["endpoint"], *step.get("also", [])] if available(e)), step["endpoint"])
        steps.append({**step, "endpoint": endpoint, "available": available(endpoint)})
    if getattr(user, "is_authenticated", False):
        cache[role] = steps
    return steps
