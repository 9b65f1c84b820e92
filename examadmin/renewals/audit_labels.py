"""The audit log's Chinese names for renewal policies, re-registration applications and reminders."""
from __future__ import annotations

from ..core import audit

audit.ENTITY_LABELS.update({"renewal_policy": "再登记规则", "renewal_application": "再登记申请",
                            "holder_contact": "持证人邮箱"})
audit.ACTION_LABELS.update({
    "renewal_policy.update": "修改再登记规则",
    "renewal_application.create": "新建再登记申请",
    "renewal_application.update": "修改再登记申请",
    "renewal_application.attach": "上传再登记附件",
    "renewal_application.submit": "提交再登记申请",
    "renewal_application.pass": "市级审核通过再登记申请",
    "renewal_application.return": "退回再登记申请",
    "renewal_application.approve": "审核通过再登记申请",
    "renewal_application.registered": "再登记生效",
    "holder_contact.update": "修改提醒邮箱",
})
audit.register_fields("renewal_policy", {
    "validity_years": "有效期（年）", "window_months": "再登记窗口（月）", "hours_required": "所需学时",
    "late_hours_required": "补办所需学时", "grace_months": "逾期可补办（月）",
})
audit.register_fields("renewal_application", {
    "cycle_expiry": "本周期有效期至", "late": "补办", "explanation": "情况说明", "signed_form": "签字申请表",
    "photo": "近期照片", "identity_proof": "身份变更证明", "valid_until": "有效期至",
    "registration_number": "再登记编号", "reason": "原因",
})
audit.register_fields("holder_contact", {"email": "邮箱"})
