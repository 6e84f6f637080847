"""Reading the CSV and XLSX files people export from spreadsheets and HR systems, shared by every bulk import.

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
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from os import PathLike
from typing import BinaryIO

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
