"""Hostile uploads built by hand with zipfile: what no spreadsheet program would write."""
from __future__ import annotations

import zipfile
from pathlib import Path

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"


def cell(ref: str | None, text: str | None = None, style_only: bool = False) -> str:
    r = f' r="{ref}"' if ref else ""
    if style_only:
        return f'<c{r} s="1"/>'
    return f'<c{r} t="inlineStr"><is><t>{text if text is not None else "x"}</t></is></c>'


def row(number: int | None, *cells: str, attrs: str = "") -> str:
    r = f' r="{number}"' if number is not None else ""
    return f"<row{r}{attrs}>{''.join(cells)}</row>"


def sheet_xml(rows: list[str], dimension: str | None = None) -> str:
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}" xmlns:r="{RELS}">{dim}'
            f"<sheetData>{''.join(rows)}</sheetData></worksheet>")


def table_rows(headers: list[str], data: list[list[str]]) -> list[str]:
    """A header row and data rows as inline strings from A1, as rows of sheet XML."""
    def ref(col: int, number: int) -> str:
        return f"{chr(65 + col)}{number}"
    out = [row(1, *(cell(ref(c, 1), h) for c, h in enumerate(headers)))]
    for n, values in enumerate(data, start=2):
        out.append(row(n, *(cell(ref(c, n), v) for c, v in enumerate(values))))
    return out


def write_xlsx(path: Path, sheets: list[str], *, first: int = 0) -> Path:
    """An .xlsx whose workbook lists `sheets` (sheet XML) with sheets[first] as its first sheet."""
    order = [first] + [i for i in range(len(sheets)) if i != first]
    listed = "".join(f'<sheet name="S{i + 1}" sheetId="{i + 1}" r:id="rId{i + 1}"/>' for i in order)
    rels = "".join(f'<Relationship Id="rId{i + 1}" Type="{RELS}/worksheet" Target="worksheets/sheet{i + 1}.xml"/>'
                   for i in range(len(sheets)))
    overrides = "".join(f'<Override PartName="/xl/worksheets/sheet{i + 1}.xml" ContentType="application/'
                        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' for i in range(len(sheets)))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName='
            '"/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.'
            f'main+xml"/>{overrides}</Types>'))
        archive.writestr("_rels/.rels", f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_RELS}">'
                                        f'<Relationship Id="rId1" Type="{RELS}/officeDocument" Target="xl/workbook.xml"/>'
                                        "</Relationships>")
        archive.writestr("xl/workbook.xml", f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" '
                                            f'xmlns:r="{RELS}"><sheets>{listed}</sheets></workbook>')
        archive.writestr("xl/_rels/workbook.xml.rels", f'<?xml version="1.0" encoding="UTF-8"?><Relationships '
                                                       f'xmlns="{PKG_RELS}">{rels}</Relationships>')
        for i, xml in enumerate(sheets):
            archive.writestr(f"xl/worksheets/sheet{i + 1}.xml", xml)
    return path


def far_corner_xlsx(path: Path, dimension: str | None = None) -> Path:
    """Issue 8's 2 KB file: values in A1 and XFD1048576, no <dimension> (or a false one)."""
    return write_xlsx(path, [sheet_xml([row(1, cell("A1", "姓名")), row(1048576, cell("XFD1048576", "1"))],
                                       dimension)])
