"""Bulk import of goals, indicators and templates from CSV/XLSX (chassis.tabular reads the rows).

`plan_goals` maps the header (English or Chinese), validates every row and returns the goals to create, in file
order (a parent before its children), with every problem located as the user sees it: the spreadsheet row and
the column header as written. Nothing here touches a database: the use case gives what the rows are checked
against (the people and units of the directory, the cycle's goals and each person's weights so far).

Goal file: one row per goal (`ref` names it within the file; `parent` is an earlier row's ref or an existing
goal's id). An OKR's further key results are rows with the goal's ref, a key result and no title.
`plan_indicators` and `plan_templates` read the library files: one row per indicator; one row per template
item (the rows of one template code share its name and job family).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from chassis.tabular import Row, cell_text, header_key

MAX_ROWS = 20_000  # data rows in one file; a region's whole goal tree is a few thousand
HEADER_SCAN_ROWS = 10  # exports often put a title row or two above the header
TOTAL_WEIGHT = Decimal(100)


class IssueCode(StrEnum):
    NO_HEADER = "no_header"
    MISSING_COLUMN = "missing_column"
    DUPLICATE_COLUMN = "duplicate_column"
    IGNORED_COLUMN = "ignored_column"
    REQUIRED = "required"
    INVALID = "invalid"
    TOO_LONG = "too_long"
    TOO_MANY_ROWS = "too_many_rows"
    DUPLICATE_ROW = "duplicate_row"
    UNKNOWN_OWNER = "unknown_owner"
    UNKNOWN_UNIT = "unknown_unit"
    UNKNOWN_PARENT = "unknown_parent"
    PARENT_AFTER_CHILD = "parent_after_child"
    UNKNOWN_GOAL = "unknown_goal"
    WEIGHTS_TOTAL = "weights_total"
    UNKNOWN_INDICATOR = "unknown_indicator"
    REJECTED = "rejected"  # a rule of the service refused the row when it was tried


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem: spreadsheet row number and the column header as written in the file (None: the whole row)."""

    row: int
    column: str | None
    code: IssueCode
    message: str


GOAL_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "ref": ("ref", "goal ref", "goal no", "key", "编号", "目标编号", "序号"),
    "parent": ("parent", "parent ref", "parent goal", "上级目标", "上级编号", "上级目标编号", "父目标"),
    "title": ("title", "goal", "goal title", "目标", "目标名称"),
    "kind": ("kind", "type", "goal type", "类型", "目标类型"),
    "owner": ("owner", "owner id", "employee number", "负责人", "负责人工号", "工号"),
    "org_unit": ("org unit", "department", "owning unit", "部门", "所属部门", "组织"),
    "weight": ("weight", "weight %", "权重", "权重%"),
    "description": ("description", "描述", "说明"),
    "key_result": ("key result", "kr", "关键结果"),
    "start": ("start", "start value", "baseline", "起始值", "基线"),
    "target": ("target", "target value", "目标值"),
    "measure": ("measure unit", "unit of measure", "uom", "计量单位", "单位"),
    "direction": ("direction", "方向"),
    "green": ("green", "green threshold", "绿灯", "绿灯阈值"),
    "yellow": ("yellow", "yellow threshold", "黄灯", "黄灯阈值"),
    "kr_weight": ("kr weight", "key result weight", "关键结果权重"),
    "cumulative": ("cumulative", "累计", "是否累计"),
}  # fmt: skip
GOAL_REQUIRED = ("ref", "title", "kind", "owner", "weight")

INDICATOR_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "code": ("code", "indicator code", "指标编码", "编码"),
    "name": ("name", "indicator", "indicator name", "指标名称", "名称"),
    "kind": ("kind", "type", "类型"),
    "direction": GOAL_COLUMNS["direction"],
    "measure": GOAL_COLUMNS["measure"],
    "target": GOAL_COLUMNS["target"],
    "green": GOAL_COLUMNS["green"],
    "yellow": GOAL_COLUMNS["yellow"],
    "cumulative": GOAL_COLUMNS["cumulative"],
    "formula": ("formula", "公式", "计算公式"),
    "description": GOAL_COLUMNS["description"],
}
INDICATOR_REQUIRED = ("code", "name", "kind", "direction")

TEMPLATE_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "code": ("template code", "code", "模板编码", "编码"),
    "name": ("template name", "name", "模板名称", "名称"),
    "job_family": ("job family", "job type", "岗位族", "岗位类型", "职族", "岗位"),
    "indicator": ("indicator", "indicator code", "指标", "指标编码"),
    "weight": GOAL_COLUMNS["weight"],
    "target": GOAL_COLUMNS["target"],
}
TEMPLATE_REQUIRED = ("code", "name", "job_family", "indicator", "weight")

_KINDS = {header_key(k): v for k, v in {"okr": "okr", "kpi": "kpi", "目标与关键结果": "okr", "关键绩效指标": "kpi",
                                         "指标": "kpi"}.items()}
_DIRECTIONS = {header_key(k): v for k, v in {
    ">=": ">=", "≥": ">=", "higher": ">=", "higher is better": ">=", "越高越好": ">=", "越大越好": ">=", "不低于": ">=",
    "<=": "<=", "≤": "<=", "lower": "<=", "lower is better": "<=", "越低越好": "<=", "越小越好": "<=", "不高于": "<=",
    "=": "=", "equal": "=", "exact": "=", "等于": "=", "持平": "="}.items()}  # fmt: skip
# header_key drops punctuation-free symbols only: keep the comparison symbols themselves as keys too
_DIRECTIONS.update({">=": ">=", "<=": "<=", "=": "=", "≥": ">=", "≤": "<="})
_YES = {header_key(k) for k in ("yes", "y", "true", "1", "是", "累计")}
_NO = {header_key(k) for k in ("", "no", "n", "false", "0", "否")}
_REF = re.compile(r"[A-Za-z0-9\u4e00-\u9fff][A-Za-z0-9\u4e00-\u9fff._/-]{0,63}")
_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")


@dataclass(slots=True)
class Columns:
    index: dict[str, int]  # field → cell position
    header: dict[str, str]  # field → header text as written
    row: int  # the header's row number

    def label(self, name: str) -> str:
        return self.header.get(name, name)


class _Sheet:
    """Header mapping and cell parsing shared by the three kinds of file; collects the issues."""

    def __init__(self, aliases: Mapping[str, tuple[str, ...]], required: Sequence[str]) -> None:
        self.field_of = {header_key(alias): name for name, names in aliases.items() for alias in names}
        self.required = required
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []
        self.bad_rows: set[int] = set()
        self.columns = Columns({}, {}, 0)
        self.number = 0
        self.cells: Sequence[object] = ()
        self.count = 0  # data rows read

    def error(self, row: int, name: str | None, code: IssueCode, message: str) -> None:
        self.errors.append(Issue(row, None if name is None else self.columns.label(name), code, message))
        self.bad_rows.add(row)

    def read_header(self, rows: Iterator[Row]) -> bool:
        for _ in range(HEADER_SCAN_ROWS):
            found = next(rows, None)
            if found is None:
                break
            number, cells = found
            mapped = [(self.field_of.get(header_key(cell_text(cell))), cell_text(cell), position)
                      for position, cell in enumerate(cells)]
            if sum(1 for name, _, _ in mapped if name is not None) < 2:
                continue
            self.columns = Columns({}, {}, number)
            for name, text, position in mapped:
                if name is None:
                    if text:
                        self.warnings.append(Issue(number, text, IssueCode.IGNORED_COLUMN, "column is not imported"))
                elif name in self.columns.index:
                    self.error(number, None, IssueCode.DUPLICATE_COLUMN,
                               f"{text!r} is the same column as {self.columns.header[name]!r}")
                else:
                    self.columns.index[name] = position
                    self.columns.header[name] = text
            for name in self.required:
                if name not in self.columns.index:
                    self.error(number, name, IssueCode.MISSING_COLUMN,
                               f"a {' / '.join(_labels(self.field_of, name))} column is required")
            return not self.errors
        names = ", ".join(self.required)
        self.error(1, None, IssueCode.NO_HEADER, f"no header row naming the columns {names}")
        return False

    def data(self, rows: Iterator[Row], progress: Callable[[int], None] | None, every: int) -> Iterator[int]:
        """The data rows, skipping blank ones; sets `number`/`cells`/`count` and yields each row's number."""
        count = 0
        for number, cells in rows:
            if not any(cell_text(cell) for cell in cells):
                continue
            count += 1
            if count > MAX_ROWS:
                self.error(number, None, IssueCode.TOO_MANY_ROWS,
                           f"at most {MAX_ROWS} rows in one file; split it (by region, for example)")
                break
            self.number, self.cells, self.count = number, cells, count
            yield number
            if progress is not None and count % every == 0:
                progress(count)
        if progress is not None:
            progress(count)

    def has(self, name: str) -> bool:
        return name in self.columns.index

    def text(self, name: str) -> str:
        position = self.columns.index.get(name)
        return cell_text(self.cells[position]) if position is not None and position < len(self.cells) else ""

    def fail(self, name: str | None, code: IssueCode, message: str) -> None:
        self.error(self.number, name, code, message)

    def required_text(self, name: str, limit: int) -> str:
        value = self.text(name)
        if not value:
            self.fail(name, IssueCode.REQUIRED, "required")
        elif len(value) > limit:
            self.fail(name, IssueCode.TOO_LONG, f"at most {limit} characters")
        return value

    def optional_text(self, name: str, limit: int) -> str:
        value = self.text(name)
        if len(value) > limit:
            self.fail(name, IssueCode.TOO_LONG, f"at most {limit} characters")
        return value

    def decimal(self, name: str, *, places: int = 6, low: Decimal | None = None,
                high: Decimal | None = None) -> Decimal | None:
        value = self.text(name).replace(",", "").rstrip("%").strip()
        if not value:
            return None
        try:
            number = Decimal(value)
        except InvalidOperation:
            self.fail(name, IssueCode.INVALID, f"{value!r} is not a number")
            return None
        if not number.is_finite() or abs(number) >= Decimal(10) ** 14:
            self.fail(name, IssueCode.INVALID, f"{value!r} is not a sane amount")
            return None
        if number.normalize().as_tuple().exponent < -places:  # type: ignore[operator]  # finite: an int
            self.fail(name, IssueCode.INVALID, f"at most {places} decimals")
            return None
        if (low is not None and number < low) or (high is not None and number > high):
            self.fail(name, IssueCode.INVALID, f"must be from {low} to {high}")
            return None
        return number

    def choice(self, name: str, choices: Mapping[str, str], what: str) -> str | None:
        value = self.text(name)
        if not value:
            return None
        found = choices.get(header_key(value), choices.get(value))
        if found is None:
            self.fail(name, IssueCode.INVALID, f"{value!r} is not {what}")
        return found

    def flag(self, name: str) -> bool:
        value = header_key(self.text(name))
        if value in _YES:
            return True
        if value not in _NO:
            self.fail(name, IssueCode.INVALID, f"{self.text(name)!r} is not yes or no (是/否)")
        return False


def _labels(field_of: Mapping[str, str], name: str) -> list[str]:
    """The first English and the first Chinese alias of a field, for messages in both languages."""
    aliases = [alias for alias, field_name in field_of.items() if field_name == name]
    chinese = next((a for a in aliases if any("\u4e00" <= ch <= "\u9fff" for ch in a)), None)
    return [name.replace("_", " ")] + ([chinese] if chinese else [])


# Goals -----------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class KeyResultDraft:
    row: int
    title: str
    target: Decimal
    start: Decimal
    measure: str
    weight: Decimal


@dataclass(slots=True)
class GoalDraft:
    row: int
    ref: str
    title: str
    kind: str
    owner_id: str
    org_unit_id: str | None  # an org-unit goal, the owner speaks for it
    weight: Decimal
    description: str
    parent_ref: str | None  # a goal of this file
    parent_id: str | None  # an existing goal
    kpi: dict[str, Any] | None
    key_results: list[KeyResultDraft] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Plan:
    rows: int
    items: tuple[Any, ...]  # GoalDraft | dict for a library save, in the order to apply
    errors: tuple[Issue, ...]
    warnings: tuple[Issue, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors


def plan_goals(rows: Iterable[Row], *, people: Mapping[str, str | None], units: Iterable[str],
               existing_goals: Iterable[str], weights_so_far: Mapping[str, Decimal],
               progress: Callable[[int], None] | None = None, progress_every: int = 500) -> Plan:
    """Validate a goal file against the directory (`people`: person id → org unit) and the cycle (its goal
    ids, each person's weights already set). Person-owned goals' weights must bring each owner to exactly 100."""
    sheet = _Sheet(GOAL_COLUMNS, GOAL_REQUIRED)
    iterator = iter(rows)
    if not sheet.read_header(iterator):
        return Plan(0, (), tuple(sheet.errors), tuple(sheet.warnings))
    known_units, known_goals = set(units), set(existing_goals)
    goals: dict[str, GoalDraft] = {}
    first_row: dict[str, int] = {}  # every ref defined, good or bad, with its row (a later parent is named)
    pending_parents: list[tuple[GoalDraft, str]] = []
    for _ in sheet.data(iterator, progress, progress_every):
        ref = sheet.text("ref")
        if not ref:
            sheet.fail("ref", IssueCode.REQUIRED, "every row names its goal (a ref unique in the file)")
            continue
        if not _REF.fullmatch(ref):
            sheet.fail("ref", IssueCode.INVALID, "letters, digits, Chinese characters, '.', '_', '/' or '-'")
            continue
        if not sheet.text("title"):
            _key_result_row(sheet, ref, goals, first_row)
            continue
        if ref in first_row:
            sheet.fail("ref", IssueCode.DUPLICATE_ROW, f"goal {ref!r} is already defined on row {first_row[ref]}")
            continue
        first_row[ref] = sheet.number
        draft = _goal_row(sheet, ref, people, known_units, known_goals)
        if draft is None:
            continue
        parent = sheet.text("parent")
        if parent:
            if parent == ref:
                sheet.fail("parent", IssueCode.INVALID, "a goal cannot be its own parent")
            elif parent in goals:
                draft.parent_ref = parent
            elif parent in known_goals:
                draft.parent_id = parent
            elif parent in first_row:
                sheet.fail("parent", IssueCode.UNKNOWN_PARENT, f"goal {parent!r} (row {first_row[parent]}) has errors")
            else:
                pending_parents.append((draft, parent))  # maybe defined further down: said below
        goals[ref] = draft
    for draft, parent in pending_parents:
        sheet.number = draft.row
        if parent in first_row:
            sheet.fail("parent", IssueCode.PARENT_AFTER_CHILD,
                       f"goal {parent!r} is defined on row {first_row[parent]}, after this row: put parents first")
        else:
            sheet.fail("parent", IssueCode.UNKNOWN_PARENT, f"no goal {parent!r} in the file or the cycle")
    for draft in goals.values():
        if draft.kind == "okr" and not draft.key_results:
            sheet.number = draft.row
            sheet.fail("key_result", IssueCode.REQUIRED, "an OKR goal needs at least one key result")
    _check_weights(sheet, goals.values(), weights_so_far)
    sheet.errors.sort(key=lambda issue: issue.row)
    good = tuple(draft for draft in goals.values() if draft.row not in sheet.bad_rows)
    return Plan(sheet.count, good, tuple(sheet.errors), tuple(sheet.warnings))


def _goal_row(sheet: _Sheet, ref: str, people: Mapping[str, str | None], units: set[str],
              goals: set[str]) -> GoalDraft | None:
    title = sheet.required_text("title", 200)
    kind = sheet.choice("kind", _KINDS, "OKR or KPI")
    if kind is None and not sheet.text("kind"):
        sheet.fail("kind", IssueCode.REQUIRED, "OKR or KPI")
    owner = sheet.text("owner")
    if not owner:
        sheet.fail("owner", IssueCode.REQUIRED, "the person who owns (or speaks for) the goal")
    elif owner not in people:
        sheet.fail("owner", IssueCode.UNKNOWN_OWNER, f"no person {owner!r} in the directory")
    unit = sheet.text("org_unit") or None
    if unit is not None and unit not in units:
        sheet.fail("org_unit", IssueCode.UNKNOWN_UNIT, f"no org unit {unit!r} in the directory")
    weight = sheet.decimal("weight", places=2, low=Decimal(0), high=TOTAL_WEIGHT)
    if weight is None and not sheet.text("weight"):
        sheet.fail("weight", IssueCode.REQUIRED, "a weight from 0 to 100")
    description = sheet.optional_text("description", 2000)
    kpi = None
    if kind == "kpi":
        kpi = _kpi(sheet)
    first_kr = None
    if sheet.text("key_result"):
        if kind == "kpi":
            sheet.fail("key_result", IssueCode.INVALID, "a KPI goal has a target and thresholds, not key results")
        else:
            first_kr = _key_result(sheet)
    if sheet.number in sheet.bad_rows or kind is None or weight is None:
        return None
    draft = GoalDraft(sheet.number, ref, title, kind, owner, unit, weight, description, None, None, kpi)
    if first_kr is not None:
        draft.key_results.append(first_kr)
    return draft


def _kpi(sheet: _Sheet) -> dict[str, Any] | None:
    direction = sheet.choice("direction", _DIRECTIONS, "'>=', '<=' or '=' (越高越好 / 越低越好 / 等于)")
    target = sheet.decimal("target")
    green = sheet.decimal("green")
    yellow = sheet.decimal("yellow")
    for name, value in (("direction", direction), ("target", target), ("green", green), ("yellow", yellow)):
        if value is None and not sheet.text(name):
            sheet.fail(name, IssueCode.REQUIRED, "a KPI goal needs a direction, a target and green and yellow "
                                                 "thresholds")
    if direction is None or target is None or green is None or yellow is None:
        return None
    return {"direction": direction, "target": target, "green": green, "yellow": yellow,
            "unit": sheet.optional_text("measure", 32), "cumulative": sheet.flag("cumulative")}


def _key_result(sheet: _Sheet) -> KeyResultDraft | None:
    title = sheet.required_text("key_result", 200)
    target = sheet.decimal("target")
    if target is None and not sheet.text("target"):
        sheet.fail("target", IssueCode.REQUIRED, "a key result needs a target")
    start = sheet.decimal("start") or Decimal(0)
    weight = sheet.decimal("kr_weight", places=4, low=Decimal(0), high=Decimal(10) ** 5)
    measure = sheet.optional_text("measure", 32)
    if target is None or sheet.number in sheet.bad_rows:
        return None
    return KeyResultDraft(sheet.number, title, target, start, measure, Decimal(1) if weight is None else weight)


def _key_result_row(sheet: _Sheet, ref: str, goals: Mapping[str, GoalDraft], first_row: Mapping[str, int]) -> None:
    if not sheet.text("key_result"):
        sheet.fail("title", IssueCode.REQUIRED, "a goal row needs a title; a key result row needs a key result")
        return
    goal = goals.get(ref)
    if goal is None:
        message = (f"goal {ref!r} (row {first_row[ref]}) has errors" if ref in first_row
                   else f"goal {ref!r} is not defined on an earlier row")
        sheet.fail("ref", IssueCode.UNKNOWN_GOAL, message)
        return
    if goal.kind != "okr":
        sheet.fail("key_result", IssueCode.INVALID, f"goal {ref!r} is a KPI: it has no key results")
        return
    key_result = _key_result(sheet)
    if key_result is None:
        return
    for earlier in goal.key_results:
        if earlier.title == key_result.title:
            sheet.fail("key_result", IssueCode.DUPLICATE_ROW,
                       f"goal {ref!r} already has this key result on row {earlier.row}")
            return
    goal.key_results.append(key_result)


def _check_weights(sheet: _Sheet, goals: Iterable[GoalDraft], weights_so_far: Mapping[str, Decimal]) -> None:
    """Each owner's person goals (those in the cycle and those in the file) total exactly 100."""
    by_owner: dict[str, list[GoalDraft]] = {}
    for draft in goals:
        if draft.org_unit_id is None:
            by_owner.setdefault(draft.owner_id, []).append(draft)
    for owner, drafts in by_owner.items():
        before = weights_so_far.get(owner, Decimal(0))
        total = before + sum((draft.weight for draft in drafts), Decimal(0))
        if total != TOTAL_WEIGHT:
            already = f" ({before} already set in the cycle)" if before else ""
            for draft in drafts:
                sheet.number = draft.row
                sheet.fail("weight", IssueCode.WEIGHTS_TOTAL,
                           f"{owner}'s goals would total {total}{already}, not 100")


# The library -----------------------------------------------------------------------------------------------------


def plan_indicators(rows: Iterable[Row], progress: Callable[[int], None] | None = None) -> Plan:
    """Indicators to save (as SaveIndicator payloads), one per row, codes unique in the file."""
    sheet = _Sheet(INDICATOR_COLUMNS, INDICATOR_REQUIRED)
    iterator = iter(rows)
    if not sheet.read_header(iterator):
        return Plan(0, (), tuple(sheet.errors), tuple(sheet.warnings))
    first_row: dict[str, int] = {}
    items: list[tuple[int, dict[str, Any]]] = []
    for _ in sheet.data(iterator, progress, 500):
        code = _code(sheet, "code", first_row)
        name = sheet.required_text("name", 200)
        kind = sheet.choice("kind", _KINDS, "OKR or KPI")
        direction = sheet.choice("direction", _DIRECTIONS, "'>=', '<=' or '=' (越高越好 / 越低越好 / 等于)")
        for column, value in (("kind", kind), ("direction", direction)):
            if value is None and not sheet.text(column):
                sheet.fail(column, IssueCode.REQUIRED, "required")
        payload = {"code": code, "name": name, "kind": kind, "direction": direction,
                   "unit": sheet.optional_text("measure", 32), "cumulative": sheet.flag("cumulative"),
                   "target": sheet.decimal("target"), "green": sheet.decimal("green"),
                   "yellow": sheet.decimal("yellow"), "formula": sheet.optional_text("formula", 2000) or None,
                   "description": sheet.optional_text("description", 2000)}
        items.append((sheet.number, payload))
    sheet.errors.sort(key=lambda issue: issue.row)
    good = tuple(Located(row, payload) for row, payload in items if row not in sheet.bad_rows)
    return Plan(sheet.count, good, tuple(sheet.errors), tuple(sheet.warnings))


@dataclass(frozen=True, slots=True)
class Located:
    row: int
    payload: dict[str, Any]




def plan_templates(rows: Iterable[Row], known_indicators: Iterable[str],
                   progress: Callable[[int], None] | None = None) -> Plan:
    """Templates to save (as SaveTemplate payloads): the rows of one code are its items, in file order; a
    template's item weights total 100; each item's indicator is in the library (or saved before it)."""
    sheet = _Sheet(TEMPLATE_COLUMNS, TEMPLATE_REQUIRED)
    iterator = iter(rows)
    if not sheet.read_header(iterator):
        return Plan(0, (), tuple(sheet.errors), tuple(sheet.warnings))
    indicators = set(known_indicators)
    templates: dict[str, Located] = {}
    rows_of: dict[str, list[int]] = {}
    for _ in sheet.data(iterator, progress, 500):
        code = _code(sheet, "code", None)
        name = sheet.required_text("name", 200)
        family = sheet.required_text("job_family", 200)
        indicator = sheet.text("indicator")
        if not indicator:
            sheet.fail("indicator", IssueCode.REQUIRED, "required")
        elif indicator not in indicators:
            sheet.fail("indicator", IssueCode.UNKNOWN_INDICATOR, f"no indicator {indicator!r} in the library")
        weight = sheet.decimal("weight", places=2, low=Decimal("0.01"), high=TOTAL_WEIGHT)
        if weight is None and not sheet.text("weight"):
            sheet.fail("weight", IssueCode.REQUIRED, "a weight from 0.01 to 100")
        target = sheet.decimal("target")
        if not code:
            continue
        rows_of.setdefault(code, []).append(sheet.number)
        template = templates.setdefault(code, Located(sheet.number, {"code": code, "name": name,
                                                                      "job_family": family, "items": []}))
        if (name, family) != (template.payload["name"], template.payload["job_family"]):
            sheet.fail("name", IssueCode.INVALID, f"template {code!r} is named {template.payload['name']!r} for "
                                                  f"{template.payload['job_family']!r} on row {template.row}")
        if any(item["indicator"] == indicator for item in template.payload["items"]):
            sheet.fail("indicator", IssueCode.DUPLICATE_ROW, f"template {code!r} already has {indicator!r}")
        elif indicator:
            template.payload["items"].append({"indicator": indicator, "weight": weight, "target": target})
    for code, template in templates.items():
        total = sum((item["weight"] or Decimal(0) for item in template.payload["items"]), Decimal(0))
        if total != TOTAL_WEIGHT:
            for row in rows_of[code]:
                sheet.error(row, "weight", IssueCode.WEIGHTS_TOTAL, f"template {code!r}'s items total {total}, "
                                                                    "not 100")
    sheet.errors.sort(key=lambda issue: issue.row)
    good = tuple(t for code, t in templates.items() if not sheet.bad_rows.intersection(rows_of[code]))
    return Plan(sheet.count, good, tuple(sheet.errors), tuple(sheet.warnings))


def _code(sheet: _Sheet, name: str, first_row: dict[str, int] | None) -> str:
    code = sheet.text(name)
    if not code:
        sheet.fail(name, IssueCode.REQUIRED, "required")
    elif not _CODE.fullmatch(code):
        sheet.fail(name, IssueCode.INVALID, "lower-case letters, digits and '_', starting with a letter")
    elif first_row is not None and code in first_row:
        sheet.fail(name, IssueCode.DUPLICATE_ROW, f"{code!r} is already on row {first_row[code]}")
    elif first_row is not None:
        first_row[code] = sheet.number
    return code
