"""The ticket page's layout holds for long values: nothing runs into its neighbour or off the page.

Found by rendering a ticket to PNG (issue 10 audit): a long plan name ran into the title 准考证, a
long room name into the seat number, a long subject into the exam mode.
"""
from __future__ import annotations

import io
from datetime import date, time

from reportlab.pdfbase.pdfmetrics import stringWidth

from examadmin.core import pdf
from examadmin.tickets import render
from examadmin.tickets.data import SeatLine, TicketData
from tests.pdftext import text_runs

LONG_PLAN = "2026年第4次全国统一考试（社会心理服务职业技能等级证书）第二批次补充安排"
LONG_ROOM = "第一教学楼三楼计算机机房A区"
LONG_SUBJECT = "工业互联网设备数据采集（高级）理论知识与职业素养"
LONG_ADDRESS = "内蒙古自治区呼和浩特市赛罕区大学东街" + "某某路与某某街交叉口向东三百米" * 12  # 200 characters


def _ticket(**changes) -> TicketData:
    values = dict(
        registration_id=1, plan_id=1, plan_name=LONG_PLAN, ticket_number="2026004001001013",
        name="阿卜杜热合曼·买买提依明", gender="女", id_type="港澳居民来往内地通行证", id_number="H1*******90",
        photo_path=None, certificate="工业互联网设备数据采集与边缘计算应用职业技能等级证书", org_name="某某科技股份有限公司",
        level="高级", site_name="内蒙古自治区呼和浩特市某某职业技术学院工业互联网设备数据采集与边缘计算应用高级",
        site_address=LONG_ADDRESS[:200],
        lines=[SeatLine(1, 1, LONG_SUBJECT, "机考", date(2026, 12, 25), time(9), time(11), LONG_ROOM, 12),
               SeatLine(2, 2, "实操考核", "实操", date(2026, 12, 26), time(14), time(16, 30), "实训中心 B-201", 999)],
        token="1.1.1-1-12.20261227*ABCDEFGHIJKLMNOPQRSTUVWX")
    values.update(changes)
    return TicketData(**values)


def _boxes(data: bytes) -> list[tuple[str, float, float, float, float]]:
    font = pdf.cjk_font().name
    return [(text, x, x + stringWidth(text, font, size), y - 0.12 * size, y + 0.88 * size)
            for text, x, y, size in text_runs(data)]


def test_long_values_stay_in_their_place_on_the_ticket():
    out = io.BytesIO()
    render.render_tickets(out, [_ticket()])
    boxes = _boxes(out.getvalue())
    shown = "".join(b[0] for b in boxes)
    assert "准 考 证" in shown and LONG_PLAN in shown
    assert "工业互联网设备数据采集（高级）" in shown and "第一教学楼三楼计算" in shown  # wrapped, not dropped
    assert "…" in shown  # the 200-character address is cut short rather than drawn off the page
    for text, x0, x1, _, _ in boxes:
        assert render.M - 6 <= x0 and x1 <= render.W - render.M + 6, f"{text!r} leaves the frame"
    for i, (a, ax0, ax1, ay0, ay1) in enumerate(boxes):
        for b, bx0, bx1, by0, by1 in boxes[i + 1:]:
            if ay0 < by1 and by0 < ay1:  # on the same line
                assert ax1 <= bx0 or bx1 <= ax0, f"{a!r} runs into {b!r}"


def test_a_ticket_of_ordinary_length_is_drawn_at_full_size_on_one_line():
    out = io.BytesIO()
    render.render_tickets(out, [_ticket(plan_name="2026年第4次全国统一考试（社会心理服务）",
                                        site_address="重庆市九龙坡区科城路 60 号",
                                        lines=[SeatLine(1, 1, "理论知识", "机考", date(2026, 12, 25), time(9), time(11),
                                                        "实训楼 301", 12)])])
    runs = {text: size for text, _, _, size in text_runs(out.getvalue())}
    assert runs["重庆市九龙坡区科城路 60 号"] == 11.5 and runs["实训楼 301"] == 10.5
    assert runs["2026年第4次全国统一考试（社会心理服务）"] == 10


def test_the_sign_in_sheet_keeps_long_names_and_ticket_numbers_in_their_columns():
    from examadmin.extensions import db
    from examadmin.tickets import services
    from tests.scheduling.ticket_factories import make_scheduled

    s = make_scheduled(2)
    s.registrations[0].candidate.name = "阿卜杜热合曼·买买提依明"
    s.tickets[0].ticket_number = "202600002000010100100107"  # as long as scheduling makes them
    db.session.flush()
    _, data = services.sign_in_sheet_pdf(s.school_user, s.room.id, s.session.id)
    boxes = _boxes(data)
    assert any("阿卜杜热合曼" in b[0] for b in boxes) and any("202600002000010100100107" in b[0] for b in boxes)
    for i, (a, ax0, ax1, ay0, ay1) in enumerate(boxes):
        assert ax1 <= render.W - render.M, f"{a!r} leaves the table"
        for b, bx0, bx1, by0, by1 in boxes[i + 1:]:
            if ay0 < by1 and by0 < ay1:
                assert ax1 <= bx0 or bx1 <= ax0, f"{a!r} runs into {b!r}"
