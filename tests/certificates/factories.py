"""Factories of the certificate tests: results of a plan whose scores are final, inserted directly.

The scores services are built in parallel (issue 11); a passed final result here is what
publication would leave: a Result with passed=True and a ScorePublication at 成绩已发布.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from examadmin.extensions import db
from examadmin.scores.models import Result, ScorePublication
from examadmin.scores.states import PublicationStage
from examadmin.sites.models import ExamSite
from tests.exams.factories import make_plan, make_subject
from tests.scheduling.factories import make_candidate, make_registration
from tests.sites.factories import make_site, make_user
from tests.conftest import make_user as make_any_user


@dataclass
class Setup:
    plan: object
    site: ExamSite
    school_user: object
    org: object
    signer: object
    results: list[Result] = field(default_factory=list)


def make_result(plan, site: ExamSite, passed: bool | None = True, name: str | None = None) -> Result:
    candidate = make_candidate(site.school_id, name=name)
    registration = make_registration(candidate, plan, site)
    result = Result(registration_id=registration.id, plan_id=plan.id, school_id=site.school_id,
                    certificate_level_id=site.certificate_level_id, id_type=candidate.id_type,
                    id_number=candidate.id_number, passed=passed)
    db.session.add(result)
    db.session.flush()
    return result


def publish(plan, stage: PublicationStage = PublicationStage.FINAL) -> ScorePublication:
    publication = ScorePublication(plan_id=plan.id, stage=stage)
    db.session.add(publication)
    db.session.flush()
    return publication


def make_setup(passed: int = 3, failed: int = 1, stage: PublicationStage = PublicationStage.FINAL) -> Setup:
    """A published plan, an approved site, `passed` passed and `failed` failed results, scores at `stage`."""
    plan = make_plan([(make_subject(), "09:00", "11:00")])
    school_user = make_user("school")
    site = make_site(school_user)
    results = [make_result(plan, site, True) for _ in range(passed)]
    results += [make_result(plan, site, False) for _ in range(failed)]
    publish(plan, stage)
    org = make_any_user("org")
    from examadmin.catalog.models import School

    signer = make_any_user("school", school=db.session.get(School, site.school_id), signer=True)
    return Setup(plan, site, school_user, org, signer, results)


def qr_in_pdf(pdf: bytes, n: int) -> list[list[bool]]:
    """The QR code's modules as drawn in the e-certificate (one image pixel per module)."""
    import io

    from pypdf import PdfReader

    page = PdfReader(io.BytesIO(pdf)).pages[0]
    image = next(im.image for im in page.images if im.image.size == (n, n) and im.image.mode == "L")
    return [[image.getpixel((x, y)) < 128 for x in range(n)] for y in range(n)]
