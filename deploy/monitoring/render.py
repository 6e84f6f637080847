"""Writes deploy/k8s/base/prometheusrule.yaml from deploy/monitoring/rules.yaml, so the alert rules are written
once (Prometheus `rule_files:` and the Prometheus Operator's PrometheusRule carry the same groups; tests/deploy
checks they are identical).

    python deploy/monitoring/render.py          # rewrite
    python deploy/monitoring/render.py --check  # exit 1 when stale
"""
from __future__ import annotations

import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
RULES = HERE / "rules.yaml"
TARGET = HERE.parent / "k8s" / "base" / "prometheusrule.yaml"
HEADER = "# Generated from deploy/monitoring/rules.yaml by deploy/monitoring/render.py: edit rules.yaml, then run it.\n"


def render() -> str:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    rule = {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
            "metadata": {"name": "jixiao", "labels": {"app.kubernetes.io/name": "jixiao"}},
            "spec": {"groups": groups}}
    return HEADER + yaml.safe_dump(rule, sort_keys=False, width=200, allow_unicode=True)


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not TARGET.exists() or TARGET.read_text() != text:
            print(f"{TARGET} is stale: run python deploy/monitoring/render.py")
            return 1
        return 0
    TARGET.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
