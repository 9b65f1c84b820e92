"""Master data: provinces, cities, schools, the majors catalogue, certificates and levels."""
from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint, false, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.columns import enum_type
from ..core.roles import Role
from ..extensions import db
from .states import CertificateState


class SchoolType(StrEnum):
    SECONDARY = "中等职业学校"
    HIGHER_VOCATIONAL = "高职专科院校"
    VOCATIONAL_BACHELOR = "本科层次职业学校"
    UNIVERSITY = "本科院校"


class Level(StrEnum):
    JUNIOR = "初级"
    MIDDLE = "中级"
    SENIOR = "高级"


class Province(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    #: the two-digit administrative division code (GB/T 2260), e.g. "50" for 重庆市
    code: Mapped[str] = mapped_column(String(2), unique=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    #: the education authority's own name, e.g. 重庆市教育委员会
    authority: Mapped[str] = mapped_column(String(60), default="")

    cities: Mapped[list[City]] = relationship(back_populates="province", order_by="City.code")

    @classmethod
    def scope_clause(cls, actor):
        # Reference data: every staff user may read the list of provinces.
        return true() if actor.role != Role.CANDIDATE else false()


class City(db.Model):
    __table_args__ = (UniqueConstraint("province_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("province.id"), index=True)
    #: six-digit division code of the city or district
    code: Mapped[str] = mapped_column(String(6), unique=True)
    name: Mapped[str] = mapped_column(String(40))

    province: Mapped[Province] = relationship(back_populates="cities")

    @classmethod
    def scope_clause(cls, actor):
        # Reference data: every staff user may read the list of cities.
        return true() if actor.role != Role.CANDIDATE else false()


class School(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    #: the 10-digit national school identification code (学校标识码)
    code: Mapped[str] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    type: Mapped[SchoolType] = mapped_column(enum_type(SchoolType))
    province_id: Mapped[int] = mapped_column(ForeignKey("province.id"), index=True)
    city_id: Mapped[int | None] = mapped_column(ForeignKey("city.id"), index=True)
    address: Mapped[str] = mapped_column(String(200), default="")

    province: Mapped[Province] = relationship()
    city: Mapped[City | None] = relationship()

    @classmethod
    def scope_clause(cls, actor):
        """A school is seen by the national roles, its province, its city and itself."""
        if actor.role in (Role.SYSADMIN, Role.ORG):
            return true()
        if actor.role == Role.PROVINCE:
            return cls.province_id == actor.province_id
        if actor.role == Role.CITY:
            return cls.city_id == actor.city_id
        if actor.role == Role.SCHOOL:
            return cls.id == actor.school_id
        return false()


class Major(db.Model):
    """One row of the national majors catalogue, as far as this certificate names it."""

    __table_args__ = (UniqueConstraint("school_type", "catalogue_version", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    #: the kind of school that may offer the major; the catalogue differs per kind
    school_type: Mapped[SchoolType] = mapped_column(enum_type(SchoolType))
    #: 中职 / 专科 / 职业本科 / 本科, as the catalogue calls it
    level: Mapped[str] = mapped_column(String(20))
    #: the year of the catalogue edition, e.g. "2021"
    catalogue_version: Mapped[str] = mapped_column(String(10))
    code: Mapped[str] = mapped_column(String(20), index=True)
    name: Mapped[str] = mapped_column(String(80))

    @classmethod
    def scope_clause(cls, actor):
        return true() if actor.role != Role.CANDIDATE else false()


class Certificate(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    #: the training-and-evaluation organisation that owns the certificate
    org_name: Mapped[str] = mapped_column(String(100))
    state: Mapped[CertificateState] = mapped_column(
        enum_type(CertificateState), default=CertificateState.ENABLED
    )

    levels: Mapped[list[CertificateLevel]] = relationship(
        back_populates="certificate", order_by="CertificateLevel.rank", cascade="all, delete-orphan"
    )

    @property
    def enabled(self) -> bool:
        return self.state == CertificateState.ENABLED

    @classmethod
    def scope_clause(cls, actor):
        return true()


LEVEL_RANK = {Level.JUNIOR: 1, Level.MIDDLE: 2, Level.SENIOR: 3}


class CertificateLevel(db.Model):
    __table_args__ = (UniqueConstraint("certificate_id", "level"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id"), index=True)
    level: Mapped[Level] = mapped_column(enum_type(Level, 10))
    #: 1, 2, 3 for 初级, 中级, 高级: the order levels are shown in
    rank: Mapped[int] = mapped_column(default=1)
    #: the standard's own description of the level, shown to schools when they apply
    description: Mapped[str] = mapped_column(String(500), default="")

    certificate: Mapped[Certificate] = relationship(back_populates="levels")

    @property
    def label(self) -> str:
        return f"{self.certificate.name}（{self.level.value}）"

    @classmethod
    def scope_clause(cls, actor):
        return true()
