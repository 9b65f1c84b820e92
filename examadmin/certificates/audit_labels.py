"""The audit log's Chinese names for certificate records, sign-offs, seals and paper batches."""
from __future__ import annotations

from ..core import audit

audit.register_fields("exam_plan", {"made": "生成证书记录数"})
audit.register_fields("certificate_signoff", {
    "records": "证书数", "ip": "IP 地址", "device": "设备", "message": "提示",
})
audit.register_fields("certificate", {"image_key": "印章图片"})
audit.register_fields("paper_batch", {
    "certificates": "证书数", "carrier": "快递公司", "tracking_number": "快递单号",
})
# a revoked record whose state was changed back outside the application (verification finds it)
audit.ACTION_LABELS.setdefault("certificate.state_anomaly", "证书状态异常（撤销后被改动）")
audit.register_fields("certificate_record", {"state": "状态", "channel": "查询方式"})
