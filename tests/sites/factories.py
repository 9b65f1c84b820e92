"""Factories of exam sites, as plain callables.

`make_city`, `make_school` and `make_user` here work like those of tests/conftest.py but
count on their own, in another code range: the list and permission tests of sites and
exams make many users, and conftest's shared counter gives a city code of seven digits once
it passes 999 (which would break every later test that makes a city).
"""
from __future__ import annotations

import itertools

from examadmin.catalog import services as catalog
from examadmin.catalog.models import Level
from examadmin.core import auth
from examadmin.core.auth import SYSTEM
from examadmin.sites import services
from examadmin.sites.models import ExamSite
from tests.conftest import PASSWORD, province, the_certificate

_seq = itertools.count(1)


def make_city(province_code: str = "50"):
    n = next(_seq)
    prov = province(province_code)
    # Codes 1000-8999 (conftest uses 9000 and up); distinct within any one test.
    return catalog.save_city(SYSTEM, {"province_id": prov.id, "code": f"{prov.code}{1000 + n % 8000:04d}",
                                      "name": f"站点测试市{n}"})


def make_school(province_code: str = "50", city=None, name: str | None = None):
    n = next(_seq)
    city = city or make_city(province_code)
    return catalog.save_school(SYSTEM, {"code": f"58{n:08d}", "name": name or f"站点测试学院{n}",
                                        "type": "高职专科院校", "province_id": city.province_id,
                                        "city_id": city.id})


def make_user(role: str, *, school=None, province_code: str = "50"):
    n = next(_seq)
    scope = {}
    if role in ("school", "candidate", "proctor"):
        scope["school_id"] = (school or make_school(province_code)).id
    elif role == "city":
        scope["city_id"] = make_city(province_code).id
    elif role == "province":
        scope["province_id"] = province(province_code).id
    return auth.create_user(SYSTEM, username=f"s{role}{n}", name=f"{role}用户{n}", role=role,
                            password=PASSWORD, must_change_password=False, **scope)


def level_of(level: Level = Level.JUNIOR, certificate=None):
    certificate = certificate or the_certificate()
    return next(lv for lv in certificate.levels if lv.level == level)


def site_data(level: Level = Level.JUNIOR, certificate=None, **overrides) -> dict:
    return {"certificate_level_id": level_of(level, certificate).id, "address": "重庆市沙坪坝区大学城 1 号",
            "contact_name": "张老师", "contact_phone": "13800138000", "computer_rooms": 2, "seats": 120,
            "has_cameras": True, "has_computers": True, "has_network": True, "has_headsets": True,
            "has_microphones": True, "has_partitions": False, **overrides}


def make_site(school_user=None, level: Level = Level.JUNIOR, *, approved: bool = True, certificate=None,
              **overrides) -> ExamSite:
    """A site applied for by `school_user` (a new school user by default), approved unless told."""
    school_user = school_user or make_user("school")
    site = services.apply_site(school_user, site_data(level, certificate, **overrides))
    if approved:
        services.approve_site(make_user("org"), site.id)
    return site
