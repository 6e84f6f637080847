"""Bulk import of people from the CSV and XLSX files HR systems export.

Readers yield (row number as a spreadsheet shows it, cells). `plan_import` maps the header (English or
Chinese aliases), validates every row, and computes a dry-run plan of create / update / unchanged
against the current directory; `apply_plan` turns a clean plan into the new directory.

Column semantics: a column absent from the file leaves that field untouched for existing people; a
present but empty cell clears an optional field. An empty status keeps the current status (new
people are active). People in the directory but not in the file are left alone: files are often
one department's export.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from os import PathLike
from typing import BinaryIO

from chassis import tabular
from compliance.domain.errors import Conflict, InvalidInput
from compliance.domain.org import CareerSequence, OrgUnit, Person, PersonStatus, describe_loop, find_loops

Row = tabular.Row

FIELD_ALIASES: Mapping[str, tuple[str, ...]] = {
    "employee_number": (
        "employee number", "employee no", "employee id", "emp no", "staff id", "staff number",
        "工号", "员工编号", "员工工号", "人员编号",
    ),
    "name": ("name", "full name", "employee name", "姓名", "员工姓名", "名字"),
    "email": ("email", "e-mail", "email address", "work email", "邮箱", "电子邮箱", "邮件", "工作邮箱", "企业邮箱"),
    "phone": ("phone", "mobile", "mobile phone", "phone number", "手机", "手机号", "手机号码", "电话", "联系电话"),
    "org_unit": (
        "org unit", "org unit id", "department", "dept", "organization", "organisation",
        "部门", "所属部门", "部门名称", "组织", "组织单元",
    ),
    "manager": (
        "manager", "manager employee number", "manager id", "manager no", "reports to", "supervisor",
        "上级", "上级工号", "直属上级", "直接上级", "直属上级工号", "汇报对象", "汇报人工号",
    ),
    "job_family": ("job family", "职族", "职位族", "岗位族", "职类"),
    "grade": ("grade", "level", "job level", "职级", "级别", "职等"),
    "sequence": ("sequence", "track", "career track", "career sequence", "序列", "职业序列", "发展通道", "通道"),
    "location": ("location", "city", "office", "work location", "地点", "工作地点", "办公地点", "城市"),
    "status": ("status", "employment status", "状态", "员工状态", "在职状态", "人员状态"),
}  # fmt: skip

REQUIRED_FIELDS = ("employee_number", "name", "org_unit")
_REQUIRED_LABEL = {"employee_number": "工号 / employee number", "name": "姓名 / name", "org_unit": "部门 / department"}

STATUS_ALIASES: Mapping[str, PersonStatus] = {
    **dict.fromkeys(("active", "employed", "在职", "正式", "试用", "试用期", "实习"), PersonStatus.ACTIVE),
    **dict.fromkeys(("leave", "on leave", "休假", "病假", "产假", "停薪留职", "离岗"), PersonStatus.LEAVE),
    **dict.fromkeys(("terminated", "left", "inactive", "离职", "已离职", "退休"), PersonStatus.TERMINATED),
}
SEQUENCE_ALIASES: Mapping[str, CareerSequence] = {
    **dict.fromkeys(("technical", "tech", "t", "p", "professional", "技术", "专业", "技术序列", "专业序列"),
                    CareerSequence.TECHNICAL),
    **dict.fromkeys(("management", "m", "管理", "管理序列"), CareerSequence.MANAGEMENT),
}  # fmt: skip

# Fields written to Person, in Person's attribute names; "org_unit" and "manager" are renamed.
_PERSON_FIELD = {"org_unit": "org_unit_id", "manager": "manager_id"}
_HEADER_SCAN_ROWS = 10  # HR exports often put a title row or two above the header

_EMPLOYEE_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
_CN_MOBILE = re.compile(r"1[3-9]\d{9}")
_E164 = re.compile(r"\+[1-9]\d{6,14}")
_PHONE_NOISE = re.compile(r"[\s\-().]")


_key = tabular.header_key
_text = tabular.cell_text


_HEADER_FIELD = {_key(alias): name for name, aliases in FIELD_ALIASES.items() for alias in aliases}
_STATUS = {_key(alias): value for alias, value in STATUS_ALIASES.items()}
_SEQUENCE = {_key(alias): value for alias, value in SEQUENCE_ALIASES.items()}


class IssueCode(StrEnum):
    NO_HEADER = "no_header"
    MISSING_COLUMN = "missing_column"
    DUPLICATE_COLUMN = "duplicate_column"
    IGNORED_COLUMN = "ignored_column"
    REQUIRED = "required"
    INVALID = "invalid"
    TOO_LONG = "too_long"
    INVALID_EMAIL = "invalid_email"
    INVALID_PHONE = "invalid_phone"
    UNKNOWN_ORG_UNIT = "unknown_org_unit"
    AMBIGUOUS_ORG_UNIT = "ambiguous_org_unit"
    OUTSIDE_SCOPE = "outside_scope"
    UNKNOWN_MANAGER = "unknown_manager"
    MANAGER_LOOP = "manager_loop"
    MANAGER_LEFT = "manager_left"
    DUPLICATE_EMPLOYEE_NUMBER = "duplicate_employee_number"
    DUPLICATE_EMAIL = "duplicate_email"


@dataclass(frozen=True, slots=True)
class ImportIssue:
    """One problem, located as HR sees it: spreadsheet row number and the column header as written."""

    row: int
    column: str | None
    code: IssueCode
    message: str


class ChangeKind(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class PersonChange:
    kind: ChangeKind
    row: int
    person: Person
    before: Person | None
    changed: tuple[str, ...]  # Person attribute names that differ from `before`


@dataclass(frozen=True, slots=True)
class ImportPlan:
    rows: int  # data rows read (blank rows not counted)
    changes: tuple[PersonChange, ...]
    errors: tuple[ImportIssue, ...]
    warnings: tuple[ImportIssue, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.errors

    def count(self, kind: ChangeKind) -> int:
        return sum(1 for change in self.changes if change.kind == kind)

    def summary(self) -> dict[str, int]:
        return {kind.value: self.count(kind) for kind in ChangeKind} | {"errors": len(self.errors)}


# Readers (chassis.tabular; its UnreadableFile becomes this domain's InvalidInput naming the field) ----------------


def _translated(rows: Iterator[Row]) -> Iterator[Row]:
    try:
        yield from rows
    except tabular.UnreadableFile as error:
        raise InvalidInput.at((error.field,), error.message) from None


def read_csv(source: bytes | BinaryIO) -> Iterator[Row]:
    """Rows of a CSV export, streamed (chassis.tabular.read_csv: UTF-8, UTF-16 or GB18030; , ; or tab)."""
    return _translated(tabular.read_csv(source))


def read_xlsx(source: str | PathLike[str] | BinaryIO, sheet: str | None = None) -> Iterator[Row]:
    """Rows of an XLSX workbook's first sheet (or `sheet`), streamed in openpyxl's read-only mode."""
    return _translated(tabular.read_xlsx(source, sheet))


# Planning -------------------------------------------------------------------------------------


class _UnitLookup:
    """Resolves a department cell: an org unit id, or a path of names that ends at the unit.

    "平台部", "研发中心/平台部" and "总部/研发中心/平台部" all work as long as only one unit's path ends
    that way; exports often leave out the company root or repeat names in different branches.
    """

    def __init__(self, units: Iterable[OrgUnit]) -> None:
        self.by_id = {unit.id: unit for unit in units}
        self.by_tail: dict[str, list[str]] = {}  # "研发中心/平台部" → ids whose path ends so
        for unit in self.by_id.values():
            names = self._path(unit)
            for start in range(len(names)):
                self.by_tail.setdefault("/".join(names[start:]), []).append(unit.id)

    def _path(self, unit: OrgUnit) -> list[str]:
        names = [_name_key(unit.name)]
        seen = {unit.id}
        parent = unit.parent_id
        while parent is not None and parent in self.by_id and parent not in seen:
            seen.add(parent)
            names.append(_name_key(self.by_id[parent].name))
            parent = self.by_id[parent].parent_id
        return names[::-1]

    def resolve(self, text: str) -> tuple[str | None, IssueCode | None]:
        if text in self.by_id:
            return text, None
        key = "/".join(_name_key(part) for part in unicodedata.normalize("NFKC", text).split("/"))
        matches = self.by_tail.get(key, [])
        if len(matches) == 1:
            return matches[0], None
        return None, (IssueCode.AMBIGUOUS_ORG_UNIT if matches else IssueCode.UNKNOWN_ORG_UNIT)


def _name_key(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def normalise_email(text: str) -> str | None:
    """Lower-cased address, or None when it is not a plausible single address."""
    email = unicodedata.normalize("NFKC", text).strip().lower()
    return email if len(email) <= 254 and _EMAIL.fullmatch(email) else None


def normalise_phone(text: str) -> str | None:
    """E.164 form ("+8613800138000"): a mainland mobile with or without +86, or any +<country> number."""
    phone = _PHONE_NOISE.sub("", unicodedata.normalize("NFKC", text))
    if phone.startswith("00"):
        phone = "+" + phone[2:]
    if _CN_MOBILE.fullmatch(phone):
        return "+86" + phone
    if phone.startswith("+86"):
        return phone if _CN_MOBILE.fullmatch(phone[3:]) else None
    return phone if _E164.fullmatch(phone) else None


@dataclass(slots=True)
class _Parsed:
    row: int
    values: dict[str, object]  # Person attribute → value, only for columns present in the file
    manager: str | None

    @property
    def number(self) -> str:
        """The row's employee number ("" when its cell was empty)."""
        value = self.values.get("employee_number")
        return value if isinstance(value, str) else ""


@dataclass(slots=True)
class _Columns:
    index: dict[str, int]  # field → cell index
    header: dict[str, str]  # field → header text as written

    def label(self, name: str) -> str:
        return self.header.get(name, name)


_LIMITS = {"name": 100, "job_family": 64, "grade": 32, "location": 100}
_PERSON_FIELDS = tuple(f.name for f in fields(Person))


class _Planner:
    def __init__(self, people: Mapping[str, Person], units: Iterable[OrgUnit], within_unit: str | None) -> None:
        self.people = people
        self.units = _UnitLookup(units)
        self.within_unit = within_unit
        if within_unit is not None and within_unit not in self.units.by_id:
            raise InvalidInput.at(("within_unit",), "unknown org unit")
        self.errors: list[ImportIssue] = []
        self.warnings: list[ImportIssue] = []
        self.parsed: list[_Parsed] = []
        self.first_row: dict[str, int] = {}  # employee number → row where it first appeared
        self.bad_rows: set[int] = set()

    def error(self, row: int, column: str | None, code: IssueCode, message: str) -> None:
        self.errors.append(ImportIssue(row, column, code, message))
        self.bad_rows.add(row)

    # header

    def columns(self, rows: Iterator[Row]) -> _Columns | None:
        for _ in range(_HEADER_SCAN_ROWS):
            found = next(rows, None)
            if found is None:
                break
            number, cells = found
            mapped = [
                (_HEADER_FIELD.get(_key(_text(cell))), _text(cell), position) for position, cell in enumerate(cells)
            ]
            if sum(1 for name, _, _ in mapped if name is not None) < 2:
                continue
            columns = _Columns({}, {})
            for name, text, position in mapped:
                if name is None:
                    if text:
                        self.warnings.append(
                            ImportIssue(number, text, IssueCode.IGNORED_COLUMN, "column is not imported")
                        )
                elif name in columns.index:
                    self.error(
                        number, text, IssueCode.DUPLICATE_COLUMN, f"same field as column {columns.header[name]!r}"
                    )
                else:
                    columns.index[name] = position
                    columns.header[name] = text
            for name in REQUIRED_FIELDS:
                if name not in columns.index:
                    self.error(number, name, IssueCode.MISSING_COLUMN, f"a {_REQUIRED_LABEL[name]} column is required")
            return columns
        self.error(1, None, IssueCode.NO_HEADER, "no header row naming employee number, name and department columns")
        return None

    # one row

    def parse(self, number: int, cells: Sequence[object], columns: _Columns) -> None:
        def cell(name: str) -> str:
            position = columns.index.get(name)
            return _text(cells[position]) if position is not None and position < len(cells) else ""

        def fail(name: str, code: IssueCode, message: str) -> None:
            self.error(number, columns.label(name), code, message)

        values: dict[str, object] = {}
        employee_number = unicodedata.normalize("NFKC", cell("employee_number"))
        if not employee_number:
            fail("employee_number", IssueCode.REQUIRED, "employee number is required")
        elif not _EMPLOYEE_NUMBER.fullmatch(employee_number):
            fail("employee_number", IssueCode.INVALID, "use letters, digits, '.', '_' or '-' (at most 64)")
        elif employee_number in self.first_row:
            first = self.first_row[employee_number]
            fail("employee_number", IssueCode.DUPLICATE_EMPLOYEE_NUMBER, f"already on row {first}")
            return
        else:
            self.first_row[employee_number] = number
        values["employee_number"] = employee_number

        for name in ("name", "job_family", "grade", "location"):
            if name not in columns.index:
                continue
            text = cell(name)
            if name == "name" and not text:
                fail(name, IssueCode.REQUIRED, "name is required")
            elif len(text) > _LIMITS[name]:
                fail(name, IssueCode.TOO_LONG, f"at most {_LIMITS[name]} characters")
            values[name] = text or None

        if "email" in columns.index:
            text = cell("email")
            email = normalise_email(text) if text else None
            if text and email is None:
                fail("email", IssueCode.INVALID_EMAIL, f"{text!r} is not an email address")
            values["email"] = email
        if "phone" in columns.index:
            text = cell("phone")
            phone = normalise_phone(text) if text else None
            if text and phone is None:
                fail("phone", IssueCode.INVALID_PHONE, f"{text!r} is not a mobile number (+<country code><number>)")
            values["phone"] = phone

        text = cell("org_unit")
        if not text:
            fail("org_unit", IssueCode.REQUIRED, "department is required")
        else:
            unit_id, problem = self.units.resolve(text)
            if problem is IssueCode.AMBIGUOUS_ORG_UNIT:
                fail("org_unit", problem, f"several departments are named {text!r}; write the full path")
            elif problem is not None:
                fail("org_unit", problem, f"no department {text!r}")
            elif self.within_unit is not None and not self._within(unit_id):
                fail("org_unit", IssueCode.OUTSIDE_SCOPE, f"{text!r} is outside the units you manage")
            values["org_unit_id"] = unit_id

        if "sequence" in columns.index:
            text = cell("sequence")
            values["sequence"] = _SEQUENCE.get(_key(text)) if text else None
            if text and values["sequence"] is None:
                fail("sequence", IssueCode.INVALID, f"{text!r} is not technical or management")
        if "status" in columns.index and (text := cell("status")):  # empty keeps the current status
            values["status"] = _STATUS.get(_key(text))
            if values["status"] is None:
                fail("status", IssueCode.INVALID, f"{text!r} is not active, leave or terminated")

        manager = None
        if "manager" in columns.index:
            manager = unicodedata.normalize("NFKC", cell("manager")) or None
            values["manager_id"] = manager
        self.parsed.append(_Parsed(number, values, manager))

    def _within(self, unit_id: str | None) -> bool:
        seen: set[str] = set()
        while unit_id is not None and unit_id not in seen:
            if unit_id == self.within_unit:
                return True
            seen.add(unit_id)
            unit = self.units.by_id.get(unit_id)
            unit_id = None if unit is None else unit.parent_id
        return False

    # across rows

    def cross_check(self, columns: _Columns) -> None:
        in_file = {parsed.number: parsed for parsed in self.parsed if parsed.number}
        manager_label = columns.label("manager")
        for parsed in self.parsed:
            manager = parsed.manager
            if manager is not None and manager not in in_file and manager not in self.people:
                self.error(
                    parsed.row,
                    manager_label,
                    IssueCode.UNKNOWN_MANAGER,
                    f"no employee {manager!r} in the file or the directory",
                )

        manager_of = {number: person.manager_id for number, person in self.people.items()}
        if "manager" in columns.index:
            manager_of.update((number, parsed.manager) for number, parsed in in_file.items())
        for loop in find_loops(manager_of):
            for number in loop:
                if number in in_file:
                    self.error(
                        in_file[number].row,
                        manager_label,
                        IssueCode.MANAGER_LOOP,
                        f"manager loop: {describe_loop(loop)}",
                    )

        if "email" in columns.index:
            owner = {p.email: n for n, p in self.people.items() if p.email is not None and n not in in_file}
            for number, parsed in in_file.items():
                email = parsed.values.get("email")
                if not isinstance(email, str):
                    continue
                if email in owner and owner[email] != number:
                    self.error(
                        parsed.row,
                        columns.label("email"),
                        IssueCode.DUPLICATE_EMAIL,
                        f"already used by employee {owner[email]}",
                    )
                else:
                    owner[email] = number

        for number, parsed in in_file.items():
            existing = self.people.get(number)
            if self.within_unit is not None and existing is not None and not self._within(existing.org_unit_id):
                self.error(
                    parsed.row,
                    columns.label("employee_number"),
                    IssueCode.OUTSIDE_SCOPE,
                    "this person belongs to a unit outside your scope",
                )
            manager_record = self.people.get(parsed.manager) if parsed.manager is not None else None
            if (manager_record is not None and parsed.manager not in in_file
                    and manager_record.status == PersonStatus.TERMINATED):
                self.warnings.append(
                    ImportIssue(parsed.row, manager_label, IssueCode.MANAGER_LEFT, f"manager {parsed.manager} has left")
                )

    def changes(self) -> list[PersonChange]:
        result = []
        for parsed in self.parsed:
            if parsed.row in self.bad_rows:
                continue
            values = parsed.values
            before = self.people.get(parsed.number)
            if before is None:
                person = Person(**values)  # type: ignore[arg-type]  # each value parsed for its column
                result.append(PersonChange(ChangeKind.CREATE, parsed.row, person, None, tuple(values)))
                continue
            person = replace(before, **values)  # type: ignore[arg-type]  # each value parsed for its column
            changed = tuple(name for name in _PERSON_FIELDS if getattr(person, name) != getattr(before, name))
            kind = ChangeKind.UPDATE if changed else ChangeKind.UNCHANGED
            result.append(PersonChange(kind, parsed.row, person, before, changed))
        return result


def plan_import(
    rows: Iterable[Row],
    *,
    people: Mapping[str, Person],
    units: Iterable[OrgUnit],
    within_unit: str | None = None,
    progress: Callable[[int], None] | None = None,
    progress_every: int = 1000,
) -> ImportPlan:
    """Validate `rows` (header first) against the directory and plan the changes; nothing is written.

    `within_unit` restricts the import to one org-unit subtree (HR importing their own units).
    `progress(rows_read)` is called every `progress_every` data rows and with the final count.
    """
    if progress_every < 1:
        raise InvalidInput.at(("progress_every",), "must be at least 1")
    planner = _Planner(people, units, within_unit)
    iterator = iter(rows)
    columns = planner.columns(iterator)
    count = 0
    if columns is not None and not planner.errors:
        for number, cells in iterator:
            if not any(_text(cell) for cell in cells):
                continue
            planner.parse(number, cells, columns)
            count += 1
            if progress is not None and count % progress_every == 0:
                progress(count)
        planner.cross_check(columns)
    if progress is not None and (count == 0 or count % progress_every):
        progress(count)
    planner.errors.sort(key=lambda issue: issue.row)
    return ImportPlan(count, tuple(planner.changes()), tuple(planner.errors), tuple(planner.warnings))


def apply_plan(people: Mapping[str, Person], plan: ImportPlan) -> dict[str, Person]:
    """The directory after a clean plan. Refuses plans with errors and plans made on another state."""
    if not plan.ok:
        raise Conflict(f"the import has {len(plan.errors)} errors; fix the file and plan again")
    result = dict(people)
    for change in plan.changes:
        if result.get(change.person.employee_number) != change.before:
            raise Conflict(f"employee {change.person.employee_number} changed since the plan was made; plan again")
        result[change.person.employee_number] = change.person
    return result
