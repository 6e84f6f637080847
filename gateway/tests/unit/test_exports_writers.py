"""The export writers (gateway.exports): pages are pulled one at a time as the writer goes, headers in zh-CN or en,
CSV with a BOM for Excel, XLSX readable back with every row, the temporary file gone once streamed."""
from __future__ import annotations

import csv
import io
import os

import openpyxl

from gateway import exports

COLUMNS = ["goal_id", "title", "weight", "confidence"]


def fake_pages(count: int, size: int, pulled: list[int]):
    first = {"columns": COLUMNS, "rows": [[f"g{n:05d}", f"目标 {n}", "10", None] for n in range(size)],
             "next_cursor": "1" if count > 1 else None}

    def call(query):
        page = int(query["cursor"])
        pulled.append(page)
        rows = [[f"g{page * size + n:05d}", f"目标 {n}", "10", "0.5"] for n in range(size)]
        return {"columns": COLUMNS, "rows": rows, "next_cursor": str(page + 1) if page + 1 < count else None}

    return exports.pages(call, {"cycle_id": "c"}, first)


def test_csv_streams_a_page_per_chunk_with_chinese_headers():
    pulled: list[int] = []
    stream = exports.csv_stream(COLUMNS, "zh-CN", fake_pages(3, 5, pulled))
    first = next(stream)
    assert first.startswith("\ufeff".encode()) and pulled == []  # the second page is not read yet
    rest = b"".join(stream)
    assert pulled == [1, 2]
    rows = list(csv.reader(io.StringIO((first + rest).decode("utf-8-sig"))))
    assert rows[0] == ["目标编号", "目标名称", "权重", "信心指数"] and len(rows) == 16
    assert rows[1] == ["g00000", "目标 0", "10", ""] and rows[-1][0] == "g00014"


def test_xlsx_has_every_row_and_english_headers_and_the_temporary_file_goes():
    path = exports.xlsx_file(COLUMNS, "en", fake_pages(4, 250, []), "board")
    workbook = openpyxl.load_workbook(path, read_only=True)
    rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    workbook.close()
    assert rows[0] == ("Goal ID", "Title", "Weight", "Confidence") and len(rows) == 1001
    assert b"".join(exports.file_stream(path))[:2] == b"PK" and not os.path.exists(path)
