"""Reading the CSV and XLSX files people export from spreadsheets and HR systems, shared by every bulk import;
and writing a one-sheet XLSX front to back (`write_xlsx`), for exports.

Readers yield (row number as the spreadsheet shows it, cells), streamed. They raise `UnreadableFile` (the file
is not CSV text in a known encoding, or not a workbook); each service turns it into its own 4xx naming "file".
`header_key` and `cell_text` are the comparison forms that let English and Chinese headers, full-width
characters and Excel's floats be matched the same way everywhere.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from os import PathLike
from typing import IO, BinaryIO
from xml.sax.saxutils import escape

Row = tuple[int, Sequence[object]]

_HEADER_NOISE = re.compile(r"\(.*?\)|[\s_\-.*#:]")


class UnreadableFile(Exception):
    """The bytes are not a readable CSV or XLSX file; `field` is the request field to blame."""

    def __init__(self, message: str, field: str = "file") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def header_key(text: str) -> str:
    """Comparison form of a header or enum cell: NFKC (full-width → ASCII), case- and noise-free."""
    return _HEADER_NOISE.sub("", unicodedata.normalize("NFKC", text).casefold())


def cell_text(value: object) -> str:
    """A cell as text: stripped; Excel's integral floats without ".0"; dates in ISO form."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores 13800138000 and 1001 as floats
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def read_csv(source: bytes | BinaryIO) -> Iterator[Row]:
    """Rows of a CSV export, streamed. Encoding: UTF-8 (with or without BOM), UTF-16 with BOM, or
    GB18030 (what Excel writes on Chinese Windows). Delimiter: comma, semicolon or tab."""
    stream: BinaryIO = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    sample = _sample(stream)
    encoding = _encoding(sample)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    number = 0
    try:
        for number, cells in enumerate(csv.reader(text, delimiter=_delimiter(sample, encoding)), start=1):
            yield number, cells
    except UnicodeDecodeError:
        raise UnreadableFile(f"the file is not valid {encoding} text after row {number}") from None
    except csv.Error as error:
        raise UnreadableFile(f"unreadable CSV after row {number}: {error}") from None
    finally:
        text.detach()  # the caller owns the stream


def _sample(stream: BinaryIO) -> bytes:
    if stream.seekable():
        position = stream.tell()
        sample = stream.read(65536)
        stream.seek(position)
        return sample
    peek = getattr(stream, "peek", None)
    if peek is None:
        raise UnreadableFile("the CSV stream must be seekable or buffered")
    return bytes(peek(65536)[:65536])


def _encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)  # a cut character is fine
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def _delimiter(sample: bytes, encoding: str) -> str:
    head = "\n".join(codecs.getincrementaldecoder(encoding)(errors="ignore").decode(sample).splitlines()[:10])
    return max((",", ";", "\t"), key=head.count)


def read_xlsx(source: str | PathLike[str] | BinaryIO, sheet: str | None = None) -> Iterator[Row]:
    """Rows of an XLSX workbook's first sheet (or `sheet`), streamed in openpyxl's read-only mode."""
    import openpyxl  # heavy import, only needed for spreadsheets
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(source, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as error:
        raise UnreadableFile(f"not a readable XLSX workbook: {error}") from None
    try:
        if sheet is not None and sheet not in workbook.sheetnames:
            raise UnreadableFile(f"no sheet named {sheet!r}", field="sheet")
        worksheet = workbook[sheet] if sheet is not None else workbook.worksheets[0]
        # min_row=1 makes read-only mode pad leading blank rows, so numbers match the spreadsheet.
        yield from enumerate(worksheet.iter_rows(min_row=1, values_only=True), start=1)
    finally:
        workbook.close()


# -- writing ---------------------------------------------------------------------------------------------------------
# openpyxl's write-only mode spends ~70 µs a cell in Python objects (lxml did not change it measurably); an export's
# cells are plain values, so the sheet's XML is written directly: strings inline (no shared-string table to hold in
# memory), numbers and booleans typed, each row's text built once. bench/gateway/export_bench.py compares the two.

_XLSX_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>'),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="xl/workbook.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/></Relationships>'),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="worksheets/sheet1.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/>'
        '<Relationship Id="rId2" Target="styles.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles"/></Relationships>'),
    "xl/styles.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
        '</styleSheet>'),
}
_WORKBOOK = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
             '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
             'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
             '<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>')
_SHEET_HEAD = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
               b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
_SHEET_TAIL = b"</sheetData></worksheet>"
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # characters XML 1.0 cannot carry
_NOT_IN_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")
MAX_CELL_TEXT = 32767  # Excel's limit for a cell


def _xlsx_cell(value: object) -> str:
    if value is None:
        return "<c/>"
    if isinstance(value, bool):
        return f'<c t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int | float) and value == value and value not in (float("inf"), float("-inf")):
        return f"<c><v>{value!r}</v></c>"
    text = escape(_NOT_XML.sub("", str(value))[:MAX_CELL_TEXT])
    return f'<c t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def write_xlsx(target: str | PathLike[str] | IO[bytes], header: Sequence[object],
               rows: Iterable[Sequence[object]], sheet: str = "Sheet1") -> None:
    """A one-sheet workbook: `header` then `rows`, written as they come (nothing held but the row being written).
    Cells: None empty, bool, int and float typed, anything else as its text (control characters dropped)."""
    name = escape(_NOT_IN_SHEET_NAME.sub(" ", sheet)[:31] or "Sheet1", {'"': "&quot;"})
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for part, text in _XLSX_PARTS.items():
            archive.writestr(part, text)
        archive.writestr("xl/workbook.xml", _WORKBOOK.format(name=name))
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as out:
            out.write(_SHEET_HEAD)
            chunk: list[str] = []
            for number, row in enumerate(_with_header(header, rows), start=1):
                chunk.append(f'<row r="{number}">{"".join(map(_xlsx_cell, row))}</row>')
                if len(chunk) == 500:
                    out.write("".join(chunk).encode("utf-8"))
                    chunk.clear()
            out.write("".join(chunk).encode("utf-8"))
            out.write(_SHEET_TAIL)


def _with_header(header: Sequence[object], rows: Iterable[Sequence[object]]) -> Iterator[Sequence[object]]:
    yield header
    yield from rows
