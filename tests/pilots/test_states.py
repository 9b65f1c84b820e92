"""The application state machine: every allowed move and every forbidden one."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from examadmin.pilots.states import APPLICATION, ApplicationState as S
from tests.workflow_table import check_move

ROLES = ["sysadmin", "org", "province", "city", "school", "candidate", None]
ACTIONS = ["submit", "pass", "return", "approve"]

# (state, action, role, plan needs the city, returned by) -> target; all else is refused
ALLOWED = {}
for returned_by in (None, "city", "province"):
    for city in (True, False):
        for source in (S.DRAFT, S.RETURNED):
            goes_to_city = city and returned_by != "province"
            ALLOWED[(source, "submit", "school", city, returned_by)] = S.CITY_REVIEW if goes_to_city else S.PROVINCE_REVIEW
        ALLOWED[(S.CITY_REVIEW, "pass", "city", city, returned_by)] = S.PROVINCE_REVIEW
        ALLOWED[(S.CITY_REVIEW, "return", "city", city, returned_by)] = S.RETURNED
        ALLOWED[(S.PROVINCE_REVIEW, "return", "province", city, returned_by)] = S.RETURNED
        ALLOWED[(S.PROVINCE_REVIEW, "approve", "province", city, returned_by)] = S.APPROVED
        ALLOWED[(S.APPROVED, "return", "province", city, returned_by)] = S.RETURNED


@pytest.mark.parametrize("returned_by", [None, "city", "province"])
@pytest.mark.parametrize("city", [True, False])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("state", list(S))
def test_every_move(state, action, role, city, returned_by, monkeypatch):
    record = SimpleNamespace(state=state, id=1, returned_by=returned_by,
                             plan=SimpleNamespace(requires_city_review=city))
    check_move(APPLICATION, record, action, role, ALLOWED.get((state, action, role, city, returned_by)),
               monkeypatch)
