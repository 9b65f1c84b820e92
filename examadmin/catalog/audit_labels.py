"""The audit log's Chinese names for the catalogue's records and for ids that point into it."""
from __future__ import annotations

from ..core import audit
from .models import City, Province, School

audit.register_fields("province", {"code": "省份代码", "name": "省份名称", "authority": "教育行政部门"})
audit.register_fields("city", {"province_id": ("所属省份", audit.lookup(Province)), "code": "地市代码",
                               "name": "地市名称"})
audit.register_fields("school", {"code": "院校代码", "name": "院校名称", "type": "院校类型",
                                 "province_id": ("所属省份", audit.lookup(Province)),
                                 "city_id": ("所属地市", audit.lookup(City)), "address": "地址"})
audit.register_fields("major", {"school_type": "院校类型", "level": "层次", "catalogue_version": "目录版本",
                                "code": "专业代码", "name": "专业名称", "added": "新增专业数"})
audit.register_fields("certificate", {"code": "证书代码", "name": "证书名称", "org_name": "评价组织"})
audit.register_fields("certificate_level", {"certificate": "证书", "level": "等级"})
# A user's scope is a catalogue record: its name is the catalogue's to give.
audit.register_fields("user", {"province_id": ("省份", audit.lookup(Province)),
                               "city_id": ("地市", audit.lookup(City)),
                               "school_id": ("院校", audit.lookup(School))})
