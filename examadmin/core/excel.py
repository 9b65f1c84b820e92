"""Writing spreadsheets for exports and templates (reading uploads comes with the importers)."""
from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Iterable, Sequence

import xlsxwriter


def write_table(path: str | Path | BinaryIO, sheet: str, headers: Sequence[str], rows: Iterable[Sequence],
                widths: Sequence[int] | None = None) -> int:
    """Write one sheet with a bold, frozen header row; constant memory for large exports.

    Every cell is written as text or number as given: ID numbers must arrive as text so
    that Excel does not round them to 15 digits.
    """
    target = path if hasattr(path, "write") else str(path)  # a path or an in-memory buffer
    workbook = xlsxwriter.Workbook(target, {"constant_memory": True, "strings_to_numbers": False,
                                                "strings_to_formulas": False, "strings_to_urls": False})
    try:
        ws = workbook.add_worksheet(sheet)
        bold = workbook.add_format({"bold": True, "bg_color": "#E9ECEF", "border": 1})
        for col, header in enumerate(headers):
            ws.write_string(0, col, header, bold)
            ws.set_column(col, col, (widths[col] if widths else max(10, len(header) * 2 + 2)))
        ws.freeze_panes(1, 0)
        count = 0
        for count, row in enumerate(rows, start=1):
            for col, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    ws.write_number(count, col, value)
                else:
                    ws.write_string(count, col, str(value))
        return count
    finally:
        workbook.close()
