"""The rush's users, for locust (bench/rush.py runs it headless; not meant to be run alone).

Three kinds of visitor, each from its own client address (X-Forwarded-For, read by the app
behind TRUST_PROXY as it would be behind nginx), so that the per-address limits of sign-in and
the public lookups apply to each simulated person as they would to real ones. Every person
waits 0.5-2 s (reading, clicking, typing) before each request, including between the steps of
one visit, so the kinds' shares of the requests follow their weights (3:4:3 by default;
RUSH_WEIGHT_COORDINATOR, RUSH_WEIGHT_CANDIDATE, RUSH_WEIGHT_VISITOR change them).

- Coordinator (a school's 报考 coordinator at the deadline): signs in once and works in that
  session, as a person at a desk does: lists and filters candidates (4), looks at the
  registration list (2), registers one candidate at a time (3), now and then imports a 报考
  sheet of 10 people (1; the job runs in the worker, its result page is fetched once) and goes
  back to the workbench (1). After a working session of 40-80 requests (SESSION_REQUESTS) the
  browser is closed and the next session signs in again. Its school's quota line runs out during
  the rush: refusals are expected answers (the page says so in Chinese), counted apart, not errors.
- Candidate (the week before the exam): opens the portal's sign-in page, signs in with ID number
  and password, sees the home page, downloads the admission ticket (PDF) and, one time in two,
  downloads it again (to print, or on another device); then leaves. The next visit is another
  candidate from another address: every candidate visit is a sign-in (4.5 requests a visit).
- Visitor (the public): opens the score lookup or the certificate verification form and posts it
  once (CSRF token from the form), then leaves; the next visit is a new address.

Sign-ins in this mix: a candidate's is one request in 4.5 of theirs (~40% of the requests at
3:4:3), a coordinator's one in ~60 (~30%), visitors have none: about 9-10% of all requests are
sign-in POSTs, each costing a scrypt hash (~85 ms of CPU here). bench/rush.py prints the share
measured in the run. The earlier mix (no wait inside a candidate's visit, coordinators never
signing in again) had 16%, by accident of the timing rather than by choice.

The manifest written by bench/rush.py (RUSH_MANIFEST) names accounts, ids and numbers.
"""
from __future__ import annotations

import io
import itertools
import json
import os
import random
import re
import uuid
from collections import Counter, deque

from locust import between, events, task
from locust.contrib.fasthttp import FastHttpUser

MANIFEST = json.loads(open(os.environ["RUSH_MANIFEST"], encoding="utf-8").read())
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
#: outcomes of the registration attempts, printed by bench/rush.py from the JSON written at quit
OUTCOMES: Counter = Counter()
SCHOOLS = itertools.cycle(MANIFEST["schools"])
POOLS = {s["school_id"]: deque(s["pool"]) for s in MANIFEST["schools"]}
HOLDERS = MANIFEST["holders"]
LOOKUPS = MANIFEST["lookups"]
CERTIFICATES = MANIFEST["certificates"]
_addresses = random.Random(7)


def new_address() -> str:
    """A client address of its own for one simulated person (10.0.0.0/8: 16 million)."""
    return f"10.{_addresses.randrange(256)}.{_addresses.randrange(256)}.{_addresses.randrange(1, 255)}"


def csrf_of(text: str) -> str:
    match = CSRF.search(text or "")
    return (match.group(1) or match.group(2)) if match else ""


def sheet(rows: list[list]) -> bytes:
    """A 报考 sheet as the template asks for it (证件号码, 姓名, 等级, 考核站点, 是否补考)."""
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    ws = workbook.add_worksheet("报考信息")
    ws.write_row(0, 0, ["证件号码", "姓名", "等级", "考核站点", "是否补考"])
    for r, (number, name, site) in enumerate(rows, start=1):
        ws.write_string(r, 0, number)
        ws.write_row(r, 1, [name, "初级", site, "否"])
    workbook.close()
    return buffer.getvalue()


def multipart(fields: dict, file_field: str, file_name: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for key, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{file_name}"\r\n'
                 'Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n\r\n'.encode()
                 + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class Person(FastHttpUser):
    abstract = True
    network_timeout = 30.0
    connection_timeout = 30.0

    def become_new_person(self) -> None:
        self.client.cookiejar.clear()
        self.address = new_address()

    def get(self, url, name, **kw):
        return self.client.get(url, name=name, headers={"X-Forwarded-For": self.address}, **kw)

    def post(self, url, name, data, **kw):
        return self.client.post(url, name=name, data=data, headers={"X-Forwarded-For": self.address,
                                                                   **kw.pop("headers", {})}, **kw)


class Coordinator(Person):
    weight = int(os.environ.get("RUSH_WEIGHT_COORDINATOR", "3"))
    wait_time = between(0.5, 2.0)
    #: requests of one working session before the browser is closed and the next signs in again
    SESSION_REQUESTS = (40, 80)

    def on_start(self):
        self.school = next(SCHOOLS)
        self.pool = POOLS[self.school["school_id"]]
        self.sign_in()

    def sign_in(self):
        self.become_new_person()
        self.left = random.randint(*self.SESSION_REQUESTS)
        page = self.get("/login", "GET /login")
        self.wait()
        with self.post("/login", "POST /login (学校)", {
                "csrf_token": csrf_of(page.text), "username": self.school["username"],
                "password": MANIFEST["password"]}, allow_redirects=False, catch_response=True) as r:
            if r.status_code != 302:
                r.failure(f"sign-in refused: {r.status_code}")
        self.wait()
        self.workbench()

    def get(self, url, name, **kw):
        self.left = getattr(self, "left", 1) - 1
        return super().get(url, name, **kw)

    def post(self, url, name, data, **kw):
        self.left = getattr(self, "left", 1) - 1
        return super().post(url, name, data, **kw)

    def workbench(self):
        home = self.get("/", "GET / (工作台)")
        self.csrf = csrf_of(home.text) or getattr(self, "csrf", "")

    @task(1)
    def back_to_workbench(self):
        if self._session_over():
            return
        self.workbench()

    def _session_over(self) -> bool:
        if self.left > 0:
            return False
        self.sign_in()
        return True

    @task(4)
    def list_candidates(self):
        if self._session_over():
            return
        query = random.choice(["", "?state=信息准确", f"?class_name=心理{random.randint(2201, 2213)}班",
                               f"?page={random.randint(2, 25)}"])
        r = self.get(f"/candidates/{query}", "GET /candidates/ (列表/筛选)")
        self.csrf = csrf_of(r.text) or self.csrf

    @task(2)
    def list_registrations(self):
        if self._session_over():
            return
        self.get(f"/registrations/?plan_id={MANIFEST['open_plan_id']}", "GET /registrations/ (报考列表)")

    @task(3)
    def register_one(self):
        if self._session_over():
            return
        if not self.pool:
            return
        candidate_id, _, _ = self.pool.popleft()
        with self.post("/registrations/new", "POST /registrations/new (单个报考)", {
                "csrf_token": self.csrf, "ids": candidate_id, "plan_id": MANIFEST["open_plan_id"],
                "site_id": self.school["site_id"], "submit": "确认报考"},
                allow_redirects=False, catch_response=True) as r:
            if r.status_code == 302:
                OUTCOMES["single: registered"] += 1
            elif r.status_code == 200 and "指标" in r.text:
                OUTCOMES["single: refused, quota used up"] += 1  # an expected answer at the deadline
            elif r.status_code == 200:
                OUTCOMES["single: refused, other"] += 1
                r.failure("registration refused for another reason than quota")

    @task(1)
    def import_sheet(self):
        if self._session_over():
            return
        rows = [self.pool.popleft() for _ in range(min(10, len(self.pool)))]
        if not rows:
            return
        body, content_type = multipart(
            {"csrf_token": self.csrf, "plan_id": MANIFEST["open_plan_id"], "valid_only": "y", "submit": "开始导入"},
            "file", "报考.xlsx", sheet([[number, name, self.school["site_name"]] for _, number, name in rows]))
        with self.post("/registrations/import", "POST /registrations/import (批量报考)", body,
                       headers={"Content-Type": content_type}, allow_redirects=False, catch_response=True) as r:
            if r.status_code != 302:
                r.failure(f"import not accepted: {r.status_code}")
                return
            OUTCOMES["import: sheets sent"] += 1
            OUTCOMES["import: rows sent"] += len(rows)
            location = r.headers.get("Location", "")
        self.wait()
        self.get(location, "GET /registrations/import/<job> (导入结果)")


class Candidate(Person):
    weight = int(os.environ.get("RUSH_WEIGHT_CANDIDATE", "4"))
    wait_time = between(0.5, 2.0)

    @task
    def visit(self):
        self.become_new_person()
        id_number, registration_id = random.choice(HOLDERS)
        page = self.get("/portal/login", "GET /portal/login")
        self.wait()
        with self.post("/portal/login", "POST /portal/login (考生)", {
                "csrf_token": csrf_of(page.text), "id_number": id_number, "password": MANIFEST["password"]},
                allow_redirects=False, catch_response=True) as r:
            if r.status_code != 302:
                r.failure(f"portal sign-in refused: {r.status_code}")
                return
        self.wait()
        self.get("/portal/", "GET /portal/ (考生首页)")
        for _ in range(1 + (random.random() < 0.5)):  # one time in two, a second download
            self.wait()
            with self.get(f"/tickets/mine/{registration_id}.pdf", "GET /tickets/mine/<id>.pdf (准考证)",
                          catch_response=True) as r:
                if r.status_code != 200 or not r.content.startswith(b"%PDF"):
                    r.failure(f"no ticket PDF: {r.status_code}")


class Visitor(Person):
    weight = int(os.environ.get("RUSH_WEIGHT_VISITOR", "3"))
    wait_time = between(0.5, 2.0)

    @task(1)
    def score_lookup(self):
        self.become_new_person()
        id_number, ticket_number = random.choice(LOOKUPS)
        page = self.get("/scores/lookup", "GET /scores/lookup")
        self.wait()
        with self.post("/scores/lookup", "POST /scores/lookup (成绩查询)", {
                "csrf_token": csrf_of(page.text), "id_number": id_number, "ticket_number": ticket_number},
                catch_response=True) as r:
            if r.status_code != 200 or "合格" not in r.text:
                r.failure(f"no score found: {r.status_code}")

    @task(1)
    def verify_certificate(self):
        self.become_new_person()
        number, id_number = random.choice(CERTIFICATES)
        page = self.get("/certificates/verify", "GET /certificates/verify")
        self.wait()
        with self.post("/certificates/verify", "POST /certificates/verify (证书查验)", {
                "csrf_token": csrf_of(page.text), "number": number, "id_number": id_number},
                catch_response=True) as r:
            if r.status_code != 200 or "证书真实有效" not in r.text:
                r.failure(f"certificate not verified: {r.status_code}")


@events.quitting.add_listener
def _write_outcomes(environment, **_kw):
    path = os.environ.get("RUSH_OUTCOMES")
    if path:
        with open(path, "w", encoding="utf-8") as out:
            json.dump(dict(OUTCOMES), out, ensure_ascii=False)
