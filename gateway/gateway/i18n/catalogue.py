"""The message catalogue: the one place a problem document's human text is written, in every language the API
speaks. Problem titles by code (every code a service or the gateway can answer with); field messages by kind (the
edge's marshmallow messages, the services' pydantic messages, the gateway's own), each kind a pattern over the
English message whose named parts carry over into the translation.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT = "en"
LANGUAGES = ("en", "zh-CN")

TITLES: dict[str, dict[str, str]] = {
    # the chassis's problem classes (every service answers with these) and the gateway's own
    "invalid-input": {"en": "Invalid input", "zh-CN": "输入无效"},
    "unauthenticated": {"en": "Authentication required", "zh-CN": "需要身份验证"},
    "forbidden": {"en": "Not allowed", "zh-CN": "不允许"},
    "not-found": {"en": "Not found", "zh-CN": "未找到"},
    "method-not-allowed": {"en": "Method not allowed", "zh-CN": "不支持该请求方法"},
    "conflict": {"en": "Conflict", "zh-CN": "冲突"},
    "too-large": {"en": "Request too large", "zh-CN": "请求过大"},
    "unsupported-media-type": {"en": "Unsupported media type", "zh-CN": "不支持的媒体类型"},
    "rule-violated": {"en": "Business rule violated", "zh-CN": "违反业务规则"},
    "rate-limited": {"en": "Too many requests", "zh-CN": "请求过于频繁"},
    "internal": {"en": "Internal error", "zh-CN": "内部错误"},
    "unavailable": {"en": "Service unavailable", "zh-CN": "服务不可用"},
    "timeout": {"en": "Upstream timeout", "zh-CN": "上游服务超时"},
    "error": {"en": "Error", "zh-CN": "错误"},
    # the gateway's specific codes keep their status's English title; Chinese says which case it is
    "insufficient-scope": {"en": "Not allowed", "zh-CN": "不允许：凭证缺少所需的权限范围"},
    "stale": {"en": "Conflict", "zh-CN": "冲突：资源在读取后已被修改"},
    "idempotency-key-reused": {"en": "Business rule violated", "zh-CN": "幂等键已用于另一个请求"},
    "idempotency-key-in-use": {"en": "Conflict", "zh-CN": "冲突：同一幂等键的请求仍在处理中"},
    "idempotency-key-completed": {"en": "Conflict", "zh-CN": "冲突：该幂等键的首次请求已完成"},
    "request-already-done": {"en": "Conflict", "zh-CN": "冲突：该请求已执行"},
}

_NUMBER = r"-?[0-9][0-9.eE+-]*"


@dataclass(frozen=True)
class MessageKind:
    name: str
    pattern: re.Pattern[str]  # over the English message; named groups carry over
    text: dict[str, str]  # language -> template ({group} placeholders)


def _kind(name: str, pattern: str, en: str, zh: str) -> MessageKind:
    return MessageKind(name, re.compile(pattern), {"en": en, "zh-CN": zh})


MESSAGE_KINDS: tuple[MessageKind, ...] = (
    # the edge (marshmallow, and the gateway's own checks)
    _kind("required", r"Missing data for required field\.", "Missing data for required field.", "必填字段缺失。"),
    _kind("null", r"Field may not be null\.", "Field may not be null.", "该字段不能为 null。"),
    _kind("unknown-field", r"Unknown field\.", "Unknown field.", "未知字段。"),
    _kind("not-string", r"Not a valid string\.", "Not a valid string.", "不是有效的字符串。"),
    _kind("not-integer", r"Not a valid integer\.", "Not a valid integer.", "不是有效的整数。"),
    _kind("not-number", r"Not a valid number\.", "Not a valid number.", "不是有效的数字。"),
    _kind("too-large-number", r"Number too large\.", "Number too large.", "数字过大。"),
    _kind("special-number", r"Special numeric values \(nan or infinity\) are not permitted\.",
          "Special numeric values (nan or infinity) are not permitted.", "不允许特殊数值（NaN 或无穷大）。"),
    _kind("not-boolean", r"Not a valid boolean\.", "Not a valid boolean.", "不是有效的布尔值。"),
    _kind("not-datetime", r"Not a valid datetime\.", "Not a valid datetime.", "不是有效的日期时间。"),
    _kind("not-aware-datetime", r"Not a valid aware datetime\.", "Not a valid aware datetime.",
          "不是带时区的有效日期时间。"),
    _kind("not-date", r"Not a valid date\.", "Not a valid date.", "不是有效的日期。"),
    _kind("not-list", r"Not a valid list\.", "Not a valid list.", "不是有效的列表。"),
    _kind("not-mapping", r"Not a valid mapping type\.", "Not a valid mapping type.", "不是有效的对象（映射）。"),
    _kind("invalid-type", r"Invalid (?:input )?type\.", "Invalid type.", "类型无效。"),
    _kind("invalid-value", r"Invalid value\.", "Invalid value.", "值无效。"),
    _kind("shorter-than", rf"Shorter than minimum length (?P<min>{_NUMBER})\.", "Shorter than minimum length {min}.",
          "长度不能小于 {min}。"),
    _kind("longer-than", rf"Longer than maximum length (?P<max>{_NUMBER})\.", "Longer than maximum length {max}.",
          "长度不能大于 {max}。"),
    _kind("length-between", rf"Length must be between (?P<min>{_NUMBER}) and (?P<max>{_NUMBER})\.",
          "Length must be between {min} and {max}.", "长度必须在 {min} 到 {max} 之间。"),
    _kind("length-equal", rf"Length must be (?P<equal>{_NUMBER})\.", "Length must be {equal}.",
          "长度必须为 {equal}。"),
    _kind("range", rf"Must be greater than or equal to (?P<min>{_NUMBER}) and less than or equal to "
                   rf"(?P<max>{_NUMBER})\.",
          "Must be greater than or equal to {min} and less than or equal to {max}.",
          "必须大于或等于 {min} 且小于或等于 {max}。"),
    _kind("range-exclusive", rf"Must be greater than (?P<min>{_NUMBER}) and less than (?P<max>{_NUMBER})\.",
          "Must be greater than {min} and less than {max}.", "必须大于 {min} 且小于 {max}。"),
    _kind("at-least", rf"Must be greater than or equal to (?P<min>{_NUMBER})\.",
          "Must be greater than or equal to {min}.", "必须大于或等于 {min}。"),
    _kind("at-most", rf"Must be less than or equal to (?P<max>{_NUMBER})\.", "Must be less than or equal to {max}.",
          "必须小于或等于 {max}。"),
    _kind("above", rf"Must be greater than (?P<min>{_NUMBER})\.", "Must be greater than {min}.", "必须大于 {min}。"),
    _kind("below", rf"Must be less than (?P<max>{_NUMBER})\.", "Must be less than {max}.", "必须小于 {max}。"),
    _kind("one-of", r"Must be one of: (?P<choices>.*)\.", "Must be one of: {choices}.", "必须是以下之一：{choices}。"),
    _kind("pattern", r"String does not match expected pattern\.", "String does not match expected pattern.",
          "字符串格式不符合要求。"),
    _kind("decimal-magnitude", r"must be below 10\^14 in magnitude", "must be below 10^14 in magnitude",
          "绝对值必须小于 10^14"),
    _kind("unknown-query-parameter", r"unknown query parameter", "unknown query parameter", "未知的查询参数"),
    _kind("object-required", r"a JSON object is required", "a JSON object is required", "需要一个 JSON 对象"),
    _kind("malformed-json", r"malformed JSON: (?P<reason>.*)", "malformed JSON: {reason}",
          "JSON 格式错误：{reason}"),
    _kind("not-json", r"not valid JSON", "not valid JSON", "不是有效的 JSON"),
    _kind("nul", r"text may not contain NUL \(U\+0000\)", "text may not contain NUL (U+0000)",
          "文本不能包含 NUL 字符（U+0000）"),
    _kind("entity-tags", r"a list of quoted entity tags, or \*", "a list of quoted entity tags, or *",
          "应为带引号的实体标签列表，或 *"),
    # the services (pydantic)
    _kind("field-required", r"Field required", "Field required", "必填字段缺失"),
    _kind("extra-forbidden", r"Extra inputs are not permitted", "Extra inputs are not permitted", "不允许额外的字段"),
    *(_kind(f"not-valid-{what}", rf"Input should be a valid {what}(?:, .*)?", f"Input should be a valid {what}",
            f"应为有效的{zh}") for what, zh in (
        ("string", "字符串"), ("integer", "整数"), ("number", "数字"), ("decimal", "十进制数"),
        ("boolean", "布尔值"), ("date or datetime", "日期或日期时间"), ("date", "日期"), ("datetime", "日期时间"),
        ("list", "列表"),
        ("dictionary", "对象"), ("UUID", " UUID"))),
    _kind("min-chars", rf"String should have at least (?P<min>{_NUMBER}) characters?",
          "String should have at least {min} characters", "字符串至少需要 {min} 个字符"),
    _kind("max-chars", rf"String should have at most (?P<max>{_NUMBER}) characters?",
          "String should have at most {max} characters", "字符串最多 {max} 个字符"),
    _kind("min-items", rf"List should have at least (?P<min>{_NUMBER}) items?.*",
          "List should have at least {min} items", "列表至少需要 {min} 项"),
    _kind("max-items", rf"List should have at most (?P<max>{_NUMBER}) items?.*",
          "List should have at most {max} items", "列表最多 {max} 项"),
    _kind("ge", rf"Input should be greater than or equal to (?P<min>{_NUMBER})",
          "Input should be greater than or equal to {min}", "应大于或等于 {min}"),
    _kind("le", rf"Input should be less than or equal to (?P<max>{_NUMBER})",
          "Input should be less than or equal to {max}", "应小于或等于 {max}"),
    _kind("gt", rf"Input should be greater than (?P<min>{_NUMBER})", "Input should be greater than {min}",
          "应大于 {min}"),
    _kind("lt", rf"Input should be less than (?P<max>{_NUMBER})", "Input should be less than {max}",
          "应小于 {max}"),
    _kind("date-with-time", r"Datetimes provided to dates should have zero time.*",
          "Datetimes provided to dates should have zero time", "日期不应包含时间部分"),
    _kind("literal", r"Input should be (?P<choices>'.*)", "Input should be {choices}", "应为 {choices} 之一"),
    _kind("string-pattern", r"String should match pattern (?P<pattern>'.*')", "String should match pattern {pattern}",
          "字符串应匹配模式 {pattern}"),
)
