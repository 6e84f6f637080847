"""chassis.tabular.write_xlsx: the workbook it writes reads back, cell for cell, through openpyxl (what spreadsheet
users and our own imports read with) and through chassis.tabular.read_xlsx."""
from __future__ import annotations

import io
import zipfile

import openpyxl

from chassis.tabular import MAX_CELL_TEXT, read_xlsx, write_xlsx


def test_a_written_workbook_reads_back_cell_for_cell():
    rows = [["g-1", "区域 3 销售额 & <利润>", 42, 0.612345678, True, None, "2026-12-31"],
            ["g-2", "tab\there, bell\x07 gone", -7, 1e-05, False, "", "25.00"]]
    out = io.BytesIO()
    write_xlsx(out, ["编号", "目标名称", "n", "progress", "ok", "empty", "due"], iter(rows), sheet="board: Q4/2026")
    book = openpyxl.load_workbook(io.BytesIO(out.getvalue()), read_only=True)
    assert book.sheetnames == ["board  Q4 2026"]  # the characters a sheet name may not hold are spaces
    table = list(book.worksheets[0].iter_rows(values_only=True))
    assert table[0] == ("编号", "目标名称", "n", "progress", "ok", "empty", "due")
    assert table[1] == ("g-1", "区域 3 销售额 & <利润>", 42, 0.612345678, True, None, "2026-12-31")
    assert table[2] == ("g-2", "tab\there, bell gone", -7, 1e-05, False, "", "25.00")
    assert [cells[1] for _, cells in read_xlsx(io.BytesIO(out.getvalue()))][1:] == [
        "区域 3 销售额 & <利润>", "tab\there, bell gone"]


def test_rows_stream_through_and_long_text_is_cut_to_excels_limit():
    produced = []

    def rows():
        for n in range(1200):  # more than one chunk of rows
            produced.append(n)
            yield [n, "x" * (MAX_CELL_TEXT + 10) if n == 0 else f"row {n}"]
    out = io.BytesIO()
    write_xlsx(out, ["n", "text"], rows())
    assert len(produced) == 1200
    table = list(openpyxl.load_workbook(io.BytesIO(out.getvalue()), read_only=True).worksheets[0]
                 .iter_rows(values_only=True))
    assert len(table) == 1201 and table[-1] == (1199, "row 1199") and len(table[1][1]) == MAX_CELL_TEXT
    assert "xl/styles.xml" in zipfile.ZipFile(io.BytesIO(out.getvalue())).namelist()
