"""The web app in a real browser: the embedded suite (as `make up` runs it) serves the built app at /, the demo
organisation gets goals through the public API (conftest.seed), and walk.mjs drives Debian's chromium through every
demo role's main flow — desktop and phone, English and Chinese — asserting what is visible and what must not be,
with screenshots under tests/web/artefacts/, axe-core and no console errors. Needs `make web` and `make deps`."""
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
WEB = HERE.parents[1] / "web"
ARTEFACTS = HERE / "artefacts"
SCENARIOS = 10  # five roles, each on a desktop (one language) and a phone (the other)


def test_every_role_walks_its_main_flow_in_a_real_browser(seeded_gateway):
    ARTEFACTS.mkdir(exist_ok=True)
    for old in ARTEFACTS.glob("*.png"):
        old.unlink()
    started = time.monotonic()
    run = subprocess.run(["node", str(HERE / "walk.mjs")], cwd=WEB, capture_output=True, text=True, timeout=240,
                         env={**os.environ, "BASE_URL": seeded_gateway, "ARTEFACTS": str(ARTEFACTS),
                              "CHROMIUM": os.environ.get("CHROMIUM", "/usr/bin/chromium")})
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    failures = [line for line in lines if not line["ok"]]
    report = "\n".join(f"{f['scenario']}: {f['error']} {f.get('problems') or ''}" for f in failures)
    assert run.returncode == 0 and not failures and len(lines) == SCENARIOS, report or run.stderr[-3000:]
    assert time.monotonic() - started < 300, \
        "the browser walk must stay under five minutes (about one on a quiet machine)"
    shots = {p.name for p in ARTEFACTS.glob("*.png")}
    for page in ("me", "team", "board", "hr", "audit", "admin", "forbidden", "session-expired"):
        assert any(f"-{page}" in name for name in shots), f"no screenshot of {page}"
