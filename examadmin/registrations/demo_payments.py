"""Demo payments of school 5150000001 on the open plan, so that a newcomer sees the step at
work: about half of the students paid in a confirmed school order, one order waiting for the
org (the social candidate's, or a second school order), the rest still unpaid.

Runs after the demo registrations exist; idempotent (nothing is done once the school has an
order on the plan).
"""
from __future__ import annotations

import io

from sqlalchemy import select

from ..candidates.models import CandidateKind
from ..catalog.models import School
from ..core.auth import User
from ..exams.models import ExamPlan
from ..extensions import db
from . import payment_lists, payments
from .models import PaymentOrder, Registration
from .states import RegistrationState

DEMO_SCHOOL = "5150000001"


def demo_voucher(reference: str) -> bytes:
    """A small PNG standing for a bank receipt."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (480, 200), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((4, 4, 475, 195), outline="black", width=2)
    draw.text((24, 40), "DEMO BANK RECEIPT", fill="black")
    draw.text((24, 90), f"ORDER {reference}", fill="black")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def pay_some(school_user, org, plan: ExamPlan) -> dict[str, int]:
    """Half the school's unpaid students paid and confirmed, one order left waiting."""
    done = {"confirmed": 0, "waiting": 0}
    if db.session.scalar(select(PaymentOrder.id).where(PaymentOrder.school_id == school_user.school_id,
                                                       PaymentOrder.plan_id == plan.id).limit(1)):
        return done
    open_rows = list(db.session.scalars(
        select(Registration).where(Registration.school_id == school_user.school_id, Registration.plan_id == plan.id,
                                   Registration.state == RegistrationState.UNPAID,
                                   Registration.payment_order_id.is_(None))
        .order_by(Registration.id)))
    students = [r for r in open_rows if r.kind == CandidateKind.STUDENT]
    social = [r for r in open_rows if r.kind == CandidateKind.SOCIAL]
    half = students[: (len(students) + 1) // 2] if len(students) > 1 else []
    if half:
        order = payments.create_school_order(school_user, plan.id, [r.id for r in half])
        payments.submit_voucher(school_user, order.id, "演示银行回单.png", demo_voucher(order.reference), "DEMO-0001")
        payments.confirm_order(org, order.id)
        done["confirmed"] = len(half)
    if social:
        waiting = payments.create_social_order(school_user, plan.id, social[0].candidate_id)
    elif len(students) - len(half) >= 2:
        waiting = payments.create_school_order(school_user, plan.id, [students[len(half)].id])
    else:
        waiting = None
    if waiting is not None:
        payments.submit_voucher(school_user, waiting.id, "演示银行回单.png", demo_voucher(waiting.reference),
                                "DEMO-0002")
        done["waiting"] = len(waiting.registrations)
    return done


def load_demo() -> dict[str, int]:
    """Pay some of the demo school's registrations on its open plans."""
    school_user = db.session.scalar(select(User).where(User.username == "school1"))
    org = db.session.scalar(select(User).where(User.username == "org"))
    school = db.session.scalar(select(School).where(School.code == DEMO_SCHOOL))
    total = {"confirmed": 0, "waiting": 0}
    if school_user is None or org is None or school is None or school_user.school_id != school.id:
        return total
    for plan in payment_lists.payable_plans(school_user):
        for key, value in pay_some(school_user, org, plan).items():
            total[key] += value
    return total
