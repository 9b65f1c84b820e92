"""Exam sites (考核站点): a school's application to examine one certificate level."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..catalog.models import CertificateLevel, School
from ..core import clock
from ..core.columns import enum_type
from ..extensions import db
from .states import SiteState

#: the facilities checklist: field -> label; all but partitions are required for 机考
FACILITIES = {
    "has_cameras": "监控摄像头",
    "has_computers": "计算机",
    "has_network": "网络",
    "has_headsets": "耳机",
    "has_microphones": "麦克风",
    "has_partitions": "座位隔板",
}
REQUIRED_FOR_COMPUTER_EXAMS = ["has_cameras", "has_computers", "has_network", "has_headsets",
                               "has_microphones"]


class ExamSite(db.Model):
    # One application per school and certificate level: the generated name says so.
    __table_args__ = (UniqueConstraint("school_id", "certificate_level_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), index=True)
    certificate_level_id: Mapped[int] = mapped_column(ForeignKey("certificate_level.id"), index=True)
    #: generated: school name + certificate name + level, never typed
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(200))
    contact_name: Mapped[str] = mapped_column(String(40))
    contact_phone: Mapped[str] = mapped_column(String(20))
    computer_rooms: Mapped[int] = mapped_column(default=0)
    #: the total number of exam seats the school declares for the site
    seats: Mapped[int] = mapped_column(default=0)
    has_cameras: Mapped[bool] = mapped_column(default=False)
    has_computers: Mapped[bool] = mapped_column(default=False)
    has_network: Mapped[bool] = mapped_column(default=False)
    has_headsets: Mapped[bool] = mapped_column(default=False)
    has_microphones: Mapped[bool] = mapped_column(default=False)
    has_partitions: Mapped[bool] = mapped_column(default=False)
    state: Mapped[SiteState] = mapped_column(enum_type(SiteState), default=SiteState.PENDING, index=True)
    #: the org's reason of the last rejection or disabling, shown to the school
    reason: Mapped[str] = mapped_column(String(500), default="")
    submitted_at: Mapped[datetime] = mapped_column(default=clock.now)
    reviewed_at: Mapped[datetime | None]

    school: Mapped[School] = relationship()
    certificate_level: Mapped[CertificateLevel] = relationship()

    @property
    def usable(self) -> bool:
        """Approved and not disabled: may host rooms and registrations."""
        return self.state == SiteState.APPROVED

    @property
    def facilities(self) -> list[str]:
        return [label for field, label in FACILITIES.items() if getattr(self, field)]
