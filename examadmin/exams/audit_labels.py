"""The audit log's Chinese names for subjects, exam plans, sessions and rooms."""
from __future__ import annotations

from ..catalog.models import Certificate, CertificateLevel
from ..core import audit
from ..sites.models import ExamSite
from .models import ExamPlan, Subject

audit.register_fields("subject", {
    "certificate_level_id": ("证书等级", audit.lookup(CertificateLevel, "label")), "name": "科目名称",
    "mode": "考试方式", "full_mark": "满分", "pass_mark": "及格分",
})
audit.register_fields("exam_plan", {
    "name": "计划名称", "certificate_id": ("证书", audit.lookup(Certificate)),
    "registration_start": "报考开始时间", "registration_end": "报考截止时间", "payment_deadline": "缴费截止时间",
    "ticket_start": "准考证下载开始时间", "ticket_end": "准考证下载截止时间", "fees": "考试费（元）",
})
audit.register_fields("exam_session", {
    "plan": "考试计划", "date": "日期", "start_time": "开始时间", "end_time": "结束时间", "level": "等级",
    "subject": "科目",
})
audit.register_fields("exam_room", {
    "plan_id": ("考试计划", audit.lookup(ExamPlan)), "site_id": ("考核站点", audit.lookup(ExamSite)),
    "subject_id": ("考试科目", audit.lookup(Subject, "label")), "name": "考场名称", "seats": "座位数",
    "scheduled": "已排考",
})
