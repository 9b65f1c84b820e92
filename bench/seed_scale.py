"""National-scale data in PostgreSQL: a year of 1+X exams for one certificate.

    python bench/seed_scale.py postgresql://postgres@127.0.0.1:55433/ex_scale [--force]
        [--candidates 1000000] [--registrations 500000] [--schools 1500]

Runs the migrations, then fills the database with psycopg COPY (PERFORMANCE.md: 159k rows/s):
31 provinces with 5 cities each, the schools (one of them, 「国家示范职业技术学院」, with
20,000 candidates), the majors catalogue, one certificate with its levels and subjects,
per school two approved pilot applications (初级, 中级) with quota lines per major and two
approved exam sites, two exam plans — the first held in June (every registration paid,
scheduled into rooms with seats and admission tickets, checked in, scored, results final,
certificate records waiting for the org's signature), the second open for registration
(unpaid and paid registrations) — payment orders, proctors with their room assignments and
one audit entry per registration. The data keeps the app's invariants: valid ID numbers
(GB 11643-1999 check characters) agreeing with birth date and gender, registered
candidates 信息准确, quota lines used = their live registrations, ticket numbers in the
README's format with their Luhn digit, results computed from the scores.

A database that already holds tables is refused unless --force is given (which drops the
public schema first). Prints the rows and rate of every table, the total time and the
accounts to sign in with (password scale1234).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "scale1234"
BIG_SCHOOL_CANDIDATES = 20_000

PROVINCES = [
    ("11", "北京市"), ("12", "天津市"), ("13", "河北省"), ("14", "山西省"), ("15", "内蒙古自治区"),
    ("21", "辽宁省"), ("22", "吉林省"), ("23", "黑龙江省"), ("31", "上海市"), ("32", "江苏省"),
    ("33", "浙江省"), ("34", "安徽省"), ("35", "福建省"), ("36", "江西省"), ("37", "山东省"),
    ("41", "河南省"), ("42", "湖北省"), ("43", "湖南省"), ("44", "广东省"), ("45", "广西壮族自治区"),
    ("46", "海南省"), ("50", "重庆市"), ("51", "四川省"), ("52", "贵州省"), ("53", "云南省"),
    ("54", "西藏自治区"), ("61", "陕西省"), ("62", "甘肃省"), ("63", "青海省"), ("64", "宁夏回族自治区"),
    ("65", "新疆维吾尔自治区"),
]
CITY_NAMES = ["东湖市", "西山市", "南岭市", "北川市", "中原市"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华玉萍红娥玲芬燕彬鑫浩宇轩然子涵欣怡梓萱诗雨佳琪晨思睿博文一诺俊熙嘉宁瑞泽雅婷"
ETHNICITIES = ["汉族"] * 18 + ["壮族", "回族", "满族", "维吾尔族", "苗族", "彝族", "土家族", "藏族"]
SCHOOL_KINDS = ["职业技术学院", "职业学院", "工程职业技术学院", "应用技术学院", "城市职业学院"]
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"
#: (level, subject, full mark, pass mark, fee)
LEVELS = [("初级", "社会心理服务基础理论与实务", 100, 60, Decimal("300.00")),
          ("中级", "社会心理服务专业理论与实务", 100, 60, Decimal("420.00")),
          ("高级", "社会心理服务综合理论与实务", 100, 60, Decimal("560.00"))]
ROOM_SEATS = 30


def id_number(region: str, born: date, seq: int) -> str:
    body = f"{region}{born:%Y%m%d}{seq:03d}"
    return body + CHECK[sum(int(d) * w for d, w in zip(body, WEIGHTS)) % 11]


class Copier:
    """COPY rows into tables on one connection, timing each table."""

    def __init__(self, conn):
        self.conn = conn
        self.stats: list[tuple[str, int, float]] = []

    def copy(self, table: str, columns: list[str], rows) -> int:
        started = time.perf_counter()
        count = 0
        cols = ", ".join(f'"{c}"' for c in columns)
        with self.conn.cursor() as cur:
            with cur.copy(f'COPY "{table}" ({cols}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
        self.stats.append((table, count, time.perf_counter() - started))
        return count


def refuse_or_reset(url: str, force: bool) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
                              ).fetchone()[0]
        if tables and not force:
            sys.exit(f"数据库不是空的（已有 {tables} 张表）：请换一个空数据库，或加 --force 清空后重建。")
        if tables:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database_url")
    parser.add_argument("--force", action="store_true", help="drop everything in the database first")
    parser.add_argument("--candidates", type=int, default=1_000_000)
    parser.add_argument("--registrations", type=int, default=500_000)
    parser.add_argument("--schools", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    if not args.database_url.startswith(("postgresql", "postgres")):
        sys.exit("seed_scale 只支持 PostgreSQL（postgresql://…）")
    if args.registrations > args.candidates or args.schools < 2 or args.candidates < args.schools * 10:
        sys.exit("参数不合理：报考数不能多于考生数，每所院校至少 10 名考生")
    t0 = time.perf_counter()
    refuse_or_reset(args.database_url.replace("postgresql+psycopg", "postgresql"), args.force)

    tmp = tempfile.mkdtemp(prefix="examadmin-seed-scale-")
    os.environ.update(EXAMADMIN_INSTANCE=tmp, HUEY_SQLITE_PATH=f"{tmp}/huey.db")
    sys.path.insert(0, str(ROOT))
    from flask_migrate import upgrade

    from examadmin import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": args.database_url, "STORAGE_DIR": f"{tmp}/storage"})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
    t_migrate = time.perf_counter() - t0
    print(f"迁移完成 {t_migrate:.1f} s", flush=True)

    import psycopg

    url = args.database_url.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(url) as conn:
        seed(conn, args)
        conn.commit()
        c = conn
        t_an = time.perf_counter()
        c.autocommit = True
        c.execute("VACUUM ANALYZE")
        analyze_s = time.perf_counter() - t_an
    total = time.perf_counter() - t0
    print(f"VACUUM ANALYZE {analyze_s:.1f} s")
    print(f"总耗时 {total:.1f} s（其中迁移 {t_migrate:.1f} s）")


def seed(conn, args) -> None:
    from werkzeug.security import generate_password_hash

    rng = random.Random(args.seed)
    cp = Copier(conn)
    # A bulk load's usual shape: the rows are made consistent here, so foreign-key triggers
    # are off for this session (superuser), and the secondary indexes that no constraint
    # needs are dropped and built once at the end, which is several times faster than
    # keeping them up to date row by row.
    with conn.cursor() as cur:
        cur.execute("SET session_replication_role = replica")
        cur.execute("SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' "
                    "AND i.indexname NOT IN (SELECT c.relname FROM pg_constraint k "
                    "JOIN pg_class c ON c.oid = k.conindid)")
        deferred_indexes = cur.fetchall()
        for name, _ in deferred_indexes:
            cur.execute(f'DROP INDEX "{name}"')
    now = datetime(2026, 11, 20, 10, 0, 0)
    pw_hash = generate_password_hash(PASSWORD)

    # -- catalog --------------------------------------------------------------------------
    provinces = [(i + 1, code, name) for i, (code, name) in enumerate(PROVINCES)]
    cp.copy("province", ["id", "code", "name", "authority"],
            ((pid, code, name, f"{name}教育厅" if not name.endswith("市") else f"{name}教育委员会")
             for pid, code, name in provinces))
    cities = []  # (id, province_id, code, name, province_code)
    for pid, code, _ in provinces:
        for k, cname in enumerate(CITY_NAMES):
            cities.append((len(cities) + 1, pid, f"{code}{k + 1:02d}00", cname, code))
    cp.copy("city", ["id", "province_id", "code", "name"], ((c[0], c[1], c[2], c[3]) for c in cities))
    cities_of = defaultdict(list)
    for c in cities:
        cities_of[c[1]].append(c)

    # majors: the sample catalogue
    import csv

    majors = []  # (id, school_type, code, name)
    with open(ROOT / "sample_data" / "majors.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            majors.append((len(majors) + 1, row["school_type"], row["major_level"], row["catalogue_version"],
                           row["major_code"], row["major_name"]))
    cp.copy("major", ["id", "school_type", "level", "catalogue_version", "code", "name"], majors)
    majors_of_type = defaultdict(list)
    for m in majors:
        majors_of_type[m[1]].append(m)

    schools = []  # dicts
    for i in range(args.schools):
        pid, pcode, pname = provinces[i % len(provinces)]
        city = cities_of[pid][(i // len(provinces)) % 5]
        stype = "高职专科院校" if i % 10 < 8 else ("本科层次职业学校" if i % 10 == 8 else "本科院校")
        if i == 0:
            name = "国家示范职业技术学院"
        else:
            kind = SCHOOL_KINDS[i % len(SCHOOL_KINDS)] if stype == "高职专科院校" else (
                "职业技术大学" if stype == "本科层次职业学校" else "学院")
            name = f"{pname[:2]}{city[3][:2]}第{i + 1}{kind}"
        schools.append({"id": i + 1, "code": f"41{pcode}{i + 1:06d}", "name": name, "type": stype,
                        "province_id": pid, "city_id": city[0], "region": city[2],
                        "address": f"{pname}{city[3]}学府路 {i + 1} 号",
                        "majors": rng.sample(majors_of_type[stype], 3)})
    cp.copy("school", ["id", "code", "name", "type", "province_id", "city_id", "address"],
            ((s["id"], s["code"], s["name"], s["type"], s["province_id"], s["city_id"], s["address"])
             for s in schools))

    cp.copy("certificate", ["id", "code", "name", "org_name", "state"],
            [(1, "SXLFW", "社会心理服务职业技能等级证书", "中科心理（北京）科技发展有限公司", "启用")])
    cp.copy("certificate_level", ["id", "certificate_id", "level", "rank", "description"],
            [(k + 1, 1, lv[0], k + 1, f"社会心理服务{lv[0]}：面向相应岗位的职业技能要求") for k, lv in enumerate(LEVELS)])
    cp.copy("subject", ["id", "certificate_level_id", "name", "mode", "full_mark", "pass_mark"],
            [(k + 1, k + 1, lv[1], "机考", lv[2], lv[3]) for k, lv in enumerate(LEVELS)])

    # -- users (password scale1234) -------------------------------------------------------
    big = schools[0]
    user_rows = [
        (1, "admin", "系统管理员", "sysadmin", None, None, None, None, False),
        (2, "org", "评价组织管理员", "org", None, None, None, None, False),
        (3, "province", f"{provinces[0][2]}教委职成处", "province", big["province_id"], None, None, None, False),
        (4, "city", f"{cities[big['city_id'] - 1][3]}教育局", "city", big["province_id"], big["city_id"], None, None, False),
        (5, "school", "张老师（签发负责人）", "school", big["province_id"], big["city_id"], big["id"], None, True),
        (6, "proctor", "李伟（监考）", "proctor", big["province_id"], big["city_id"], big["id"], None, False),
    ]
    user_cols = ["id", "username", "name", "password_hash", "role", "province_id", "city_id", "school_id",
                 "candidate_id", "is_signer", "active", "session_version", "must_change_password", "phone",
                 "created_at"]

    def copy_users(rows):
        cp.copy("user", user_cols, [(u[0], u[1], u[2], pw_hash, u[3], u[4], u[5], u[6], u[7], u[8], True, 1, False,
                                     "", now) for u in rows])

    copy_users(user_rows)  # the candidate's account (7) follows once the candidate exists

    # -- exam plans ----------------------------------------------------------------------
    plans = [
        {"id": 1, "name": "2026年第1次全国统一考试（社会心理服务）",
         "reg": (datetime(2026, 3, 1, 9), datetime(2026, 4, 30, 17)), "pay": datetime(2026, 5, 15, 17),
         "ticket": (datetime(2026, 6, 13, 9), datetime(2026, 6, 20, 9)),
         "sessions": [(date(2026, 6, 20), "09:00", "11:00", 1), (date(2026, 6, 20), "14:00", "16:00", 2)]},
        {"id": 2, "name": "2026年第2次全国统一考试（社会心理服务）",
         "reg": (datetime(2026, 11, 1, 9), datetime(2026, 12, 15, 17)), "pay": datetime(2026, 12, 25, 17),
         "ticket": (datetime(2027, 1, 9, 9), datetime(2027, 1, 16, 9)),
         "sessions": [(date(2027, 1, 16), "09:00", "11:00", 1), (date(2027, 1, 16), "14:00", "16:00", 2)]},
    ]
    cp.copy("exam_plan", ["id", "name", "certificate_id", "registration_start", "registration_end",
                          "payment_deadline", "ticket_start", "ticket_end", "state", "created_at"],
            [(p["id"], p["name"], 1, p["reg"][0], p["reg"][1], p["pay"], p["ticket"][0], p["ticket"][1], "已发布",
              p["reg"][0] - timedelta(days=20)) for p in plans])
    cp.copy("plan_fee", ["id", "plan_id", "level", "amount"],
            [(k + 1, p["id"], LEVELS[j][0], LEVELS[j][4]) for k, (p, j) in
             enumerate((p, j) for p in plans for j in range(3))])
    session_rows, session_id = [], {}
    for p in plans:
        for idx, (d, start, end, level_id) in enumerate(p["sessions"], start=1):
            sid = len(session_rows) + 1
            session_rows.append((sid, p["id"], level_id, d, start, end))
            session_id[(p["id"], level_id)] = (sid, idx)
    cp.copy("exam_session", ["id", "plan_id", "subject_id", "date", "start_time", "end_time"], session_rows)

    # -- pilot applications with quota lines; exam sites -------------------------------------
    cp.copy("application_plan", ["id", "province_id", "year", "batch", "window_start", "window_end",
                                 "requires_majors", "requires_city_review", "all_levels", "created_at"],
            [(pid, pid, 2026, "第一批", datetime(2026, 1, 5, 9), datetime(2026, 2, 5, 17), True, pid % 3 == 0, True,
              datetime(2026, 1, 2, 9)) for pid, _, _ in provinces])

    # -- candidates ---------------------------------------------------------------------
    n_c, n_r = args.candidates, args.registrations
    big_size = min(BIG_SCHOOL_CANDIDATES, n_c // 10)
    rest = n_c - big_size
    weights = [rng.lognormvariate(0, 0.6) for _ in schools[1:]]
    scale = (rest - 10 * len(weights)) / sum(weights)
    sizes = [big_size] + [10 + int(w * scale) for w in weights]
    sizes[1] += n_c - sum(sizes)
    reg_share = n_r / n_c
    born_start = date(1999, 1, 1).toordinal()

    cand_cols = ["id", "school_id", "kind", "name", "id_type", "id_number", "gender", "birth_date", "ethnicity",
                 "phone", "major_id", "class_name", "student_number", "enrolment_year", "photo_key",
                 "photo_uploaded_at", "state", "verify_reasons", "verified_at", "hidden", "hidden_at",
                 "created_at", "updated_at"]
    #: per registered candidate: (candidate id, school, kind, major id, id_number, name, gender)
    registered: list[tuple] = []
    seq_of_region: dict[tuple, int] = defaultdict(int)
    reasons = json.dumps(["照片不符合规格：背景颜色不是白色或浅蓝色"], ensure_ascii=False)

    def candidate_rows():
        cid = done = 0
        for school, size in zip(schools, sizes):
            n_reg = round((done + size) * reg_share) - round(done * reg_share)
            done += size
            created = datetime(2026, 2, 1, 9) + timedelta(minutes=school["id"])
            for k in range(size):
                cid += 1
                social = rng.random() < 0.1
                born = date.fromordinal(born_start + rng.randrange(3650))
                key = (school["region"], born)
                seq = seq_of_region[key]
                seq_of_region[key] = seq + 1
                assert seq < 1000, "too many candidates for one region and birth day"
                number = id_number(school["region"], born, seq)
                gender = "男" if int(number[16]) % 2 else "女"
                name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")
                if k < n_reg:
                    state, verified, hidden = "信息准确", created + timedelta(days=3), False
                else:
                    r = rng.random()
                    state = "信息准确" if r < 0.6 else "信息待认证" if r < 0.85 else "需人工确认"
                    verified = created + timedelta(days=3) if state != "信息待认证" else None
                    hidden = rng.random() < 0.005
                photo = state != "信息待认证" or rng.random() < 0.5
                if social:
                    major_id, class_name, student_no, year = None, "", "", None
                else:
                    major = school["majors"][k % 3]
                    year = 2023 + k % 3
                    major_id = major[0]
                    class_name = f"{major[5][:4]}{year % 100}级{k % 6 + 1}班"
                    student_no = f"{year}{school['id']:04d}{k:05d}"
                if k < n_reg:
                    registered.append((cid, school, social, major_id, number, name, gender))
                yield (cid, school["id"], "社会考生" if social else "本校考生", name, "居民身份证", number, gender,
                       born, rng.choice(ETHNICITIES), f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}",
                       major_id, class_name, student_no, year,
                       f"photos/{school['id']}/{cid}.jpg" if photo else None, created if photo else None,
                       state, reasons if state == "需人工确认" else None, verified, hidden,
                       created + timedelta(days=10) if hidden else None, created, verified or created)

    cp.copy("candidate", cand_cols, candidate_rows())

    # -- registrations: plan 1 (held, scored) and plan 2 (open) ------------------------------
    rng.shuffle(registered)
    n_plan2 = max(1, n_r // 10)
    plan_of = [2 if i < n_plan2 else 1 for i in range(len(registered))]
    reg_rows = []  # tuples in reg_cols order
    line_use: dict[tuple, int] = defaultdict(int)  # (school id, level id, major id) -> used places
    reg_info = []  # (reg id, plan, school, level, candidate id, kind social, number, name, gender, site key)
    for i, (cid, school, social, major_id, number, name, gender) in enumerate(registered):
        level_id = 1 if rng.random() < 0.7 else 2
        retake = (not social) and rng.random() < 0.03
        plan_id = plan_of[i]
        reg_info.append([i + 1, plan_id, school, level_id, cid, social, number, name, gender, major_id, retake])
        if not social and not retake:
            line_use[(school["id"], level_id, major_id)] += 1

    # applications and lines: per school and level, one line per major of the school
    app_rows, line_rows, line_id_of = [], [], {}
    for s in schools:
        for level_id in (1, 2):
            aid = len(app_rows) + 1
            submitted = datetime(2026, 1, 20, 10) + timedelta(minutes=s["id"])
            app_rows.append((aid, s["province_id"], s["id"], 2026, level_id,
                             f"{s['name']}申报社会心理服务{LEVELS[level_id - 1][0]}证书试点，已完成师资培训。",
                             "审核通过", submitted - timedelta(days=3), submitted, submitted + timedelta(days=7)))
            for m in s["majors"]:
                used = line_use.get((s["id"], level_id, m[0]), 0)
                approved = used + rng.randrange(5, 60)
                lid = len(line_rows) + 1
                line_rows.append((lid, aid, m[0], rng.randrange(200, 1500), rng.randrange(5, 30),
                                  approved + rng.randrange(0, 40), approved, used))
                line_id_of[(s["id"], level_id, m[0])] = lid
    cp.copy("application", ["id", "plan_id", "school_id", "year", "certificate_level_id", "explanation", "state",
                            "created_at", "submitted_at", "approved_at"], app_rows)
    cp.copy("application_line", ["id", "application_id", "major_id", "students", "teachers", "requested",
                                 "approved", "used"], line_rows)

    site_rows, site_id_of = [], {}
    for s in schools:
        for level_id in (1, 2):
            sid = len(site_rows) + 1
            site_id_of[(s["id"], level_id)] = sid
            site_rows.append((sid, s["id"], level_id, f"{s['name']}社会心理服务{LEVELS[level_id - 1][0]}",
                              s["address"], "王老师", f"023{rng.randrange(10**8):08d}", rng.randrange(2, 12),
                              rng.randrange(60, 600), True, True, True, True, True, level_id == 1, "已通过", "",
                              datetime(2026, 2, 10, 9), datetime(2026, 2, 15, 9)))
    cp.copy("exam_site", ["id", "school_id", "certificate_level_id", "name", "address", "contact_name",
                          "contact_phone", "computer_rooms", "seats", "has_cameras", "has_computers", "has_network",
                          "has_headsets", "has_microphones", "has_partitions", "state", "reason", "submitted_at",
                          "reviewed_at"], site_rows)

    # payment orders: plan 1 one per school (students) and one per social candidate; plan 2 some
    order_rows, school_order = [], {}

    def order(plan_id, school_id, kind, cand_id, amount, state, at):
        oid = len(order_rows) + 1
        order_rows.append([oid, f"JF{at:%Y%m%d}{oid:06d}", plan_id, school_id, kind, cand_id, amount, "voucher",
                           f"BANK{oid:010d}", f"vouchers/{oid}.pdf", f"缴费凭证{oid}.pdf", state, "", at,
                           at + timedelta(days=1) if state == "待确认" or state == "已确认" else None,
                           at + timedelta(days=2) if state == "已确认" else None])
        return oid

    reg_cols = ["id", "plan_id", "candidate_id", "school_id", "site_id", "certificate_level_id", "id_type",
                "id_number", "kind", "is_retake", "retake_basis", "quota_line_id", "fee", "payment_order_id",
                "state", "cancel_reason", "created_at", "created_by_id", "paid_at", "ended_at"]
    for info in reg_info:
        rid, plan_id, school, level_id, cid, social, number, name, gender, major_id, retake = info
        fee = LEVELS[level_id - 1][4]
        plan = plans[plan_id - 1]
        created = plan["reg"][0] + timedelta(days=rng.randrange(20), minutes=rng.randrange(600))
        quota_line = None if (social or retake) else line_id_of[(school["id"], level_id, major_id)]
        if plan_id == 1:
            paid_at = created + timedelta(days=5)
            if social:
                oid = order(1, school["id"], "社会考生个人缴费", cid, fee, "已确认", paid_at - timedelta(days=2))
            else:
                oid = school_order.get((1, school["id"]))
                if oid is None:
                    oid = school_order[(1, school["id"])] = order(1, school["id"], "学校统一缴费", None, 0, "已确认",
                                                                  paid_at - timedelta(days=2))
                order_rows[oid - 1][6] += fee
            state = "已排考"
        else:
            if not social and school["id"] % 3 == 0:
                oid = school_order.get((2, school["id"]))
                if oid is None:
                    oid = school_order[(2, school["id"])] = order(2, school["id"], "学校统一缴费", None, 0, "已确认",
                                                                  datetime(2026, 11, 15, 10))
                order_rows[oid - 1][6] += fee
                paid_at, state = datetime(2026, 11, 17, 10), "已缴费"
            else:
                oid, paid_at, state = None, None, "待缴费"
        reg_rows.append((rid, plan_id, cid, school["id"], site_id_of[(school["id"], level_id)], level_id,
                         "居民身份证", number, "社会考生" if social else "本校考生", retake,
                         "学校标记" if retake else None, quota_line, fee, oid, state, "", created, 5 if school is big else None,
                         paid_at, None))
    cp.copy("payment_order", ["id", "reference", "plan_id", "school_id", "kind", "candidate_id", "amount",
                              "provider", "transaction_ref", "voucher_key", "voucher_name", "state",
                              "reject_reason", "created_at", "submitted_at", "decided_at"], order_rows)
    cp.copy("registration", reg_cols, reg_rows)

    # -- plan 1: rooms, seats, tickets, proctors, scores, results, certificate records ----------
    from examadmin.scheduling.services.ticket_numbers import SiteNumbering

    by_site = defaultdict(list)
    for info in reg_info:
        if info[1] == 1:
            by_site[(info[2]["id"], info[3])].append(info)
    room_rows, seat_rows, ticket_rows, run_rows, score_rows, result_rows, cert_rows = [], [], [], [], [], [], []
    proctor_rows, assign_rows = [], []
    rooms_of_school: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    exam_day = datetime(2026, 6, 20, 8, 30)
    candidate_reg = None
    for (school_id, level_id), infos in sorted(by_site.items()):
        site = site_id_of[(school_id, level_id)]
        sess_id, sess_idx = session_id[(1, level_id)]
        numbering = SiteNumbering(2026, 1, site)
        run_id = len(run_rows) + 1
        run_rows.append((run_id, 1, site, school_id, rng.randrange(2**31), len(infos), datetime(2026, 6, 1, 10)))
        for r in range(math.ceil(len(infos) / ROOM_SEATS)):
            room_id = len(room_rows) + 1
            room_rows.append((room_id, 1, site, level_id, school_id, f"实训楼 {level_id}{r + 1:02d}", ROOM_SEATS,
                              True, r + 1, datetime(2026, 5, 25, 10)))
            rooms_of_school[school_id][sess_id].append(room_id)
            for seat, info in enumerate(infos[r * ROOM_SEATS:(r + 1) * ROOM_SEATS], start=1):
                rid = info[0]
                absent = rng.random() < 0.03
                seat_rows.append((len(seat_rows) + 1, rid, 1, school_id, site, level_id, sess_id, room_id, seat,
                                  run_id, datetime(2026, 6, 1, 10),
                                  None if absent else exam_day + timedelta(minutes=rng.randrange(25)),
                                  None, absent))
                ticket_rows.append((len(ticket_rows) + 1, rid, 1, school_id,
                                    numbering.build(sess_idx, r + 1, seat), datetime(2026, 6, 1, 10)))
                violation = not absent and rng.random() < 0.002
                score = None if absent or violation else Decimal(
                    max(0, min(1000, round(rng.gauss(720, 120))))) / 10
                score_rows.append((rid, rid, level_id, 1, school_id, score, absent, violation,
                                   datetime(2026, 7, 1, 10), 2, datetime(2026, 7, 1, 10)))
                passed = score is not None and score >= LEVELS[level_id - 1][3]
                result_rows.append((rid, rid, 1, school_id, level_id, "居民身份证", info[6], passed, score,
                                    datetime(2026, 7, 1, 10)))
                if passed:
                    cert_rows.append((len(cert_rows) + 1, rid, rid, info[4], 1, school_id, site, level_id, info[7],
                                      info[8], "居民身份证", info[6], os.urandom(16).hex(), "待评价组织签发",
                                      datetime(2026, 7, 20, 10), ""))
                    if candidate_reg is None and school_id == big["id"]:
                        candidate_reg = info
    cp.copy("schedule_run", ["id", "plan_id", "site_id", "school_id", "seed", "placed", "created_at"], run_rows)
    cp.copy("exam_room", ["id", "plan_id", "site_id", "subject_id", "school_id", "name", "seats", "scheduled",
                          "number", "created_at"], room_rows)
    # proctors: enough per school for one room each per session, plus two spare
    for school_id, by_session in sorted(rooms_of_school.items()):
        need = max(len(v) for v in by_session.values()) + 2
        region = schools[school_id - 1]["region"]
        first = len(proctor_rows) + 1
        for k in range(need):
            born = date(1975, 1, 1) + timedelta(days=(school_id * 37 + k * 11) % 7000)
            proctor_rows.append((first + k, school_id, rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                                 f"139{rng.randrange(10**8):08d}", "居民身份证", id_number(region, born, k % 1000),
                                 "主监考" if k % 3 else "副监考", 6 if (school_id == big["id"] and k == 0) else None,
                                 True, datetime(2026, 5, 20, 9)))
        for sess, rooms in by_session.items():
            for k, room_id in enumerate(rooms):
                assign_rows.append((len(assign_rows) + 1, first + k, room_id, sess, school_id, datetime(2026, 6, 5, 9)))
    cp.copy("proctor", ["id", "school_id", "name", "phone", "id_type", "id_number", "role", "user_id", "active",
                        "created_at"], proctor_rows)
    cp.copy("proctor_assignment", ["id", "proctor_id", "room_id", "session_id", "school_id", "created_at"],
            assign_rows)
    cp.copy("seat", ["id", "registration_id", "plan_id", "school_id", "site_id", "subject_id", "session_id", "room_id",
                     "seat_number", "schedule_run_id", "created_at", "checked_in_at", "checked_in_by_id", "absent"],
            seat_rows)
    cp.copy("admission_ticket", ["id", "registration_id", "plan_id", "school_id", "ticket_number", "issued_at"],
            ticket_rows)
    cp.copy("score", ["id", "registration_id", "subject_id", "plan_id", "school_id", "score", "absent", "violation",
                      "entered_at", "entered_by_id", "updated_at"], score_rows)
    cp.copy("result", ["id", "registration_id", "plan_id", "school_id", "certificate_level_id", "id_type",
                       "id_number", "passed", "total", "computed_at"], result_rows)
    cp.copy("score_publication", ["id", "plan_id", "stage", "display_days", "display_started_at", "display_ends_at",
                                  "published_at"],
            [(1, 1, "成绩已发布", 5, datetime(2026, 7, 5, 9), datetime(2026, 7, 10, 17), datetime(2026, 7, 12, 9))])
    cp.copy("certificate_record", ["id", "result_id", "registration_id", "candidate_id", "plan_id", "school_id",
                                   "site_id", "certificate_level_id", "name", "gender", "id_type", "id_number",
                                   "verify_code", "state", "created_at", "revoke_reason"], cert_rows)
    # one audit entry per registration, in the scope of its school
    audit_rows = ((info[0], plans[info[1] - 1]["reg"][0] + timedelta(minutes=info[0] % 50000),
                   5 if info[2] is big else None, "张老师（签发负责人）" if info[2] is big else "院校管理员", "school",
                   "registration.create", "registration", info[0],
                   f"{info[7]} 报考 社会心理服务职业技能等级证书（{LEVELS[info[3] - 1][0]}）",
                   json.dumps({"plan": plans[info[1] - 1]["name"], "level": LEVELS[info[3] - 1][0]},
                              ensure_ascii=False), "10.0.0.1", info[2]["id"], info[2]["city_id"],
                   info[2]["province_id"]) for info in reg_info)
    cp.copy("audit_log", ["id", "at", "actor_id", "actor_name", "actor_role", "action", "entity_type", "entity_id",
                          "entity_label", "after", "ip", "school_id", "city_id", "province_id"], audit_rows)

    # the candidate account: a candidate of the big school with a passed result
    cand = candidate_reg
    copy_users([(7, f"ks{cand[4]}-scale", cand[7], "candidate", big["province_id"], big["city_id"], big["id"],
                 cand[4], False)])
    cp.copy("portal_account", ["id", "candidate_id", "school_id", "user_id", "code_hash", "code_issued_at",
                               "activated_at", "created_at"],
            [(1, cand[4], big["id"], 7, None, now, now, now)])

    with conn.cursor() as cur:
        started = time.perf_counter()
        for _, definition in deferred_indexes:
            cur.execute(definition)
        cp.stats.append((f"（建索引 {len(deferred_indexes)} 个）", 0, time.perf_counter() - started))
        cur.execute("SET session_replication_role = origin")
        cur.execute("SELECT table_name FROM information_schema.columns WHERE table_schema='public' "
                    "AND column_name='id' AND column_default LIKE 'nextval%'")
        for (table,) in cur.fetchall():
            cur.execute(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                        f"coalesce((SELECT max(id) FROM \"{table}\"), 0) + 1, false)")

    print(f"{'表':<22}{'行数':>10}{'秒':>8}{'行/秒':>10}")
    total_rows = total_s = 0
    for table, count, secs in cp.stats:
        total_rows += count
        total_s += secs
        print(f"{table:<22}{count:>10,}{secs:>8.2f}{(count / secs if secs else 0):>10,.0f}")
    print(f"{'合计':<22}{total_rows:>10,}{total_s:>8.2f}{total_rows / total_s:>10,.0f}")
    print()
    print(f"登录账号（密码均为 {PASSWORD}）：")
    print("  评价组织 org；系统管理员 admin")
    print(f"  省级 province（{provinces[big['province_id'] - 1][2]}）；地市 city（{cities[big['city_id'] - 1][3]}）")
    print(f"  院校 school（{big['name']}，{min(BIG_SCHOOL_CANDIDATES, args.candidates // 10):,} 名考生）；监考 proctor")
    print(f"  考生：在 /portal/login 用身份证号 {cand[6]} 登录（{cand[7]}）")


if __name__ == "__main__":
    main()
