"""The audit log: who did what to which record, when, from where, before and after."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Callable

from flask import has_request_context, request
from sqlalchemy import ForeignKey, Index, String, select
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from . import clock
from .personal import MaskedJSON, MaskedText, mask_text, mask_value
from .roles import ROLE_LABELS, Role

#: Chinese names of audited actions, for the log page; unknown ones show as they are
ACTION_LABELS = {
    "user.sign_in": "登录",
    "certificate.make_records": "生成证书记录",
    "certificate.org_sign": "评价组织签发证书",
    "certificate.site_sign": "考核站点签发证书",
    "certificate.issue": "发放证书",
    "certificate.generated": "电子证书已生成",
    "certificate_signoff.start": "发起扫码签发",
    "certificate_signoff.confirm": "扫码确认签发",
    "certificate_signoff.refused": "扫码签发被拒绝",
    "certificate_seal.upload": "上传电子印章",
    "user.sign_out": "退出登录",
    "user.change_password": "修改密码",
    "user.create": "创建用户",
    "user.update": "修改用户",
    "user.disable": "停用用户",
    "user.enable": "启用用户",
    "user.reset_password": "重置密码",
    "province.create": "新增省份",
    "province.update": "修改省份",
    "city.create": "新增地市",
    "city.update": "修改地市",
    "school.create": "新增院校",
    "school.update": "修改院校",
    "major.create": "新增专业",
    "major.update": "修改专业",
    "major.load": "导入专业目录",
    "certificate.create": "新增证书",
    "certificate.update": "修改证书",
    "certificate.disable": "停用证书",
    "certificate.enable": "启用证书",
    "certificate_level.create": "新增证书等级",
    "application_plan.create": "发布申报计划",
    "application_plan.update": "修改申报计划",
    "application.create": "新建试点申报",
    "application.update": "修改试点申报",
    "application.submit": "提交试点申报",
    "application.pass": "地市审核通过",
    "application.return": "退回试点申报",
    "application.approve": "审核通过试点申报",
    "application.quota": "核定指标",
    "exam_site.apply": "申报考核站点",
    "exam_site.update": "修改考核站点申报",
    "exam_site.resubmit": "重新提交考核站点",
    "exam_site.approve": "考核站点审核通过",
    "exam_site.reject": "驳回考核站点",
    "exam_site.disable": "停用考核站点",
    "exam_site.enable": "启用考核站点",
    "subject.create": "新增考试科目",
    "subject.update": "修改考试科目",
    "subject.delete": "删除考试科目",
    "exam_plan.create": "新建考试计划",
    "exam_plan.update": "修改考试计划",
    "exam_plan.publish": "发布考试计划",
    "exam_plan.withdraw": "撤回考试计划",
    "exam_session.create": "新增考试场次",
    "exam_session.delete": "删除考试场次",
    "exam_room.create": "新增考场",
    "exam_room.update": "修改考场",
    "exam_room.delete": "删除考场",
    "candidate.create": "新增考生",
    "candidate.update": "修改考生",
    "candidate.import": "导入考生",
    "candidate.hide": "删除考生",
    "candidate.restore": "恢复考生",
    "candidate.photo": "上传照片",
    "candidate.photo_import": "导入照片",
    "candidate.verify": "申请认证",
    "candidate.pass": "认证通过",
    "candidate.fail": "认证未通过",
    "candidate.confirm": "人工确认",
    "candidate.reset": "修改后待重新认证",
    "candidate.correct": "信息更正（审核通过）",
    "correction.create": "提交信息更正",
    "correction.approve": "通过信息更正",
    "correction.reject": "驳回信息更正",
    "schedule_run.create": "执行排考（一个站点）",
    "seat.release": "释放座位（取消报考）",
    "proctor.create": "登记监考人员",
    "proctor.update": "修改监考人员",
    "proctor.account": "开通监考账号",
    "proctor.reset_password": "重置监考账号密码",
    "proctor_assignment.create": "安排监考",
    "proctor_assignment.delete": "取消监考安排",
    "tickets.download": "下载准考证",
    "tickets.test_exam_export": "导出测试考试名单",
    "seat.check_in": "考生签到",
    "seat.mark_absent": "标记缺考",
    "portal.account_create": "开通考生账号",
    "portal.code_reissue": "重新生成激活码",
    "portal.activate": "考生激活账号",
    "score.enter": "登记成绩",
    "score.correct": "更正成绩",
    "score.import": "导入成绩",
    "score_publication.display": "开始成绩公示",
    "score_publication.publish": "发布成绩",
    "score_objection.create": "提出成绩异议",
    "score_objection.answer": "答复成绩异议",
    "job.start": "任务开始",
    "job.finish": "任务完成",
    "job.fail": "任务失败",
    "certificate.revoke": "撤销证书",
    "certificate_record.download": "下载电子证书",
    "paper_batch.create": "纸质证书印制",
    "paper_batch.ship": "纸质证书寄出",
    "paper_batch.tracking": "登记快递单号",
}

ENTITY_LABELS = {
    "user": "用户", "province": "省份", "city": "地市", "school": "院校", "major": "专业",
    "certificate": "证书", "certificate_level": "证书等级", "job": "后台任务",
    "exam_site": "考核站点", "subject": "考试科目", "exam_plan": "考试计划", "exam_session": "考试场次",
    "exam_room": "考场",
    "application_plan": "申报计划", "application": "试点申报",
    "candidate": "考生", "correction_request": "信息更正",
    "schedule_run": "排考", "proctor": "监考人员",
    "registration": "报考", "portal_account": "考生账号",
    "score": "科目成绩", "score_publication": "成绩发布", "score_objection": "成绩异议",
    "payment_order": "缴费订单", "certificate_record": "证书记录", "certificate_signoff": "扫码签发",
    "paper_batch": "纸质证书批次",
}


class AuditLog(db.Model):
    __table_args__ = (Index("ix_audit_log_entity", "entity_type", "entity_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=clock.now, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    #: a copy of who acted, kept even if the account is later renamed
    actor_name: Mapped[str] = mapped_column(String(60))
    actor_role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(60), index=True)
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None]
    #: a short human description of the record, e.g. a school's name
    #: ID numbers and phone numbers in it are masked on write and on read (PIPL), so that no
    #: audit row holds them whole and rows written before the rule show masked too
    entity_label: Mapped[str] = mapped_column(MaskedText(200), default="")
    before: Mapped[dict | None] = mapped_column(MaskedJSON)
    after: Mapped[dict | None] = mapped_column(MaskedJSON)
    ip: Mapped[str] = mapped_column(String(45), default="")
    #: the scope the change belongs to, so each role sees the log of its own scope
    school_id: Mapped[int | None] = mapped_column(index=True)
    city_id: Mapped[int | None] = mapped_column(index=True)
    province_id: Mapped[int | None] = mapped_column(index=True)

    @property
    def action_label(self) -> str:
        return ACTION_LABELS.get(self.action, self.action)

    @property
    def entity_type_label(self) -> str:
        return ENTITY_LABELS.get(self.entity_type, self.entity_type)

    @property
    def actor_role_label(self) -> str:
        try:
            return ROLE_LABELS[Role(self.actor_role)]
        except ValueError:
            return self.actor_role


def _plain(value: Any) -> Any:
    """Make a value JSON-safe: enums by their value, dates as ISO text."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    return value


def snapshot(obj: Any, fields: list[str]) -> dict[str, Any]:
    """The named fields of a record, JSON-safe, for `before` and `after`."""
    return {name: _plain(getattr(obj, name)) for name in fields}


def entity_type_of(entity: Any) -> str:
    table = getattr(entity, "__tablename__", None)
    return table or type(entity).__name__.lower()


def _label_of(entity: Any) -> str:
    for attr in ("name", "label", "username", "code"):
        value = getattr(entity, attr, None)
        if isinstance(value, str) and value:
            return value[:200]
    return ""


def record(actor: Any, action: str, entity: Any = None, before: dict | None = None,
           after: dict | None = None, *, entity_type: str | None = None,
           entity_id: int | None = None) -> AuditLog:
    """Write one audit record in the caller's transaction (it commits or rolls back with it)."""
    from .permissions import scope_of

    if entity is not None and getattr(entity, "id", None) is None:
        db.session.flush()  # a new record needs its id before it can be named
    scope = scope_of(entity)
    entry = AuditLog(
        actor_id=getattr(actor, "id", None),
        actor_name=getattr(actor, "name", None) or "系统",
        actor_role=str(getattr(actor, "role", None) or "system"),
        action=action,
        entity_type=entity_type or (entity_type_of(entity) if entity is not None else ""),
        entity_id=entity_id if entity_id is not None else getattr(entity, "id", None),
        # Masked here as well as by the column type, so the record in the session reads as stored.
        entity_label=mask_text(_label_of(entity)) if entity is not None else "",
        before=mask_value(_plain(before)) if before is not None else None,
        after=mask_value(_plain(after)) if after is not None else None,
        ip=(request.remote_addr or "") if has_request_context() else "",
        **scope,
    )
    db.session.add(entry)
    return entry


def history(entity: Any) -> list[AuditLog]:
    """Every audit record of one entity, oldest first, for the history on its page."""
    return list(db.session.scalars(
        select(AuditLog)
        .where(AuditLog.entity_type == entity_type_of(entity), AuditLog.entity_id == entity.id)
        .order_by(AuditLog.at, AuditLog.id)
    ))


# ---- reading the log: Chinese field labels and values as users know them ----------------

#: value -> the text a user knows (a name for an id, say)
Show = Callable[[Any], str]


@dataclass(frozen=True)
class FieldLabel:
    label: str
    show: Show | None = None


#: entity type -> field -> label; each area registers the fields of its own records
_FIELDS: dict[str, dict[str, FieldLabel]] = {}
#: fields that mean the same in every record (workflow moves, imports, deletions)
COMMON_FIELDS = {
    "state": FieldLabel("状态"), "reason": FieldLabel("原因/说明"), "hidden": FieldLabel("已删除"),
    "source": FieldLabel("来源"), "file": FieldLabel("文件"), "name": FieldLabel("名称"),
    "code": FieldLabel("代码"), "note": FieldLabel("说明"),
}


def register_fields(entity_type: str, fields: dict[str, str | tuple[str, Show]]) -> None:
    """Name the audited fields of one kind of record in Chinese, with how to show a value.

    Each area calls it for its own models (core never imports the areas), e.g.
    `register_fields("candidate", {"major_id": ("专业", lookup(Major)), "phone": "手机号码"})`.
    """
    mapping = _FIELDS.setdefault(entity_type, {})
    for key, spec in fields.items():
        mapping[key] = FieldLabel(spec) if isinstance(spec, str) else FieldLabel(*spec)


def lookup(model: Any, attr: str | Callable[[Any], str] = "name") -> Show:
    """A Show for an id column: the record's name (session.get: one query per distinct id)."""
    def show(value: Any) -> str:
        try:
            record = db.session.get(model, int(value))
        except (TypeError, ValueError):
            return str(value)
        if record is None:
            return f"#{value}（已不存在）"
        return attr(record) if callable(attr) else str(getattr(record, attr))
    return show


def choices(mapping: dict[Any, str]) -> Show:
    """A Show for a coded value: its label from `mapping` (an enum's value is already Chinese)."""
    return lambda value: mapping.get(value, str(value))


def field_label(entity_type: str, key: str) -> FieldLabel:
    return _FIELDS.get(entity_type, {}).get(key) or COMMON_FIELDS.get(key) or FieldLabel(key)


def show_value(value: Any, entity_type: str = "", show: Show | None = None) -> str:
    """A stored value as users know it: 是/否, names for ids, nested rows with their labels."""
    if value is None or value == "":
        return "（空）"
    if isinstance(value, bool):
        return "是" if value else "否"
    if show is not None and not isinstance(value, (dict, list)):
        return show(value)
    if isinstance(value, dict):
        return "，".join(f"{field_label(entity_type, str(k)).label}：{show_value(v, entity_type, field_label(entity_type, str(k)).show)}"
                        for k, v in value.items())
    if isinstance(value, list):
        joiner = "；" if any(isinstance(v, dict) for v in value) else "、"
        return joiner.join(show_value(v, entity_type, show) for v in value) or "（空）"
    return str(value)


@dataclass(frozen=True)
class Change:
    label: str
    #: None when the record had no value before (created) ...
    before: str | None
    #: ... or has none after (deleted)
    after: str | None

    def text(self) -> str:
        if self.before is None:
            return f"{self.label}：{self.after}"
        if self.after is None:
            return f"{self.label}：{self.before}（删除前）"
        return f"{self.label}：{self.before} → {self.after}"


def changes(entry: AuditLog) -> list[Change]:
    """What an entry changed, field by field, in Chinese; fields that stayed the same are left out."""
    before, after = entry.before or {}, entry.after or {}
    out = []
    for key in dict.fromkeys([*before.keys(), *after.keys()]):
        spec = field_label(entry.entity_type, key)
        if key in before and key in after:
            if before[key] == after[key]:
                continue
            if _rows_alike(before[key], after[key]):
                out.extend(_row_changes(entry.entity_type, spec.label, before[key], after[key]))
                continue
            out.append(Change(spec.label, show_value(before[key], entry.entity_type, spec.show),
                              show_value(after[key], entry.entity_type, spec.show)))
        elif key in after:
            if after[key] not in (None, "", [], {}):  # a new record's empty fields say nothing
                out.append(Change(spec.label, None, show_value(after[key], entry.entity_type, spec.show)))
        elif before[key] not in (None, "", [], {}):
            out.append(Change(spec.label, show_value(before[key], entry.entity_type, spec.show), None))
    return out


def _rows_alike(before: Any, after: Any) -> bool:
    """Two lists of rows (an application's major lines, say) that can be compared row by row."""
    return (isinstance(before, list) and isinstance(after, list) and len(before) == len(after) and before
            and all(isinstance(r, dict) for r in [*before, *after])
            and all(next(iter(b.items()), None) == next(iter(a.items()), None) for b, a in zip(before, after)))


def _row_changes(entity_type: str, label: str, before: list[dict], after: list[dict]) -> list[Change]:
    """Only the changed cells of each row, named by the row's first value: 拟申报专业「护理」· 批准人数."""
    out = []
    for b, a in zip(before, after):
        first_key, first_value = next(iter(a.items()))
        row_name = show_value(first_value, entity_type, field_label(entity_type, first_key).show)
        for key in dict.fromkeys([*b.keys(), *a.keys()]):
            if b.get(key) != a.get(key):
                spec = field_label(entity_type, key)
                out.append(Change(f"{label}「{row_name}」{spec.label}", show_value(b.get(key), entity_type, spec.show),
                                  show_value(a.get(key), entity_type, spec.show)))
    return out


def describe_change(entry: AuditLog) -> str:
    """One line of text for before → after, for tables and exports."""
    return "；".join(change.text() for change in changes(entry))


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def list_entries(actor: Any, *, action: str = "", entity_type: str = "", actor_q: str = "",
                 date_from: date | None = None, date_to: date | None = None, entity_id: int | None = None):
    """A scoped, filtered select of audit records, newest first."""
    from datetime import timedelta

    from . import permissions

    permissions.require(actor, "audit.view")
    query = permissions.scoped(actor, select(AuditLog)).order_by(AuditLog.at.desc(), AuditLog.id.desc())
    if action:
        query = query.where(AuditLog.action == action)
    if entity_type:
        query = query.where(AuditLog.entity_type == entity_type)
    if entity_id is not None:
        query = query.where(AuditLog.entity_id == entity_id)
    if actor_q:
        query = query.where(AuditLog.actor_name.ilike(f"%{actor_q.strip()}%"))
    if date_from:
        query = query.where(AuditLog.at >= datetime.combine(date_from, datetime.min.time()))
    if date_to:
        query = query.where(AuditLog.at < datetime.combine(date_to + timedelta(days=1), datetime.min.time()))
    return query


#: a scoped role's action filter offers the actions found in this many of its entries at most (read
#: through the index on the scope column, in no order: no sort, no scan of a province's whole log)
SCOPED_ACTIONS_WINDOW = 20_000


def action_choices(actor: Any, keep: str = "") -> list[tuple[str, str]]:
    """(action, label) for the log page's 操作 filter: the org and the sysadmin get every known
    action; a province, city or school only the actions found in its own scope (in up to
    SCOPED_ACTIONS_WINDOW of its entries) and `keep`, the one already chosen. Two actions with one label
    are told apart by their entity ("排考（报考）")."""
    from . import permissions

    permissions.require(actor, "audit.view")
    if actor.role in (Role.SYSADMIN, Role.ORG):
        actions = set(ACTION_LABELS)
    else:
        recent = permissions.scoped(actor, select(AuditLog.action)).limit(SCOPED_ACTIONS_WINDOW).subquery()
        actions = set(db.session.scalars(select(recent.c.action).distinct()))
    if keep in ACTION_LABELS:
        actions.add(keep)
    labels = {action: ACTION_LABELS.get(action, action) for action in actions}
    seen: dict[str, int] = {}
    for label in labels.values():
        seen[label] = seen.get(label, 0) + 1
    for action, label in labels.items():
        if seen[label] > 1:
            kind = action.split(".", 1)[0]
            labels[action] = f"{label}（{ENTITY_LABELS.get(kind, kind)}）"
    order = {action: index for index, action in enumerate(ACTION_LABELS)}
    return sorted(labels.items(), key=lambda item: (order.get(item[0], len(order)), item[0]))


register_fields("user", {
    "username": "用户名", "name": "姓名", "phone": "手机号码",
    "role": ("角色", choices({role.value: label for role, label in ROLE_LABELS.items()})),
    "is_signer": "签发负责人", "active": "启用", "candidate_id": "考生账号",
})
