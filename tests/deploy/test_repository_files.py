"""Files at the repository's root that users and tools rely on: the licence the OpenAPI names, a build context
without local clutter, and the benchmark runner `make bench` calls."""
import fnmatch
import importlib.util
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_licence_is_the_one_the_openapi_names():
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text  # the full text, not a pointer to it
    assert '"Apache-2.0"' in (ROOT / "gateway" / "gateway" / "openapi.py").read_text()


def _ignored(patterns: list[str], path: str) -> bool:
    """Docker's .dockerignore rules, enough for these patterns: later lines win, `!` re-includes, a pattern
    matches a path or any of its parents, `**/` matches at any depth."""
    parts = path.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    result = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        alternatives = [pattern] + ([pattern[3:]] if pattern.startswith("**/") else [])
        if any(fnmatch.fnmatchcase(prefix, alt) or (alt.startswith("**/") and
                                                     fnmatch.fnmatchcase(prefix, "*/" + alt[3:]))
               for prefix in prefixes for alt in alternatives):
            result = not negate
    return result


def _dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_the_build_context_leaves_local_clutter_out_and_keeps_what_the_image_copies():
    patterns = _dockerignore()
    for clutter in (".venv/bin/python", ".git/HEAD", "var/goals.db", "tools/node_modules/x/index.js",
                    "web/node_modules/vue/index.js", "web/dist/index.html", "services/goals/goals/__pycache__/a.pyc",
                    ".hypothesis/examples/x", "services/goals/jixiao_goals.egg-info/PKG-INFO", ".mypy_cache/x"):
        assert _ignored(patterns, clutter), clutter
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    copied = [source for line in dockerfile.splitlines() if line.startswith("COPY") and "--from=" not in line
              for source in re.sub(r"--\S+", "", line).split()[1:-1]]
    assert "suite.yaml" in copied and "libs" in copied and "web" in copied
    for source in copied:
        assert not _ignored(patterns, source), source
        clutter = ("__pycache__", ".egg-info", "node_modules", "/dist/", ".hypothesis", "/var/", ".mypy_cache")
        for inside in (ROOT / source).rglob("*") if (ROOT / source).is_dir() else []:
            relative = inside.relative_to(ROOT).as_posix()
            if inside.is_file() and not any(part in relative + "/" for part in clutter) \
                    and not relative.endswith((".pyc", ".db", ".db-wal", ".db-shm")):
                assert not _ignored(patterns, relative), relative


def _run_all():
    spec = importlib.util.spec_from_file_location("bench_run_all", ROOT / "bench" / "run_all.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_bench_runner_finds_every_benchmark_script_and_no_helper():
    found = _run_all().discover()
    for script in ("rpc_bench.py", "events_bench.py", "gateway/gateway_bench.py", "goals/run.py",
                   "compliance/audit_ingest.py"):
        assert script in found
    for helper in ("common.py", "bench_services.py", "goals/generate.py", "compliance/bench_support.py",
                   "run_all.py"):
        assert helper not in found
    every = {path.relative_to(ROOT / "bench").as_posix() for path in (ROOT / "bench").rglob("*.py")}
    assert set(found) <= every


def test_bench_runner_puts_each_figure_beside_the_same_run_reference():
    run_all = _run_all()
    floor = run_all.Floor(p50_ms=0.5, rps=4000)
    output = "\n".join([
        "              p50 ms   p99 ms  calls/s @16",
        "chassis p50 / raw        = 1.64  (target <= 1.5)",
        "end to end: 5.00 s  ->  3,000 events/s  (target >= 2,000)",
        "decide over RPC (3,000 sequential calls): p50 1.50 ms, p99 2.00 ms",
        'BENCH-FIGURE {"label": "stock board", "value": 30, "unit": "ms", "reference": 20, '
        '"reference_label": "stock nameko"}',
    ])
    figures = {(f.label, f.unit): f for f in run_all.parse("x.py", output, floor)}
    assert figures[("chassis p50 / raw", "x")].ratio == 1.64
    assert figures[("end to end", "s")].ratio == 10_000  # 5 s is 10,000 raw round trips of 0.5 ms
    assert figures[("end to end", "events/s")].ratio == 0.75
    p99 = next(f for f in figures.values() if f.label.endswith("p99"))
    assert p99.value == 2.0 and p99.ratio == 4.0
    assert figures[("stock board", "ms")].ratio == 1.5
    assert not any(f.value == 50 for f in figures.values())  # "p50 ms" in a header is not a figure
    table = run_all.summary([run_all.Run("x.py", ["--quick"], 1.0, 0, output,
                                         run_all.parse("x.py", output, floor))], floor, quick=True)
    assert table.count("\n| x.py |") == len(figures) and "raw py-amqp request/reply p50 0.50 ms" in table
