import csv
import io

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.domain.errors import Conflict, InvalidInput
from compliance.domain.importing import (
    ChangeKind,
    IssueCode,
    apply_plan,
    normalise_email,
    normalise_phone,
    plan_import,
    read_csv,
    read_xlsx,
)
from compliance.domain.org import CareerSequence, OrgIndex, OrgUnit, Person, PersonStatus

PROPERTY = settings(database=None, deadline=None, max_examples=60)

UNITS = [
    OrgUnit("hq", "总部"),
    OrgUnit("rd", "研发中心", "hq"),
    OrgUnit("rd-p", "平台部", "rd"),
    OrgUnit("sales", "销售部", "hq"),
    OrgUnit("sales-p", "平台部", "sales"),  # a second "平台部": only its path is unambiguous
]
DIRECTORY = {
    "1001": Person("1001", "王总", "hq", email="ceo@example.com"),
    "1002": Person("1002", "李研发", "rd", email="li@example.com", manager_id="1001"),
    "1009": Person("1009", "赵离职", "sales", manager_id="1001", status=PersonStatus.TERMINATED),
}
HEADER = ["工号", "姓名", "邮箱", "手机", "部门", "上级", "职族", "职级", "序列", "地点", "状态"]


def csv_bytes(rows, *, encoding="utf-8", delimiter=","):
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return text.getvalue().encode(encoding)


def plan(rows, people=DIRECTORY, **options):
    return plan_import(rows, people=people, units=UNITS, **options)


def numbered(rows):
    return list(enumerate(rows, start=1))


def issues(result):
    return {(issue.row, issue.column, issue.code) for issue in result.errors}


GOOD_ROWS = [
    HEADER,
    [
        "1003",
        "张三",
        "Zhang.San@Example.com",
        "138 0013 8000",
        "研发中心/平台部",
        "1004",
        "软件",
        "P6",
        "技术",
        "上海",
        "在职",
    ],
    ["1004", "李四", "lisi@example.com", "+86 139-0013-9000", "rd-p", "1002", "软件", "M2", "管理", "北京", "正式"],
    ["1002", "李研发", "li@example.com", "", "研发中心", "1001", "", "", "", "", ""],
    ["1005", "Sam Lee", "", "+44 20 7946 0958", "sales", "1001", "Sales", "S3", "", "London", "休假"],
]


# readers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_csv_encodings_hr_systems_produce(encoding):
    rows = list(read_csv(csv_bytes(GOOD_ROWS, encoding=encoding)))
    assert rows[0] == (1, HEADER)
    assert rows[1][1][1] == "张三"


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_csv_delimiters(delimiter):
    rows = list(read_csv(csv_bytes(GOOD_ROWS, delimiter=delimiter)))
    assert rows[2][1][:2] == ["1004", "李四"]


def test_csv_from_a_non_seekable_stream():
    class Pipe(io.RawIOBase):
        def __init__(self, data):
            self.data = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, buffer):
            chunk = self.data.read(min(len(buffer), 7))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    rows = list(read_csv(io.BufferedReader(Pipe(csv_bytes(GOOD_ROWS, encoding="gb18030")))))
    assert rows[4][1][1] == "Sam Lee"
    with pytest.raises(InvalidInput):
        list(read_csv(Pipe(b"a,b")))


def test_csv_that_stops_being_valid_text_is_rejected():
    data = csv_bytes([["工号", "姓名", "部门"], *[["1", "x" * 50, "rd"]] * 2000]) + b"\xff\xfe\xfa,bad\r\n"
    with pytest.raises(InvalidInput, match="not valid utf-8"):
        list(read_csv(data))


def test_csv_multiline_cells_keep_record_numbers():
    rows = list(read_csv(b'a,b\r\n"line one\r\nline two",x\r\ny,z\r\n'))
    assert [number for number, _ in rows] == [1, 2, 3]


def xlsx_bytes(rows):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "花名册"
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_xlsx_rows_and_numeric_cells():
    data = xlsx_bytes([["2024 员工花名册"], [], HEADER, [1006, "钱七", None, 13800138000, "sales", 1001.0]])
    rows = list(read_xlsx(io.BytesIO(data)))
    assert rows[2] == (3, tuple(HEADER))
    result = plan(rows)
    assert result.ok, result.errors
    person = result.changes[0].person
    assert (person.employee_number, person.phone, person.manager_id) == ("1006", "+8613800138000", "1001")


def test_xlsx_from_a_path_and_a_named_sheet(tmp_path):
    path = tmp_path / "people.xlsx"
    path.write_bytes(xlsx_bytes(GOOD_ROWS))
    assert len(list(read_xlsx(path, sheet="花名册"))) == 5
    with pytest.raises(InvalidInput, match="no sheet"):
        list(read_xlsx(path, sheet="Sheet9"))


def test_unreadable_xlsx_is_invalid_input():
    with pytest.raises(InvalidInput, match="not a readable XLSX"):
        list(read_xlsx(io.BytesIO(b"not a zip file")))


# header ----------------------------------------------------------------------------------------


def test_chinese_header_plan():
    result = plan(numbered(GOOD_ROWS))
    assert result.ok, result.errors
    assert result.summary() == {"create": 3, "update": 0, "unchanged": 1, "errors": 0}
    zhang = result.changes[0].person
    assert zhang == Person(
        "1003", "张三", "rd-p", "zhang.san@example.com", "+8613800138000", "1004", "软件", "P6",
        CareerSequence.TECHNICAL, "上海", PersonStatus.ACTIVE,
    )  # fmt: skip
    sam = result.changes[3].person
    assert (sam.phone, sam.status, sam.sequence) == ("+442079460958", PersonStatus.LEAVE, None)


def test_english_headers_case_spacing_and_markers():
    rows = [
        ["Employee No.", "Full Name", "E-mail", "Department*", "Reports To", "Job Level", "Track", "Status（必填）"],  # noqa: RUF001
        ["1003", "Zhang San", "z@example.com", "rd-p", "1002", "P6", "technical", "active"],
    ]
    result = plan(numbered(rows))
    assert result.ok, result.errors
    assert result.changes[0].person.grade == "P6"


def test_title_rows_above_the_header_are_skipped():
    rows = [["2024年员工花名册"], ["导出时间", "2024-05-01"], HEADER, GOOD_ROWS[4]]
    result = plan(numbered(rows))
    assert result.ok
    assert result.changes[0].row == 4


def test_unknown_columns_are_warned_and_ignored():
    rows = [[*HEADER, "备注"], [*GOOD_ROWS[3], "随便"]]
    result = plan(numbered(rows))
    assert result.ok
    assert [(w.row, w.column, w.code) for w in result.warnings] == [(1, "备注", IssueCode.IGNORED_COLUMN)]


def test_missing_and_duplicate_columns_stop_the_import():
    result = plan(numbered([["工号", "邮箱", "Email"], ["1003", "a@example.com", "b@example.com"]]))
    assert issues(result) == {
        (1, "Email", IssueCode.DUPLICATE_COLUMN),
        (1, "name", IssueCode.MISSING_COLUMN),
        (1, "org_unit", IssueCode.MISSING_COLUMN),
    }
    assert result.rows == 0
    assert result.changes == ()


def test_no_header_at_all():
    result = plan(numbered([["hello"], ["world"]]))
    assert [e.code for e in result.errors] == [IssueCode.NO_HEADER]


# rows ------------------------------------------------------------------------------------------


def test_row_errors_name_the_spreadsheet_row_and_column_as_written():
    rows = [
        ["花名册"],
        HEADER,
        ["1003", "张三", "not-an-email", "12345", "研发中心", "", "", "", "", "", ""],
        [],
        ["1004", "", "a@example.com", "", "平台部", "", "", "", "程序员", "", "在岗"],
        ["1005", "王五", "", "", "火星部", "", "", "", "", "", ""],
        ["10 06", "x" * 101, "", "", "rd", "", "", "", "", "", ""],
        ["", "无工号", "", "", "rd", "", "", "", "", "", ""],
    ]
    result = plan(numbered(rows))
    assert issues(result) == {
        (3, "邮箱", IssueCode.INVALID_EMAIL),
        (3, "手机", IssueCode.INVALID_PHONE),
        (5, "姓名", IssueCode.REQUIRED),
        (5, "部门", IssueCode.AMBIGUOUS_ORG_UNIT),
        (5, "序列", IssueCode.INVALID),
        (5, "状态", IssueCode.INVALID),
        (6, "部门", IssueCode.UNKNOWN_ORG_UNIT),
        (7, "工号", IssueCode.INVALID),
        (7, "姓名", IssueCode.TOO_LONG),
        (8, "工号", IssueCode.REQUIRED),
    }
    assert result.rows == 5
    assert [e.row for e in result.errors] == sorted(e.row for e in result.errors)
    assert result.changes == ()


def test_org_units_by_id_or_a_unique_path_ending():
    rows = [
        HEADER,
        ["2001", "a", "", "", "rd-p", "", "", "", "", "", ""],
        ["2002", "b", "", "", "研发中心 / 平台部", "", "", "", "", "", ""],
        ["2003", "c", "", "", "总部/销售部/平台部", "", "", "", "", "", ""],
        ["2004", "d", "", "", "销售部", "", "", "", "", "", ""],
    ]
    result = plan(numbered(rows))
    assert result.ok, result.errors
    assert [c.person.org_unit_id for c in result.changes] == ["rd-p", "rd-p", "sales-p", "sales"]


def test_duplicate_employee_numbers_point_at_the_first_row():
    rows = [HEADER, GOOD_ROWS[1], GOOD_ROWS[2], GOOD_ROWS[1]]
    result = plan(numbered(rows))
    [error] = result.errors
    assert (error.row, error.column, error.code, error.message) == (
        4, "工号", IssueCode.DUPLICATE_EMPLOYEE_NUMBER, "already on row 2",
    )  # fmt: skip


def test_managers_may_appear_later_in_the_file_but_must_exist():
    rows = [
        HEADER,
        ["3001", "a", "", "", "rd", "3002", "", "", "", "", ""],
        ["3002", "b", "", "", "rd", "1001", "", "", "", "", ""],
        ["3003", "c", "", "", "rd", "9999", "", "", "", "", ""],
    ]
    result = plan(numbered(rows))
    assert issues(result) == {(4, "上级", IssueCode.UNKNOWN_MANAGER)}


def test_manager_loops_in_the_file_and_through_the_directory():
    in_file = [
        HEADER,
        ["3001", "a", "", "", "rd", "3002", "", "", "", "", ""],
        ["3002", "b", "", "", "rd", "3001", "", "", "", "", ""],
        ["3003", "c", "", "", "rd", "3003", "", "", "", "", ""],
    ]
    result = plan(numbered(in_file))
    assert issues(result) == {(r, "上级", IssueCode.MANAGER_LOOP) for r in (2, 3, 4)}
    through_directory = [HEADER, ["1001", "王总", "ceo@example.com", "", "hq", "1002", "", "", "", "", ""]]
    result = plan(numbered(through_directory))
    assert issues(result) == {(2, "上级", IssueCode.MANAGER_LOOP)}
    assert "1001 → 1002 → 1001" in result.errors[0].message or "1002 → 1001 → 1002" in result.errors[0].message


def test_emails_must_stay_unique():
    rows = [
        HEADER,
        ["3001", "a", "li@example.com", "", "rd", "", "", "", "", "", ""],
        ["3002", "b", "x@example.com", "", "rd", "", "", "", "", "", ""],
        ["3003", "c", "X@example.com", "", "rd", "", "", "", "", "", ""],
        ["1001", "王总", "new-ceo@example.com", "", "hq", "", "", "", "", "", ""],
        ["3004", "d", "ceo@example.com", "", "rd", "", "", "", "", "", ""],  # freed by row 5
    ]
    result = plan(numbered(rows))
    assert issues(result) == {(2, "邮箱", IssueCode.DUPLICATE_EMAIL), (4, "邮箱", IssueCode.DUPLICATE_EMAIL)}


def test_a_manager_who_left_is_a_warning():
    rows = [HEADER, ["3001", "a", "", "", "sales", "1009", "", "", "", "", ""]]
    result = plan(numbered(rows))
    assert result.ok
    assert [w.code for w in result.warnings] == [IssueCode.MANAGER_LEFT]


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("13800138000", "+8613800138000"),
        ("138 0013 8000", "+8613800138000"),
        ("+86 138-0013-8000", "+8613800138000"),
        ("008613800138000", "+8613800138000"),
        ("１３８００１３８０００", "+8613800138000"),  # noqa: RUF001 full-width digits, as typed with a Chinese IME
        ("+1 (415) 555-0100", "+14155550100"),
        ("12345", None),
        ("+86 12345678901", None),
        ("010-12345678", None),
        ("phone", None),
    ],
)
def test_phone_normalisation(text, phone):
    assert normalise_phone(text) == phone


@pytest.mark.parametrize(
    ("text", "email"),
    [
        ("Zhang.San@Example.COM", "zhang.san@example.com"),
        (" a@b.cn ", "a@b.cn"),
        ("a@b", None),
        ("a b@c.com", None),
        ("a@@b.com", None),
        ("a@b..com", None),
    ],
)
def test_email_normalisation(text, email):
    assert normalise_email(text) == email


# the plan against the directory ----------------------------------------------------------------


def test_update_lists_changed_fields_and_absent_columns_keep_values():
    rows = [["工号", "姓名", "部门", "职级"], ["1002", "李研发", "rd-p", "M3"]]
    result = plan(numbered(rows))
    [change] = result.changes
    assert change.kind is ChangeKind.UPDATE
    assert change.changed == ("org_unit_id", "grade")
    assert change.person.email == "li@example.com"  # no email column: kept
    assert change.person.manager_id == "1001"
    assert change.before == DIRECTORY["1002"]


def test_empty_optional_cells_clear_and_empty_status_keeps():
    rows = [HEADER, ["1009", "赵离职", "", "", "sales", "", "", "", "", "", ""]]
    [change] = plan(numbered(rows)).changes
    assert change.changed == ("manager_id",)
    assert change.person.status is PersonStatus.TERMINATED


def test_people_missing_from_the_file_are_left_alone():
    result = plan(numbered([HEADER, GOOD_ROWS[1], GOOD_ROWS[2]]))
    applied = apply_plan(DIRECTORY, result)
    assert applied["1009"] == DIRECTORY["1009"]
    assert len(applied) == 5


def test_within_unit_restricts_hr_to_their_subtree():
    rows = [
        HEADER,
        ["3001", "a", "", "", "rd-p", "", "", "", "", "", ""],
        ["3002", "b", "", "", "sales", "", "", "", "", "", ""],
        ["1001", "王总", "ceo@example.com", "", "rd", "", "", "", "", "", ""],  # moving the CEO into rd
    ]
    result = plan(numbered(rows), within_unit="rd")
    assert issues(result) == {(3, "部门", IssueCode.OUTSIDE_SCOPE), (4, "工号", IssueCode.OUTSIDE_SCOPE)}
    with pytest.raises(InvalidInput):
        plan(numbered(rows), within_unit="nowhere")


def test_apply_refuses_plans_with_errors_or_made_on_another_state():
    bad = plan(numbered([HEADER, ["1003", "张三", "bad", "", "rd", "", "", "", "", "", ""]]))
    with pytest.raises(Conflict, match="1 errors"):
        apply_plan(DIRECTORY, bad)
    good = plan(numbered(GOOD_ROWS))
    moved_on = {**DIRECTORY, "1003": Person("1003", "someone else", "hq")}
    with pytest.raises(Conflict, match="changed since the plan"):
        apply_plan(moved_on, good)


def test_import_apply_reimport_is_all_unchanged_and_the_result_is_a_valid_directory():
    first = plan(numbered(GOOD_ROWS))
    directory = apply_plan(DIRECTORY, first)
    OrgIndex(UNITS, directory.values())
    second = plan(numbered(GOOD_ROWS), people=directory)
    assert second.ok
    assert {c.kind for c in second.changes} == {ChangeKind.UNCHANGED}


def test_progress_is_reported_every_n_rows_and_at_the_end():
    rows = [HEADER] + [[str(5000 + i), f"p{i}", "", "", "rd", "", "", "", "", "", ""] for i in range(25)]
    seen = []
    plan(numbered(rows), progress=seen.append, progress_every=10)
    assert seen == [10, 20, 25]
    seen.clear()
    plan(numbered(rows[:21]), progress=seen.append, progress_every=10)
    assert seen == [10, 20]
    with pytest.raises(InvalidInput):
        plan(numbered(rows), progress_every=0)


# properties ------------------------------------------------------------------------------------

names = st.text(st.sampled_from("张王李赵钱孙abcXYZ "), min_size=1, max_size=8).map(str.strip).filter(bool)
optional = st.none() | st.text(st.sampled_from("ABCxyz0123 -"), max_size=6).map(str.strip)


@st.composite
def people_files(draw):
    count = draw(st.integers(1, 25))
    numbers = [f"{7000 + i}" for i in range(count)]
    rows = []
    for index, number in enumerate(numbers):
        manager = draw(st.none() | st.sampled_from(numbers[:index] or ["1001"]))
        rows.append(
            [
                number,
                draw(names),
                draw(st.sampled_from(["", f"u{number}@example.com", f"U{number}@Example.com"])),
                draw(st.sampled_from(["", f"139{number}0000", f"+86 139-{number}-0000"])),
                draw(st.sampled_from(["hq", "rd", "研发中心/平台部", "销售部", "总部/销售部/平台部"])),
                manager or "",
                draw(optional) or "",
                draw(optional) or "",
                draw(st.sampled_from(["", "技术", "management", "M"])),
                draw(optional) or "",
                draw(st.sampled_from(["", "在职", "leave", "离职"])),
            ]
        )
    order = draw(st.permutations(range(count)))
    return [HEADER, *(rows[i] for i in order)]


@PROPERTY
@given(people_files(), st.randoms(use_true_random=False))
def test_import_is_idempotent(rows, rnd):
    first = plan(numbered(rows))
    assert first.ok, first.errors
    directory = apply_plan(DIRECTORY, first)
    OrgIndex(UNITS, directory.values())
    shuffled = [rows[0], *rnd.sample(rows[1:], len(rows) - 1)]
    again = plan(numbered(shuffled), people=directory)
    assert again.ok
    assert all(change.kind is ChangeKind.UNCHANGED for change in again.changes)
    assert apply_plan(directory, again) == directory
    reread = plan(read_csv(csv_bytes(shuffled, encoding="gb18030")), people=directory)
    assert all(change.kind is ChangeKind.UNCHANGED for change in reread.changes)
