"""The embedded demo: a stable set of places, schools and one account per role.

`examadmin demo` loads it and may be run again: what exists is left as it is. Docs and
scripts rely on these names, codes and passwords, so change them only with README.md.
A deployment that is not a demo never runs this command (it refuses when accounts other
than the demo ones exist).
"""
from __future__ import annotations

import click
from flask import Flask
from sqlalchemy import select

from .catalog import services as catalog
from .catalog.models import City, Province, School
from .cli import domain_command
from .config import ROOT
from .core import auth
from .core.auth import SYSTEM, User
from .core.errors import DomainError
from .extensions import db

DEMO_PASSWORD = "demo1234"

CITIES = [
    {"province": "50", "code": "500106", "name": "沙坪坝区"},
    {"province": "51", "code": "510100", "name": "成都市"},
]

SCHOOLS = [
    {"code": "5150000001", "name": "重庆示范职业技术学院", "type": "高职专科院校", "province": "50",
     "city": "500106", "address": "重庆市沙坪坝区大学城中路 1 号"},
    {"code": "5150000002", "name": "重庆应用技术职业学院", "type": "本科层次职业学校", "province": "50",
     "city": "500106", "address": "重庆市沙坪坝区大学城南路 2 号"},
    {"code": "5150000003", "name": "成都示范职业学院", "type": "高职专科院校", "province": "51",
     "city": "510100", "address": "四川省成都市郫都区团结学院路 3 号"},
]

#: (username, name, role, scope kind, scope code, signer)
USERS = [
    ("admin", "系统管理员", "sysadmin", None, None, False),
    ("org", "评价组织管理员", "org", None, None, False),
    ("cq_province", "重庆市教委职成处", "province", "province", "50", False),
    ("sc_province", "四川省教育厅职成处", "province", "province", "51", False),
    ("cq_city", "沙坪坝区教委", "city", "city", "500106", False),
    ("sc_city", "成都市教育局", "city", "city", "510100", False),
    ("school1", "张老师（签发负责人）", "school", "school", "5150000001", True),
    ("school1_staff", "李老师", "school", "school", "5150000001", False),
    ("school2", "王老师", "school", "school", "5150000002", True),
    ("school3", "赵老师", "school", "school", "5150000003", True),
    ("candidate", "陈同学", "candidate", "school", "5150000001", False),
    ("proctor", "张伟（监考）", "proctor", "school", "5150000001", False),
]


def register(app: Flask) -> None:
    app.cli.add_command(demo_command)


def load_demo(force: bool = False) -> dict[str, int]:
    """Load the demo data; idempotent."""
    from .renewals.demo import HOLDER_USERNAME

    demo_names = {u[0] for u in USERS} | {HOLDER_USERNAME}
    others = db.session.scalars(select(User.username).where(User.username.not_in(demo_names))).all()
    if others and not force:
        raise DomainError(f"数据库中已有非演示账号（{', '.join(others[:5])}），这不是演示环境，已拒绝载入演示数据。"
                          "确需载入请加 --force。")
    catalog.seed_reference_data(SYSTEM, ROOT / "sample_data")
    province_ids = {p.code: p.id for p in db.session.scalars(select(Province))}
    for city in CITIES:
        if db.session.scalar(select(City).where(City.code == city["code"])) is None:
            catalog.save_city(SYSTEM, {"province_id": province_ids[city["province"]],
                                       "code": city["code"], "name": city["name"]})
    city_ids = {c.code: c.id for c in db.session.scalars(select(City))}
    for school in SCHOOLS:
        if db.session.scalar(select(School).where(School.code == school["code"])) is None:
            catalog.save_school(SYSTEM, {**school, "province_id": province_ids[school["province"]],
                                         "city_id": city_ids[school["city"]]})
    school_ids = {s.code: s.id for s in db.session.scalars(select(School))}
    created = 0
    for username, name, role, kind, code, signer in USERS:
        if db.session.scalar(select(User).where(User.username == username)) is not None:
            continue
        scope = {"province": {"province_id": province_ids.get(code)}, "city": {"city_id": city_ids.get(code)},
                 "school": {"school_id": school_ids.get(code)}}.get(kind, {})
        auth.create_user(SYSTEM, username=username, name=name, role=role, password=DEMO_PASSWORD,
                         is_signer=signer, must_change_password=False, **scope)
        created += 1
    db.session.flush()
    from .candidates.demo import load_demo as load_candidates
    from .pilots.demo import load_demo as load_pilots

    load_pilots()
    load_candidates()
    from .portal.demo import load_demo as load_portal_demo

    load_portal_demo()  # the `candidate` account opened and activated in the portal
    from .exams.demo import load_demo as load_exams_demo

    load_exams_demo()  # subjects, an approved site, a published plan open for registration
    from .registrations.demo import load_demo as load_registrations_demo
    from .registrations.demo import load_open_plan as load_open_plan_registrations

    load_registrations_demo()  # the candidates verified, an approved 初级 application (the plans below need both)

    from .scheduling.demo import load_demo as load_scheduling_demo

    load_scheduling_demo()  # rooms; a second plan scheduled, proctors assigned, tickets downloadable now
    from .scores.demo import load_demo as load_scores_demo

    load_scores_demo()  # the scheduled plan's scores, results published final

    from .certificates.demo import load_demo as load_certificates_demo

    # After issuance (issue 12's other half): one revoked, paper sent; nothing until certificates are issued.
    load_certificates_demo()
    from .hours.demo import load_demo as load_hours_demo

    load_hours_demo()  # 陈同学's hours in each review state; 郑海's for 中级; a 中级 site
    # The open plan's registrations come last of the year's steps: they obey the rules as of now,
    # so the past plan's final results (who passed 初级, who retakes it) and the hours must exist.
    load_open_plan_registrations()  # some paid, some unpaid, the social candidate's order waiting
    from .renewals.demo import load_demo as load_renewals_demo

    renewals = load_renewals_demo()  # two holders in their re-registration window: enough hours, and short of them
    return {"users": created + renewals.get("users", 0)}  # holder2's account counts too


@click.command("demo", help="载入演示数据（可重复执行）：两个省、三所院校、每个角色一个账号。")
@click.option("--force", is_flag=True, help="即使已有非演示账号也载入")
@domain_command
def demo_command(force):
    result = load_demo(force)
    click.echo(f"演示数据已就绪（新建账号 {result['users']} 个）。所有演示账号的密码：{DEMO_PASSWORD}")
