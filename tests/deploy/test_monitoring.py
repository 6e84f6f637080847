"""Dashboards and alerts: every panel's PromQL parses (promtool) and names only metrics the suite exposes (or the
recording rules of rules.yaml); every alert fires in a `promtool test rules` case and has a runbook section in
docs/operations.md."""
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "deploy" / "monitoring"
DASHBOARDS = sorted((MONITORING / "dashboards").glob("*.json"))
RULES = yaml.safe_load((MONITORING / "rules.yaml").read_text())
ALERTS = [rule["alert"] for group in RULES["groups"] for rule in group["rules"] if "alert" in rule]
RECORDED = {rule["record"] for group in RULES["groups"] for rule in group["rules"] if "record" in rule}
# what Grafana substitutes before the query reaches Prometheus
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$service": "goals", "${service}": "goals"}
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
                "offset", "inf", "nan"}


def exposed_metrics() -> set[str]:
    """Every "jixiao_..." metric name string in the Python sources, with the series a histogram adds."""
    names: set[str] = set()
    for folder in ("libs", "services", "gateway"):
        for source in (ROOT / folder).rglob("*.py"):
            if "/tests/" in str(source) or ".venv" in source.parts:
                continue
            names |= set(re.findall(r'"(jixiao_[a-z0-9_]*[a-z0-9])"', source.read_text(errors="ignore")))
    return names | {name + suffix for name in names for suffix in ("_bucket", "_sum", "_count")}


def panel_queries() -> list[tuple[str, str, str]]:
    """(dashboard, panel title, expr with Grafana's variables substituted)."""
    found = []
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel["targets"]:
                expr = target["expr"]
                for variable, value in GRAFANA_VARIABLES.items():
                    expr = expr.replace(variable, value)
                found.append((path.name, panel["title"], expr))
    return found


def metric_names(expr: str) -> set[str]:
    """The series names a PromQL expression selects: identifiers that are not functions, label names, grouping
    labels, keywords, strings or durations."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)                      # strings
    text = re.sub(r"\{[^}]*\}", "", text)                                 # label matchers
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)  # grouping labels
    text = re.sub(r"\[[^\]]*\]", "", text)                                # ranges
    text = re.sub(r"(?<![A-Za-z0-9_:.])\d+(\.\d*)?([eE][-+]?\d+)?", "", text)        # numbers (1e-9)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        following = text[match.end():].lstrip()
        word = match.group(0)
        if following.startswith("(") or word.lower() in PROMQL_WORDS or re.fullmatch(r"\d+[smhdwy]", word):
            continue
        names.add(word)
    return names


def test_dashboards_are_there_with_unique_uids():
    assert {path.stem for path in DASHBOARDS} >= {"suite-overview", "service", "business"}
    uids = [json.loads(path.read_text())["uid"] for path in DASHBOARDS]
    assert len(uids) == len(set(uids))
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            assert panel["targets"], (path.name, panel["title"])


def test_every_panel_query_parses(tmp_path):
    promtool = shutil.which("promtool")
    assert promtool, "promtool is installed by `make deps`"
    queries = panel_queries()
    rules = {"groups": [{"name": "dashboards", "rules": [
        {"record": f"dashboard:panel_{index}", "expr": expr} for index, (_, _, expr) in enumerate(queries)]}]}
    (tmp_path / "panels.yaml").write_text(yaml.safe_dump(rules))
    checked = subprocess.run([promtool, "check", "rules", str(tmp_path / "panels.yaml")], capture_output=True,
                             text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # and the check can fail: a broken query is refused
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump({"groups": [{"name": "x", "rules": [
        {"record": "dashboard:broken", "expr": "sum by (service (jixiao_db_pool_size)"}]}]}))
    assert subprocess.run([promtool, "check", "rules", str(tmp_path / "broken.yaml")], capture_output=True,
                          timeout=120).returncode != 0


def test_every_panel_names_only_metrics_the_services_expose():
    known = exposed_metrics() | RECORDED | {"up"}
    assert {"jixiao_consumer_queue_messages", "jixiao_goals_by_colour", "jixiao_goal_reviews_open",
            "jixiao_entrypoint_duration_seconds_bucket"} <= known
    unknown = {(dashboard, title, name) for dashboard, title, expr in panel_queries()
               for name in metric_names(expr) if name not in known}
    assert unknown == set()
    assert metric_names('sum by (service) (rate(jixiao_nope_total{service="x"}[5m])) / up') == {
        "jixiao_nope_total", "up"}


def test_the_alert_rules_use_only_metrics_the_services_expose():
    known = exposed_metrics() | RECORDED | {"up"}
    for group in RULES["groups"]:
        for rule in group["rules"]:
            assert metric_names(rule["expr"]) <= known, rule.get("alert") or rule.get("record")


def test_every_alert_fires_in_a_promtool_case():
    tests = yaml.safe_load((MONITORING / "rules_test.yaml").read_text())["tests"]
    firing = {case["alertname"] for test in tests for case in test.get("alert_rule_test", []) if case["exp_alerts"]}
    assert set(ALERTS) - firing == set()


@pytest.mark.parametrize("alert", ALERTS)
def test_every_alert_has_a_runbook_section(alert):
    text = (ROOT / "docs" / "operations.md").read_text()
    match = re.search(rf"^### {alert}\b.*?$(.*?)(?=^#{{2,3}} |\Z)", text, re.M | re.S)
    assert match, f"docs/operations.md has no section '### {alert}'"
    body = match.group(1)
    for part in ("What it means", "How to look", "How to fix"):
        assert f"**{part}**" in body, f"{alert}: no '{part}'"
