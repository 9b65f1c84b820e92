"""Charts as plain SVG markup, rendered on the server: no script, nothing fetched from outside.

Every text that reaches the markup is escaped here; callers pass plain strings. The charts
carry only presentation attributes (fill, stroke), never style attributes, so that the
page's Content-Security-Policy (style-src 'self') holds.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from markupsafe import Markup, escape

FONT = "system-ui, 'PingFang SC', 'Microsoft YaHei', 'Noto Sans CJK SC', 'WenQuanYi Micro Hei', sans-serif"
BAR = "#0d6efd"
BAR_LOW = "#dc3545"
GRID = "#dee2e6"
TEXT = "#212529"
MUTED = "#6c757d"


@dataclass(frozen=True)
class Bar:
    label: str
    #: 0..maximum, or None when there is nothing to show (drawn as "—")
    value: float | None
    #: shown after the value, e.g. "12/20"
    note: str = ""


def _short(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def hbar_chart(bars: Sequence[Bar], *, title: str, maximum: float = 100.0, unit: str = "%",
               low: float | None = None, width: int = 640, label_chars: int = 14, testid: str = "") -> Markup:
    """Horizontal bars, one per row (pass rates by school, site, ...); below `low` in red."""
    row_h, top, label_w, value_w = 24, 30, label_chars * 13 + 10, 120
    plot_w = width - label_w - value_w
    height = top + max(len(bars), 1) * row_h + 10
    out = [_open(width, height, title, testid),
           f'<text x="0" y="18" font-size="14" font-weight="600" fill="{TEXT}">{escape(title)}</text>']
    for tick in (0, 0.5, 1):
        x = label_w + plot_w * tick
        out.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 8}" stroke="{GRID}"/>')
    if not bars:
        out.append(f'<text x="{label_w}" y="{top + 16}" font-size="12" fill="{MUTED}">暂无数据</text>')
    for i, bar in enumerate(bars):
        y = top + i * row_h
        out.append(f'<text x="{label_w - 8}" y="{y + 16}" font-size="12" text-anchor="end" fill="{TEXT}">'
                   f'<title>{escape(bar.label)}</title>{escape(_short(bar.label, label_chars))}</text>')
        if bar.value is None:
            text = "—"
        else:
            share = max(0.0, min(bar.value / maximum, 1.0)) if maximum else 0.0
            colour = BAR_LOW if low is not None and bar.value < low else BAR
            out.append(f'<rect x="{label_w}" y="{y + 4}" width="{plot_w * share:.1f}" height="{row_h - 8}" '
                       f'fill="{colour}" rx="2"><title>{escape(bar.label)}：{_fmt(bar.value)}{escape(unit)}'
                       f'</title></rect>')
            text = f"{_fmt(bar.value)}{unit}"
        note = f" ({bar.note})" if bar.note else ""
        out.append(f'<text x="{label_w + plot_w + 6}" y="{y + 16}" font-size="12" fill="{TEXT}">'
                   f'{escape(text + note)}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def histogram(counts: Sequence[int], labels: Sequence[str], *, title: str, marker: float | None = None,
              marker_label: str = "", width: int = 640, height: int = 240, testid: str = "") -> Markup:
    """Vertical bars of counts per bucket (a score distribution); `marker` is a position
    0..1 along the x axis where a dashed line is drawn (the pass mark)."""
    left, right, top, bottom = 36, 10, 30, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(counts, default=0) or 1
    n = max(len(counts), 1)
    slot = plot_w / n
    out = [_open(width, height, title, testid),
           f'<text x="0" y="18" font-size="14" font-weight="600" fill="{TEXT}">{escape(title)}</text>',
           f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="{MUTED}"/>',
           f'<text x="{left - 6}" y="{top + 10}" font-size="11" text-anchor="end" fill="{MUTED}">{peak}</text>',
           f'<text x="{left - 6}" y="{top + plot_h}" font-size="11" text-anchor="end" fill="{MUTED}">0</text>']
    for i, (count, label) in enumerate(zip(counts, labels)):
        h = plot_h * count / peak
        x = left + i * slot
        out.append(f'<rect x="{x + 3:.1f}" y="{top + plot_h - h:.1f}" width="{slot - 6:.1f}" height="{h:.1f}" '
                   f'fill="{BAR}" rx="2"><title>{escape(label)}：{count} 人</title></rect>')
        if count:
            out.append(f'<text x="{x + slot / 2:.1f}" y="{top + plot_h - h - 4:.1f}" font-size="11" '
                       f'text-anchor="middle" fill="{TEXT}">{count}</text>')
        out.append(f'<text x="{x + slot / 2:.1f}" y="{top + plot_h + 16}" font-size="11" text-anchor="middle" '
                   f'fill="{MUTED}">{escape(label)}</text>')
    if marker is not None:
        x = left + plot_w * max(0.0, min(marker, 1.0))
        out.append(f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{top + plot_h}" stroke="{BAR_LOW}" '
                   f'stroke-dasharray="4 3"/>')
        out.append(f'<text x="{x + 4:.1f}" y="{top + plot_h + 32}" font-size="11" fill="{BAR_LOW}">'
                   f'{escape(marker_label)}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def _open(width: int, height: int, title: str, testid: str) -> str:
    test = f' data-testid="{escape(testid)}"' if testid else ""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
            f'role="img" aria-label="{escape(title)}" font-family="{escape(FONT)}"{test}>'
            f'<title>{escape(title)}</title>')
