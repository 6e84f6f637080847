"""The OpenAPI document's prose beyond the route declarations: a description for every tag, a description for
every operation that declares none (what it calls, what it needs, how it pages, retries and detects conflicts —
read from the declaration, so it cannot drift), and the recorded examples (`gateway.examples`)."""
from __future__ import annotations

from typing import Any

from contracts.glossary import FIELDS
from gateway import examples
from gateway.api import PREFIX, Route

TAGS: dict[str, str] = {
    "meta": "The API's index, who the caller is, the development login and the documents. API 索引、当前调用者与文档。",
    "operations": "Liveness, readiness and Prometheus metrics for the platform. 健康检查与监控指标。",
    "cycles": "Appraisal cycles (year, quarter, month): created as drafts, opened, locked and closed by HR. "
              "考核周期：年度、季度、月度，由 HR 创建、开启、锁定与关闭。",
    "goals": "Goals of people and units (OKR with key results, or KPI), their weights and tree. "
             "个人与组织目标（OKR 与 KPI）、权重与目标树。",
    "progress": "Progress on key results and KPIs, with confidence and comments. 关键结果与 KPI 的进展更新。",
    "negotiation": "Two-way negotiation of targets, weights, deadlines and resources between a goal's owner and "
                   "their manager. 目标值、权重、期限与资源的双向协商。",
    "commitments": "Resources promised to a goal (training, budget, collaboration) and whether they came. "
                   "为目标承诺的资源（培训、预算、协作）及其兑现情况。",
    "reviews": "Status reviews opened when a goal turns red, and the performance review cycles (self, manager, "
               "peer reviews, acknowledgement). 目标亮红灯后的状态复盘，以及绩效评估周期。",
    "allocation": "Splitting a goal's target among its children. 将目标值分解到下级目标。",
    "library": "The indicator and assessment template library, industry presets, formulas and score cards. "
               "指标库、考核模板、行业预置、公式与计分卡。",
    "board": "Boards: red/yellow/green counts and weighted progress by unit, owner or reporting line. "
             "目标看板：按组织、负责人或汇报线统计红黄绿与加权进度。",
    "access": "Access decisions, as the services take them. 访问权限判定。",
    "directory": "The organisation: units, people and role grants (the source every service reads). "
                 "组织目录：部门、人员与角色授权。",
    "imports": "Bulk imports of the directory, with a dry run and an all-or-nothing apply. 批量导入（可试运行）。",
    "audit": "The tamper-evident audit log: query, export and verify. 防篡改审计日志：查询、导出与校验。",
    "privacy": "Personal data requests (PIPL): exports and erasures, and the privacy notice. "
               "个人信息请求（《个人信息保护法》）：导出与删除，以及隐私声明。",
    "retention": "Legal holds and the retention sweep. 法律保全与数据保留清理。",
    "appeals": "Appeals against results: submitted, reviewed and decided within their deadlines. 绩效申诉。",
    "clients": "Registered third-party clients and their API keys. 第三方客户端与 API 密钥。",
    "settings": "The suite's compliance settings and presets. 合规设置与预置。",
    "dashboards": "Aggregated views for managers: one request fans out to the services, and each section is "
                  "answered, or marked unavailable or refused, on its own. "
                  "经理视图。一次请求汇总多个服务。各部分独立返回。",
    "check-ins": "One-to-one check-ins: the calendar, scheduling, notes and sign-off. 一对一面谈。",
    "reports": "Weekly reports, their templates, team summaries and participation. 周报、模板、团队汇总与参与度。",
    "key events": "Key events recorded about people (praise-worthy or critical) and the responses to them. "
                  "关键事件记录。",
    "sales activity": "Customers, opportunities, visits, objections and the playbook. 客户、商机、拜访、异议与话术库。",
    "coaching": "Coaching sessions, weekly coaching notes and their cadence. 辅导记录与节奏。",
    "360": "Anonymous 360 feedback: questionnaires, surveys, answers, and praise. 匿名 360 度反馈与表扬。",
    "calibration": "Rating calibration: distributions, adjustments, sessions and decisions. 绩效校准。",
    "notifications": "The in-app inbox, delivery attempts, per-person preferences and templates (zh-CN, en). "
                     "站内信、投递记录、个人偏好与通知模板。",
    "webhooks": "Signed webhook subscriptions and AMQP consumers for registered clients. Webhook 订阅与 AMQP 消费者。",
    "bonus": "Bonus pools, process rules and rewards, and bonus proposals with their approval. 奖金池与奖金方案审批。",
    "points": "Points budgets and grants, the reward catalogue and redemptions. 积分预算、发放、奖品与兑换。",
    "talent": "Development plans, potential assessment and the nine-box grid. 发展计划、潜力评估与九宫格。",
    "careers": "Promotion nominations and the stars programme (with consent). 晋升提名与明星员工。",
    "analytics": "Rating distributions and rotation detection. 绩效分布与轮换检测。",
}


def _facts(route: Route) -> list[str]:
    facts = [route.summary.rstrip(".") + "."]
    target = getattr(route.handler, "target", None)
    if target:
        facts.append(f"Carried out by the `{target}` RPC; what the caller may see or do beyond the scope is the "
                     "service's decision.")
    if route.scope is None:
        facts.append("No credentials needed.")
    elif route.scope:
        facts.append(f"Needs the scope `{route.scope}`.")
    else:
        facts.append("Any authenticated caller.")
    if route.paging is not None:
        facts.append("Answers one page: `limit` items at most; pass `next_cursor` as `cursor` for the next one.")
    if route.takes_key:
        facts.append("Send an `Idempotency-Key` to make a retry safe: a retry is answered, not carried out again.")
    if route.version_field or route.if_match is not None:
        facts.append("Send `If-Match` with the `ETag` you read: 409 when it changed since.")
    if route.etag:
        facts.append("Answers an `ETag`; `If-None-Match` with it answers 304 while unchanged.")
    if examples.recorded().get(route.operation_id):
        facts.append("The example is a real request on the demo organisation and the suite's real answer.")
    return facts


def _describe_properties(schema: dict[str, Any]) -> None:
    """Properties without a description of their own get their name's (contracts.glossary)."""
    for name, prop in schema.get("properties", {}).items():
        if isinstance(prop, dict) and not prop.get("description") and name in FIELDS:
            prop["description"] = FIELDS[name]


def describe(document: dict[str, Any], routes: list[Route]) -> dict[str, Any]:
    """The document with every tag and operation described and the recorded examples in place."""
    by_id = {route.operation_id: route for route in routes}
    used: set[str] = set()
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            used.update(operation.get("tags", []))
            route = by_id.get(operation.get("operationId", "")) if path.startswith(PREFIX) else None
            if not operation.get("description"):
                operation["description"] = " ".join(_facts(route)) if route is not None else \
                    operation["summary"].rstrip(".") + ". No credentials needed."
            for parameter in operation.get("parameters", []):  # path ids and filters: their name's meaning
                if not parameter.get("description") and parameter.get("name") in FIELDS:
                    parameter["description"] = FIELDS[parameter["name"]]
    document["tags"] = [{"name": tag, "description": TAGS.get(tag, "")} for tag in sorted(used)]
    for schema in document.get("components", {}).get("schemas", {}).values():
        _describe_properties(schema)
    return examples.annotate(document, PREFIX)
