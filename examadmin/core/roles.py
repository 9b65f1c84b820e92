"""The roles of DOMAIN.md and the scope each one lives in."""
from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    SYSADMIN = "sysadmin"
    ORG = "org"
    PROVINCE = "province"
    CITY = "city"
    SCHOOL = "school"
    CANDIDATE = "candidate"
    #: a school's proctor (监考人员) with an account for check-in: sees only their own rooms
    PROCTOR = "proctor"


ROLE_LABELS = {
    Role.SYSADMIN: "系统管理员",
    Role.ORG: "评价组织",
    Role.PROVINCE: "省级教育行政部门",
    Role.CITY: "地市级教育局",
    Role.SCHOOL: "试点院校",
    Role.CANDIDATE: "考生",
    Role.PROCTOR: "监考人员",
}

#: Which scope field a user of each role must have set (None: national scope).
SCOPE_FIELD = {
    Role.SYSADMIN: None,
    Role.ORG: None,
    Role.PROVINCE: "province_id",
    Role.CITY: "city_id",
    Role.SCHOOL: "school_id",
    Role.CANDIDATE: "school_id",
    Role.PROCTOR: "school_id",
}

STAFF = frozenset({Role.SYSADMIN, Role.ORG, Role.PROVINCE, Role.CITY, Role.SCHOOL})
NATIONAL = frozenset({Role.SYSADMIN, Role.ORG})
