"""Run every benchmark under bench/ and write ONE summary table, each figure beside a reference measured in the
same run, as a ratio.

    python bench/run_all.py [--quick] [--only goals,rpc] [--output var/bench/summary.md]

- Scripts are discovered: every `bench/**/*.py` that runs as a script (`if __name__ == "__main__":`) and takes no
  positional argument, minus the helpers. A new area (bench/feedback/, bench/incentives/) is picked up as it lands.
- `--quick` runs each at a small scale (the arguments below; an unknown script gets `--quick` when it declares
  that option, else its defaults): a smoke run of the whole set in minutes, not a measurement to record.
- The reference is the raw py-amqp request/reply floor (bench/rpc_bench.py's raw server and client), measured
  once at the start on the same broker: a latency is shown as a multiple of the raw p50, a rate as a fraction of
  the raw calls/s, a duration as the number of raw round trips it equals. Ratios a script prints itself
  ("chassis p50 / raw = 1.64") are kept as they are: their reference is inside that script's run.
- A script can report its figures exactly by printing lines `BENCH-FIGURE {"label": ..., "value": ...,
  "unit": ..., "reference": ..., "reference_label": ...}`; otherwise figures are read from its output lines
  (a number followed by ms, s or a rate such as events/s).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
HELPERS = {"run_all.py", "common.py", "bench_services.py", "bench_support.py", "generate.py", "conftest.py"}

# script (relative to bench/) -> (full runs, quick runs); each run is an argument list
KNOWN: dict[str, tuple[list[list[str]], list[list[str]]]] = {
    "rpc_bench.py": ([[]], [["--calls", "300", "--seconds", "1.5"]]),
    "events_bench.py": ([[], ["--batch"]], [["--events", "2000", "--batch"]]),
    "gateway/gateway_bench.py": ([[]], [["--seconds", "2", "--connections", "8"]]),
    # run.py checks that the division board holds at least --people goals: keep 10 goals per person when small
    "goals/run.py": ([[]], [["--people", "2000", "--goals-per-person", "10", "--rounds", "20"]]),
    "compliance/access_decisions.py": ([[]], [["--people", "1000", "--decisions", "2000", "--rpc", "200"]]),
    "compliance/audit_ingest.py": ([[]], [["--events", "2000"]]),
    "compliance/import_people.py": ([[]], [["--people", "2000"]]),
    "compliance/verify_audit.py": ([[]], [["--entries", "20000"]]),
    # the full soak is the 30 minutes over 10,000 people; the quick one only shows it runs
    "soak/soak.py": ([[]], [["--minutes", "2", "--warmup", "0.5", "--people", "500"]]),
}

_MAIN = re.compile(r"""^if __name__ == ["']__main__["']:""", re.MULTILINE)
_POSITIONAL = re.compile(r"""add_argument\(\s*["'][^-"']""")
_FIGURE = re.compile(r"(?<![\w.])(?P<value>\d[\d,]*(?:\.\d+)?)\s*(?P<unit>ms|s|rps|[a-z]+/s)(?![\w/])")
_RATIO = re.compile(r"^(?P<label>[^=\n]*?/\s*raw[^=\n]*?)\s*=\s*(?P<value>\d+(?:\.\d+)?)")
_MARK = "BENCH-FIGURE "


@dataclass
class Figure:
    script: str
    label: str
    value: float
    unit: str
    ratio: float | None = None
    reference: str = ""


@dataclass
class Run:
    script: str
    args: list[str]
    seconds: float = 0.0
    returncode: int | None = None
    output: str = ""
    figures: list[Figure] = field(default_factory=list)


@dataclass(frozen=True)
class Floor:
    """The raw py-amqp request/reply floor of this run."""

    p50_ms: float
    rps: float

    def relate(self, value: float, unit: str) -> tuple[float | None, str]:
        if unit == "ms":
            return value / self.p50_ms, f"x raw p50 ({self.p50_ms:.2f} ms)"
        if unit == "s":
            return value * 1000 / self.p50_ms, f"raw round trips ({self.p50_ms:.2f} ms each)"
        if unit == "rps" or unit.endswith("/s"):
            return value / self.rps, f"x raw calls/s ({self.rps:,.0f})"
        return None, ""


def discover(only: set[str] | None = None) -> list[str]:
    found = []
    for path in sorted(BENCH.rglob("*.py")):
        relative = path.relative_to(BENCH).as_posix()
        if path.name in HELPERS or "__pycache__" in relative or relative.startswith("results/"):
            continue
        source = path.read_text(errors="replace")
        if not _MAIN.search(source) or _POSITIONAL.search(source):
            continue
        if only and not any(word in relative for word in only):
            continue
        found.append(relative)
    return found


def runs_for(script: str, quick: bool) -> list[list[str]]:
    if script in KNOWN:
        full, small = KNOWN[script]
        return small if quick else full
    declares_quick = "--quick" in (BENCH / script).read_text(errors="replace")
    return [["--quick"]] if quick and declares_quick else [[]]


def parse(script: str, output: str, floor: Floor | None) -> list[Figure]:
    figures: list[Figure] = []
    for raw in output.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith(_MARK):
            try:
                data = json.loads(line[len(_MARK):])
                value = float(data["value"])
            except (ValueError, KeyError, TypeError):
                continue
            reference = data.get("reference")
            if reference:
                ratio, ref = value / float(reference), f"x {data.get('reference_label', 'same-run reference')}"
            elif floor is not None:
                ratio, ref = floor.relate(value, data.get("unit", ""))
            else:
                ratio, ref = None, ""
            figures.append(Figure(script, str(data.get("label", "")), value, data.get("unit", ""), ratio, ref))
            continue
        ratio_match = _RATIO.match(line)
        if ratio_match:
            value = float(ratio_match["value"])
            figures.append(Figure(script, ratio_match["label"].strip(), value, "x", value, "printed by the script"))
            continue
        previous, head = 0, ""
        for match in _FIGURE.finditer(line):
            between = " ".join(line[previous:match.start()].split()).strip(" :,=-()→>")
            if len(between) > 90:  # keep the words next to the number (p50, p99...): they say what it is
                between = between[:55] + "…" + between[-30:]
            if not head:
                head = between
                label = head
            else:
                label = f"{head} · {between[-30:]}" if between else head
            previous = match.end()
            value = float(match["value"].replace(",", ""))
            ratio, ref = floor.relate(value, match["unit"]) if floor is not None else (None, "")
            figures.append(Figure(script, label or line[:70], value, match["unit"], ratio, ref))
    return figures


def measure_floor(calls: int, seconds: float) -> Floor | None:
    """The raw request/reply floor on a fresh vhost, with rpc_bench.py's own raw server and client."""
    sys.path.insert(0, str(ROOT / "libs" / "chassis"))
    from chassis.testing.infra import VhostManager, test_amqp_uri

    vhosts = VhostManager(os.environ.get("JIXIAO_TEST_AMQP_URI", test_amqp_uri()))
    uri = vhosts.create()
    script = str(BENCH / "rpc_bench.py")
    server = subprocess.Popen([sys.executable, script, "raw-server", uri], stdout=subprocess.PIPE, text=True)
    try:
        server.stdout.readline()  # "ready"
        out = subprocess.run([sys.executable, script, "raw-client", uri, str(calls), str(seconds)],
                             capture_output=True, text=True, timeout=300)
        if out.returncode != 0:
            print(f"raw floor failed: {out.stderr[-500:]}", file=sys.stderr)
            return None
        data = json.loads(out.stdout.strip().splitlines()[-1])
        return Floor(p50_ms=float(data["p50_ms"]), rps=float(data["rps_16"]))
    finally:
        server.kill()
        server.wait()
        vhosts.delete(uri, wait=True)


def run_script(script: str, args: list[str], timeout: float) -> Run:
    run = Run(script, args)
    started = time.monotonic()
    env = {**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning"}
    try:
        out = subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True, text=True,
                             timeout=timeout, cwd=ROOT, env=env)
        run.returncode, run.output = out.returncode, out.stdout + ("\n" + out.stderr[-2000:] if out.returncode else "")
    except subprocess.TimeoutExpired as expired:
        run.returncode = -1
        run.output = (expired.stdout or b"").decode(errors="replace") if isinstance(expired.stdout, bytes) else (
            expired.stdout or "")
        run.output += f"\n(timed out after {timeout:.0f} s)"
    run.seconds = time.monotonic() - started
    return run


def _number(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def summary(runs: list[Run], floor: Floor | None, quick: bool) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"# Benchmark summary — {when}{' (quick: small scale, not a measurement to record)' if quick else ''}",
             ""]
    if floor is not None:
        lines.append(f"Reference (same run): raw py-amqp request/reply p50 {floor.p50_ms:.2f} ms, "
                     f"{floor.rps:,.0f} calls/s with 16 in flight.")
    else:
        lines.append("Reference: the raw floor could not be measured; only ratios the scripts print are shown.")
    lines += ["", "| script | args | figure | value | ratio | reference |", "|---|---|---|---|---|---|"]
    for run in runs:
        args = " ".join(run.args) or "(defaults)"
        if run.returncode != 0:
            tail = run.output.strip().splitlines()[-1:] or [""]
            lines.append(f"| {run.script} | {args} | **failed** (exit {run.returncode}, {run.seconds:.0f} s) | "
                         f"| | {tail[0][:80].replace('|', '/')} |")
            continue
        if not run.figures:
            lines.append(f"| {run.script} | {args} | (no figures found in its output) | | | |")
        for fig in run.figures:
            value = f"{_number(fig.value)} {fig.unit}".strip()
            ratio = f"{fig.ratio:.3g}" if fig.ratio is not None else ""
            lines.append(f"| {run.script} | {args} | {fig.label.replace('|', '/')} | {value} | {ratio} | "
                         f"{fig.reference} |")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="every script at a small scale (a smoke run)")
    parser.add_argument("--only", help="comma-separated words: run only the scripts whose path contains one")
    parser.add_argument("--output", type=Path, help="where the markdown summary goes "
                                                    "(default var/bench/summary[-quick].md)")
    parser.add_argument("--timeout", type=float, help="seconds per script (default 600 quick, 3600 full)")
    parser.add_argument("--list", action="store_true", help="list what would run and exit")
    args = parser.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    scripts = discover(only)
    plan = [(script, script_args) for script in scripts for script_args in runs_for(script, args.quick)]
    if args.list:
        for script, script_args in plan:
            print(script, " ".join(script_args))
        return 0
    floor = measure_floor(300 if args.quick else 3000, 1.5 if args.quick else 8)
    timeout = args.timeout or (600 if args.quick else 3600)
    runs = []
    for script, script_args in plan:
        print(f"running {script} {' '.join(script_args)}", flush=True)
        run = run_script(script, script_args, timeout)
        run.figures = parse(script, run.output, floor)
        print(f"  exit {run.returncode} in {run.seconds:.0f} s, {len(run.figures)} figures", flush=True)
        runs.append(run)
    text = summary(runs, floor, args.quick)
    output = args.output or ROOT / "var" / "bench" / ("summary-quick.md" if args.quick else "summary.md")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    (output.with_suffix(".log")).write_text("\n\n".join(f"$ {r.script} {' '.join(r.args)}\n{r.output}" for r in runs))
    print(text)
    print(f"summary written to {output} (each script's output beside it, {output.with_suffix('.log').name})")
    return 0 if all(run.returncode == 0 for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
