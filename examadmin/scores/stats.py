"""Statistics of a plan's results (DOMAIN.md §9, issue 11 item 4): pass rates by level, subject,
site, school, province and major, and the score distribution per subject.

Every figure is one grouped query over the actor's scoped rows (Result and Score carry their
own scope: the org sees everything, a province its schools and a school itself, and those two
only once the plan is on display). Nothing is loaded row by row, so a national plan with a
million results costs a handful of GROUP BY queries.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Sequence

from sqlalchemy import case, func, select

from ..candidates.models import Candidate
from ..catalog.models import CertificateLevel, Major, Province, School
from ..core import permissions
from ..core.counts import wide_scope_cached
from ..core.excel import write_sheets
from ..core.errors import DomainError
from ..core.roles import NATIONAL
from ..exams.models import PLAN_ORDER, ExamPlan, Subject
from ..extensions import db
from ..registrations.models import Registration
from ..sites.models import ExamSite
from .models import Result, Score, ScorePublication
from .states import PublicationStage

#: the distribution splits 0..full mark into this many equal bins
BUCKETS = 10
#: the label of results whose candidate has no major (社会考生)
NO_MAJOR = "无专业（社会考生）"
VISIBLE_TO_SCOPED = (PublicationStage.DISPLAY, PublicationStage.FINAL)
#: ids per query when the labels of a grouping are read
LABEL_CHUNK = 5000


@dataclass
class RateRow:
    """Results of one group: passed, failed and not yet complete (a subject without score)."""

    label: str
    total: int
    passed: int
    failed: int

    @property
    def pending(self) -> int:
        return self.total - self.passed - self.failed

    @property
    def rate(self) -> float | None:
        """Pass rate in percent over the complete results; None when there are none."""
        decided = self.passed + self.failed
        return round(100.0 * self.passed / decided, 1) if decided else None


@dataclass
class SubjectRow:
    """One subject: how many sat it, were absent or broke the rules, passed; scores and their bins."""

    subject_id: int
    label: str
    full_mark: int
    pass_mark: int
    entered: int = 0
    scored: int = 0
    absent: int = 0
    violation: int = 0
    passed: int = 0
    mean: float | None = None
    highest: float | None = None
    lowest: float | None = None
    buckets: list[int] = field(default_factory=lambda: [0] * BUCKETS)

    @property
    def rate(self) -> float | None:
        """Pass rate in percent over everyone with a score or a mark (缺考 and 违纪 fail)."""
        return round(100.0 * self.passed / self.entered, 1) if self.entered else None

    @property
    def bucket_labels(self) -> list[str]:
        step = self.full_mark / BUCKETS
        return [f"{_num(step * i)}~{_num(step * (i + 1))}" for i in range(BUCKETS)]


@dataclass
class PlanStats:
    plan: ExamPlan
    stage: PublicationStage
    total: RateRow
    by_level: list[RateRow]
    by_subject: list[SubjectRow]
    by_site: list[RateRow]
    by_school: list[RateRow]
    by_province: list[RateRow]
    by_major: list[RateRow]

    #: (title, rows) of the pass-rate groupings, in the order the page and the export show them
    @property
    def groupings(self) -> list[tuple[str, str, list[RateRow]]]:
        return [("level", "等级", self.by_level), ("site", "考核站点", self.by_site),
                ("school", "院校", self.by_school), ("province", "省份", self.by_province),
                ("major", "专业", self.by_major)]


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _float(value: Any) -> float | None:
    return None if value is None else float(Decimal(str(value)).quantize(Decimal("0.1")))


def stats_plans(actor) -> list[tuple[ExamPlan, PublicationStage]]:
    """The plans whose statistics the actor may open, newest first, with their stage."""
    permissions.require(actor, "scores.stats")
    query = (select(ExamPlan, ScorePublication.stage)
             .join(ScorePublication, ScorePublication.plan_id == ExamPlan.id)
             .where(ExamPlan.scope_clause(actor)).order_by(*PLAN_ORDER))
    if actor.role not in NATIONAL:
        # only plans on display or final, in which the school (or the province's schools) sat
        query = query.where(ScorePublication.stage.in_(VISIBLE_TO_SCOPED),
                            select(Result.id).where(Result.plan_id == ExamPlan.id,
                                                    permissions.scope_clause(actor, Result)).exists())
    return [(plan, stage) for plan, stage in db.session.execute(query).all()]


def plan_stats(actor, plan_id: Any) -> PlanStats:
    """The statistics of one plan, over the results and scores in the actor's scope."""
    permissions.require(actor, "scores.stats")
    plan = permissions.get_for(actor, ExamPlan, plan_id)
    stage = db.session.scalar(select(ScorePublication.stage).where(ScorePublication.plan_id == plan.id))
    stage = stage or PublicationStage.ENTERING
    if actor.role not in NATIONAL and stage not in VISIBLE_TO_SCOPED:
        raise DomainError(f"{plan.name}的成绩尚未公示：成绩公示开始后才能查看统计。")

    def compute() -> dict[str, Any]:
        where = [Result.plan_id == plan.id, permissions.scope_clause(actor, Result)]
        groups = _groupings(where)
        ordered = {key: [row for _sort, row in sorted(entries.values(), key=lambda entry: entry[0])]
                   for key, entries in groups.items()}
        levels = ordered["level"]
        total = RateRow("合计", sum(r.total for r in levels), sum(r.passed for r in levels),
                        sum(r.failed for r in levels))
        return {"total": total, "by_subject": _subjects(actor, plan.id),
                **{f"by_{key}": rows for key, rows in ordered.items()}}

    if stage == PublicationStage.FINAL:
        # published results no longer move: a national plan's figures (half a million
        # results) are reused for a minute by the org, a province or a city
        figures = wide_scope_cached(actor, ("plan-stats", plan.id), compute)
    else:
        figures = compute()
    return PlanStats(plan=plan, stage=stage, **figures)


def _counts() -> list:
    return [func.count(Result.id),
            func.sum(case((Result.passed.is_(True), 1), else_=0)),
            func.sum(case((Result.passed.is_(False), 1), else_=0))]


def _groupings(where: list) -> dict[str, dict]:
    """Every pass-rate grouping from ONE grouped scan of the results, by the ids of level,
    site, school and major (five scans of a national plan's results cost five times one);
    the labels of the few distinct ids are read afterwards, and provinces summed from schools."""
    query = (select(Result.certificate_level_id, Registration.site_id, Result.school_id, Candidate.major_id,
                    *_counts()).select_from(Result)
             .join(Registration, Registration.id == Result.registration_id)
             .join(Candidate, Candidate.id == Registration.candidate_id)
             .where(*where)
             .group_by(Result.certificate_level_id, Registration.site_id, Result.school_id, Candidate.major_id))
    combos = db.session.execute(query).all()

    def labels(*columns, ids) -> dict:
        ids, found = sorted(ids), {}
        for start in range(0, len(ids), LABEL_CHUNK):  # bound the bound parameters (SQLite's limit)
            found.update((row[0], row[1:]) for row in db.session.execute(
                select(*columns).where(columns[0].in_(ids[start:start + LABEL_CHUNK]))))
        return found

    levels = labels(CertificateLevel.id, CertificateLevel.rank, CertificateLevel.level, ids={c[0] for c in combos})
    sites = labels(ExamSite.id, ExamSite.name, ids={c[1] for c in combos})
    schools = labels(School.id, School.name, School.province_id, ids={c[2] for c in combos})
    provinces = labels(Province.id, Province.name, ids={s[1] for s in schools.values()})
    majors = labels(Major.id, Major.name, Major.code, ids={c[3] for c in combos if c[3] is not None})
    groups: dict[str, dict] = {key: {} for key in ("level", "site", "school", "province", "major")}
    for level_id, site_id, school_id, major_id, total, passed, failed in combos:
        passed, failed = passed or 0, failed or 0
        province_id = schools[school_id][1]
        major = f"{majors[major_id][0]}（{majors[major_id][1]}）" if major_id is not None else NO_MAJOR
        for key, group, sort, text in (
                ("level", level_id, levels[level_id][0], str(levels[level_id][1])),
                ("site", site_id, sites[site_id][0], sites[site_id][0]),
                ("school", school_id, schools[school_id][0], schools[school_id][0]),
                ("province", province_id, provinces[province_id][0], provinces[province_id][0]),
                ("major", major_id, (major_id is None, major), major)):
            entry = groups[key].get(group)
            if entry is None:
                groups[key][group] = (sort, RateRow(text, total, passed, failed))
            else:
                row = entry[1]
                row.total, row.passed, row.failed = row.total + total, row.passed + passed, row.failed + failed
    return groups


def _subjects(actor, plan_id: int) -> list[SubjectRow]:
    """Per subject: counts, mean, highest, lowest and the distribution, from ONE grouped scan
    of the scores by subject and bin (a score-less row falls in bin -1)."""
    where = [Score.plan_id == plan_id, permissions.scope_clause(actor, Score)]
    entered = (Score.score.is_not(None)) | Score.absent.is_(True) | Score.violation.is_(True)
    passed = (Score.score >= Subject.pass_mark) & Score.absent.is_(False) & Score.violation.is_(False)
    # Bins by comparison, not by division: exact on Numeric scores, the same on every database.
    bucket = case((Score.score.is_(None), -1),
                  *[(Score.score * BUCKETS < Subject.full_mark * i, i - 1) for i in range(1, BUCKETS)],
                  else_=BUCKETS - 1)
    rows = db.session.execute(
        select(Score.subject_id, bucket, func.sum(case((entered, 1), else_=0)), func.count(Score.score),
               func.sum(case((Score.absent.is_(True), 1), else_=0)),
               func.sum(case((Score.violation.is_(True), 1), else_=0)),
               func.sum(case((passed, 1), else_=0)),
               func.sum(Score.score), func.max(Score.score), func.min(Score.score))
        .select_from(Score).join(Subject, Subject.id == Score.subject_id)
        .where(*where).group_by(Score.subject_id, bucket)).all()
    if not rows:
        return []
    ranks: dict[int, int] = {}
    subjects: dict[int, SubjectRow] = {}
    for s, level, rank in db.session.execute(
            select(Subject, CertificateLevel.level, CertificateLevel.rank)
            .join(CertificateLevel, CertificateLevel.id == Subject.certificate_level_id)
            .where(Subject.id.in_({row[0] for row in rows}))):
        subjects[s.id] = SubjectRow(s.id, f"{level.value} · {s.name}", s.full_mark, s.pass_mark)
        ranks[s.id] = rank
    sums: dict[int, Decimal] = {}
    for subject_id, index, n_entered, n_scored, n_absent, n_violation, n_passed, total, high, low in rows:
        row = subjects[subject_id]
        row.entered += n_entered or 0
        row.scored += n_scored or 0
        row.absent += n_absent or 0
        row.violation += n_violation or 0
        row.passed += n_passed or 0
        if index is not None and int(index) >= 0:
            row.buckets[int(index)] += n_scored or 0
        if total is not None:
            sums[subject_id] = sums.get(subject_id, Decimal(0)) + Decimal(str(total))
            row.highest = max(_float(high), row.highest if row.highest is not None else _float(high))
            row.lowest = min(_float(low), row.lowest if row.lowest is not None else _float(low))
    for subject_id, total in sums.items():
        if subjects[subject_id].scored:
            subjects[subject_id].mean = _float(total / subjects[subject_id].scored)
    return sorted(subjects.values(), key=lambda r: (ranks[r.subject_id], r.label, r.subject_id))


# ---- export ------------------------------------------------------------------------------

RATE_HEADERS = ["人数", "合格", "不合格", "未完成", "合格率（%）"]
SUBJECT_HEADERS = ["科目", "满分", "合格线", "应考（已录入）", "有成绩", "缺考", "违纪", "合格", "合格率（%）",
                   "平均分", "最高分", "最低分"]


def export_stats(stats: PlanStats) -> io.BytesIO:
    """The statistics as one workbook: a sheet per grouping, the subjects and the distribution
    (core.excel.write_sheets: text stays text, a name beginning with "=" is never a formula)."""
    def widths(headers: Sequence[str]) -> list[int]:  # the label column wide, the figures as their header
        return [36] + [max(10, len(h) * 2 + 2) for h in headers[1:]]

    def sheet(name: str, headers: Sequence[str], rows: list[list]) -> tuple:
        return name, headers, rows, widths(headers)

    rate_rows = lambda rows: [[r.label, r.total, r.passed, r.failed, r.pending, r.rate] for r in rows]  # noqa: E731
    sheets = [sheet("总体", ["考试计划", "成绩状态", *RATE_HEADERS],
                    [[stats.plan.name, stats.stage.value, stats.total.total, stats.total.passed, stats.total.failed,
                      stats.total.pending, stats.total.rate]])]
    sheets += [sheet(f"按{title}", [title, *RATE_HEADERS], rate_rows(rows)) for _key, title, rows in stats.groupings]
    sheets.append(sheet("按科目", SUBJECT_HEADERS,
                        [[s.label, s.full_mark, s.pass_mark, s.entered, s.scored, s.absent, s.violation, s.passed,
                          s.rate, s.mean, s.highest, s.lowest] for s in stats.by_subject]))
    sheets.append(sheet("成绩分布", ["科目", "分数段", "人数"],
                        [[s.label, label, count] for s in stats.by_subject
                         for label, count in zip(s.bucket_labels, s.buckets)]))
    buffer = io.BytesIO()
    write_sheets(buffer, sheets)
    buffer.seek(0)
    return buffer

