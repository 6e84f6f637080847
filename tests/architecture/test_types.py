"""mypy, strict (pyproject.toml, [tool.mypy] and its overrides), over every package that is kept strictly typed: the
libraries (chassis, contracts, formula) and each service's `usecases` and `domain`.

The packages whose owners are still bringing them to zero are listed in NOT_YET_CLEAN; that set may only shrink:
a package on it that has become clean fails the test too, so that it is taken off, and any error in a package not
on it fails."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIBRARIES = {"chassis": "libs/chassis", "contracts": "libs/contracts", "formula": "libs/formula"}
SERVICES = ("goals", "compliance", "feedback", "incentives", "notifications")
STRICT_PACKAGES = [*LIBRARIES, *(f"{service}.{layer}" for service in SERVICES for layer in ("usecases", "domain"))]

# Strict packages with errors left, each being typed by its owner right now. May only shrink.
NOT_YET_CLEAN: set[str] = set()

ERROR = re.compile(r"^(?P<file>[^:]+\.pyi?):\d+(?::\d+)?: error: ")


def package_of(file: str) -> str:
    """The strict package a reported file belongs to (`services/goals/goals/domain/x.py` -> `goals.domain`)."""
    parts = Path(file).as_posix().split("/")
    if parts[0] == "libs" and len(parts) > 2:
        return parts[2]
    if parts[0] == "services" and len(parts) > 3:
        return f"{parts[2]}.{parts[3]}"
    return file


def run_mypy() -> subprocess.CompletedProcess[str]:
    # The packages live in their project folders (installed editable through import hooks mypy cannot follow), so
    # they are put on its search path here.
    search_path = [*LIBRARIES.values(), *(f"services/{service}" for service in SERVICES)]
    env = {**os.environ, "MYPYPATH": os.pathsep.join(str(ROOT / folder) for folder in search_path)}
    args = [arg for package in STRICT_PACKAGES for arg in ("-p", package)]
    return subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
                           "--no-incremental", "--no-error-summary", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)


def test_every_strict_package_type_checks():
    result = run_mypy()
    errors: dict[str, list[str]] = {}
    for line in result.stdout.splitlines():
        if match := ERROR.match(line):
            errors.setdefault(package_of(match["file"]), []).append(line)
    # 0: clean, 1: type errors; anything else (2: a crash, a bad flag, a package not found) is reported as is
    assert result.returncode in (0, 1) and (errors or result.returncode == 0), result.stdout + result.stderr
    unexpected = {package: lines for package, lines in errors.items() if package not in NOT_YET_CLEAN}
    assert not unexpected, "\n".join(line for lines in unexpected.values() for line in lines)
    clean_now = sorted(NOT_YET_CLEAN - errors.keys())
    assert not clean_now, f"clean now, take them off NOT_YET_CLEAN: {clean_now}"


def test_the_package_of_a_reported_file():
    assert package_of("libs/chassis/chassis/access/guard.py") == "chassis"
    assert package_of("services/goals/goals/domain/formula.py") == "goals.domain"
    assert package_of("services/feedback/feedback/usecases/reviews.py") == "feedback.usecases"
    assert not set(NOT_YET_CLEAN) - set(STRICT_PACKAGES), "NOT_YET_CLEAN names a package that is not checked"
