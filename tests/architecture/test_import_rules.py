"""The import rules of docs/architecture.md, checked by tools: import-linter over the packages (the contracts are in
pyproject.toml, [tool.importlinter]) and the same rules over the test folders, which are not packages and so are
invisible to import-linter, by walking their imports here.

A known breach is listed below with why it is there; the list may only shrink (a listed breach that no longer
exists fails the test too, so that it is taken off)."""
from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("goals", "feedback", "incentives", "compliance", "notifications")

# import-linter `ignore_imports` lines in pyproject.toml are the packages' known breaches; these are the tests'.
# Each is a test that needs several services: it belongs in tests/ (cross-service), where everything may be
# imported. (file, imported top-level package)
# The gateway's harness (gateway/tests/conftest.py) starts the services it fronts, so every gateway test that uses
# it is really cross-service; the compliance tests below start goals (appeals checked against a real goal) and the
# gateway (org sync end to end). Moving them needs their conftest fixtures moved too: left for their owners.
KNOWN_TEST_BREACHES: set[tuple[str, str]] = {
    ("gateway/tests/conftest.py", "compliance"),
    ("gateway/tests/conftest.py", "feedback"),
    ("gateway/tests/conftest.py", "goals"),
    ("gateway/tests/conftest.py", "incentives"),  # the API fuzzing runs every service behind its routes
    ("gateway/tests/conftest.py", "notifications"),
    # the data-subject export over every service of the suite (compliance's DSR fixtures)
    ("services/compliance/tests/test_compliance_dsr.py", "feedback"),
    ("services/compliance/tests/test_compliance_dsr.py", "goals"),
    ("services/compliance/tests/test_compliance_dsr.py", "incentives"),
    ("services/compliance/tests/test_compliance_dsr.py", "notifications"),
    ("services/feedback/tests/test_feedback_review_goals_rpc.py", "goals"),  # the review form reads real goals
    ("services/compliance/tests/test_compliance_appeals.py", "goals"),
    ("services/compliance/tests/test_compliance_org_sync.py", "gateway"),
    ("services/compliance/tests/test_compliance_org_sync.py", "goals"),
    ("gateway/tests/test_gateway_auth.py", "compliance"),
    ("gateway/tests/test_gateway_coverage.py", "compliance"),
    ("gateway/tests/test_gateway_coverage.py", "goals"),
    ("gateway/tests/test_gateway_feedback_routes.py", "compliance"),
    ("gateway/tests/test_gateway_feedback_routes.py", "feedback"),
    ("gateway/tests/test_gateway_feedback_routes.py", "goals"),
    ("gateway/tests/test_gateway_incentives_routes.py", "compliance"),
    ("gateway/tests/test_gateway_incentives_routes.py", "incentives"),
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def forbidden_for(relative: str) -> set[str]:
    """What a test file may not import, by where it lives (tests/ at the root: cross-service, anything goes)."""
    parts = relative.split("/")
    if parts[0] == "services" and "tests" in parts:
        return (set(SERVICES) - {parts[1]}) | {"gateway"}
    if parts[0] == "gateway" and "tests" in parts:
        return set(SERVICES)
    if parts[:3] == ["libs", "chassis", "tests"]:
        return set(SERVICES) | {"gateway"}
    if parts[:3] == ["libs", "contracts", "tests"]:
        return set(SERVICES) | {"gateway", "chassis"}
    if parts[:3] == ["libs", "formula", "tests"]:
        return set(SERVICES) | {"gateway", "chassis", "contracts"}
    return set()


def test_test_folders_keep_the_import_rules():
    breaches = set()
    folders = [ROOT / "gateway" / "tests", ROOT / "libs" / "chassis" / "tests", ROOT / "libs" / "contracts" / "tests",
               ROOT / "libs" / "formula" / "tests",
               *sorted((ROOT / "services").glob("*/tests"))]
    for folder in folders:
        for path in folder.rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            for package in imported_packages(path) & forbidden_for(relative):
                breaches.add((relative, package))
    new = sorted(breaches - KNOWN_TEST_BREACHES)
    assert not new, f"tests crossing the import rules (move them to tests/ if they need several services): {new}"
    gone = sorted(KNOWN_TEST_BREACHES - breaches)
    assert not gone, f"fixed, take them off KNOWN_TEST_BREACHES: {gone}"


def test_packages_keep_the_import_contracts(tmp_path):
    lint = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    # run outside the repository: from its root the project folder gateway/ would shadow the package gateway
    result = subprocess.run([lint, "--no-cache", str(ROOT / "pyproject.toml")], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " 0 broken" in result.stdout, result.stdout[-2000:]


def test_the_rules_can_fail(tmp_path):
    """The checker sees a breach when there is one (a fake service test importing another service)."""
    fake = tmp_path / "services" / "goals" / "tests" / "test_x.py"
    fake.parent.mkdir(parents=True)
    fake.write_text("from compliance.service import ComplianceService\nimport gateway.app\nimport goals.domain\n")
    assert imported_packages(fake) & forbidden_for("services/goals/tests/test_x.py") == {"compliance", "gateway"}
