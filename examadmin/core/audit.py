"""The audit log: who did what to which record, when, from where, before and after."""
from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from flask import has_request_context, request
from sqlalchemy import JSON, ForeignKey, Index, String, select
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from . import clock
from .roles import ROLE_LABELS, Role

#: Chinese names of audited actions, for the log page; unknown ones show as they are
ACTION_LABELS = {
    "user.sign_in": "登录",
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
    "schedule_run.create": "排考",
    "seat.release": "释放座位（取消报考）",
    "proctor.create": "登记监考人员",
    "proctor.update": "修改监考人员",
    "proctor.account": "开通监考账号",
    "proctor_assignment.create": "安排监考",
    "proctor_assignment.delete": "取消监考安排",
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
    entity_label: Mapped[str] = mapped_column(String(200), default="")
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
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
        entity_label=_label_of(entity) if entity is not None else "",
        before=_plain(before) if before is not None else None,
        after=_plain(after) if after is not None else None,
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


def describe_change(entry: AuditLog) -> str:
    """One line of text for before → after, for tables and exports."""
    parts = []
    before, after = entry.before or {}, entry.after or {}
    for key in list(dict.fromkeys([*before.keys(), *after.keys()])):
        b, a = before.get(key), after.get(key)
        if key in before and key in after:
            parts.append(f"{key}: {b} → {a}")
        elif key in after:
            parts.append(f"{key}: {a}")
        else:
            parts.append(f"{key}: {b} →（删除）")
    return "；".join(parts)


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
