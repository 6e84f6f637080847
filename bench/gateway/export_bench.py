"""Memory and time of a streamed export of 100,000 rows (gateway.exports), beside the same-run raw RPC floor.

    python bench/gateway/export_bench.py [--rows 100000] [--page 2000]

The rows travel as the export RPC's pages do (JSON `ExportRows`, `--page` rows each) over a raw py-amqp
request/reply on the local broker (bench/rpc_bench.py's raw echo server): that transfer alone is the floor. Then the
same pages go through the gateway's CSV stream and XLSX writer as they arrive. Each run is its own process; its
memory is the growth of the peak RSS (ru_maxrss) during the run, after the pages to send are built; the reference
for memory is the same rows held all at once (what a non-streamed export would do), measured in the same run.
XLSX is written twice in the same run: by the export (chassis.tabular.write_xlsx) and, as the reference, by
openpyxl's write-only mode (what the export used before; lxml, which openpyxl would use when installed, made no
reliable difference here: 0.68x at 4,000 rows, 1.10x at 100,000 on 2026-12-03, so it is not a dependency).
Prints `BENCH-FIGURE` lines for bench/run_all.py.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import AMQP

QUEUE = "raw-rpc"  # bench/rpc_bench.py's raw echo server
COLUMNS = ["goal_id", "title", "kind", "owner_kind", "owner_id", "org_unit_id", "parent_id", "weight", "progress",
           "colour", "confidence", "due_on"]


def page_body(number: int, size: int) -> str:
    rows = [[f"{number:04d}-{n:05d}-7f3c9a1e-goal", f"区域 {n % 12} 销售额目标 {n}", "kpi", "person", f"E{n:06d}",
             f"region_{n % 12:02d}", None, "25.00", "0.612345678", "green", "0.800", "2026-12-31"]
            for n in range(size)]
    return json.dumps({"columns": COLUMNS, "rows": rows, "next_cursor": None})


class RawRpc:
    """One channel, one reply queue: a page request echoed back by the raw server (the transport floor)."""

    def __init__(self, uri: str) -> None:
        import amqp
        from kombu.utils.url import url_to_parts

        _, host, port, user, password, vhost, _ = url_to_parts(uri)
        self.amqp = amqp
        self.conn = amqp.Connection(host=f"{host}:{port}", userid=user, password=password,
                                    virtual_host=vhost or "/")
        self.conn.connect()
        self.ch = self.conn.channel()
        self.reply_queue, _, _ = self.ch.queue_declare("", exclusive=True)
        self.replies: list[Any] = []
        self.ch.basic_consume(self.reply_queue, callback=self.replies.append, no_ack=True)

    def call(self, body: str) -> dict[str, Any]:
        self.ch.basic_publish(self.amqp.Message(body, correlation_id=uuid.uuid4().hex, reply_to=self.reply_queue,
                                                content_type="application/json"), exchange="", routing_key=QUEUE)
        while not self.replies:
            self.conn.drain_events()
        return json.loads(self.replies.pop().body)  # type: ignore[no-any-return]


def pages(rpc: RawRpc, bodies: list[str]) -> Iterator[list[list[Any]]]:
    for body in bodies:
        yield rpc.call(body)["rows"]


def measure(run: Callable[[], Any]) -> tuple[float, float]:
    """(seconds, growth of the peak RSS in MiB) of one run."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    run()
    seconds = time.perf_counter() - started
    return seconds, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024


def figure(label: str, value: float, unit: str, reference: float, reference_label: str) -> None:
    print("BENCH-FIGURE " + json.dumps({"label": label, "value": round(value, 3), "unit": unit,
                                        "reference": round(reference, 3), "reference_label": reference_label}))


def one(variant: str, uri: str, rows: int, size: int) -> tuple[float, float]:
    from gateway import exports

    rpc = RawRpc(uri)
    bodies = [page_body(n, size) for n in range((rows + size - 1) // size)]

    def drain() -> None:
        for _ in pages(rpc, bodies):
            pass

    def held() -> None:  # the reference: every row in memory at once, then written
        everything = [row for page in pages(rpc, bodies) for row in page]
        for _ in exports.csv_stream(COLUMNS, "zh-CN", iter([everything])):
            pass

    def streamed_csv() -> None:
        written = sum(len(chunk) for chunk in exports.csv_stream(COLUMNS, "zh-CN", pages(rpc, bodies)))
        assert written > rows * 50

    def streamed_xlsx() -> None:
        path = exports.xlsx_file(COLUMNS, "en", pages(rpc, bodies), "board")
        for _ in exports.file_stream(path):
            pass

    def openpyxl_xlsx() -> None:  # the reference: openpyxl's write-only workbook, row by row, to a file
        import tempfile

        import openpyxl

        workbook = openpyxl.Workbook(write_only=True)
        sheet = workbook.create_sheet("board")
        sheet.append(exports.headers(COLUMNS, "en"))
        for page in pages(rpc, bodies):
            for row in page:
                sheet.append(row)
        with tempfile.NamedTemporaryFile(suffix=".xlsx") as out:
            workbook.save(out.name)

    return measure({"floor": drain, "held": held, "csv": streamed_csv, "xlsx": streamed_xlsx,
                    "xlsx-openpyxl": openpyxl_xlsx}[variant])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--page", type=int, default=2000)
    args = parser.parse_args()
    from chassis.testing.infra import VhostManager

    vhosts = VhostManager(AMQP)
    uri = vhosts.create()
    server = subprocess.Popen([sys.executable, str(Path(__file__).resolve().parents[1] / "rpc_bench.py"),
                               "raw-server", uri], stdout=subprocess.PIPE, text=True)
    results: dict[str, tuple[float, float]] = {}
    try:
        server.stdout.readline()  # type: ignore[union-attr]  # "ready"
        for variant in ("floor", "held", "csv", "xlsx", "xlsx-openpyxl"):
            out = subprocess.run([sys.executable, __file__, "one", variant, uri, str(args.rows), str(args.page)],
                                 capture_output=True, text=True, timeout=1800, check=True)
            seconds, mib = json.loads(out.stdout.strip().splitlines()[-1])
            results[variant] = (seconds, mib)
    finally:
        server.kill()
        vhosts.delete(uri, wait=True)
    (floor_s, floor_mib), (held_s, held_mib) = results["floor"], results["held"]
    (csv_s, csv_mib), (xlsx_s, xlsx_mib) = results["csv"], results["xlsx"]
    ref_s, ref_mib = results["xlsx-openpyxl"]
    print(f"{args.rows} rows in pages of {args.page} over raw py-amqp request/reply (same run, same broker)")
    print(f"{'':<26}{'seconds':>9}{'peak RSS growth MiB':>21}")
    for name, (s, mib) in {"raw RPC floor (pages only)": (floor_s, floor_mib),
                           "all rows held (reference)": (held_s, held_mib), "streamed CSV": (csv_s, csv_mib),
                           "streamed XLSX": (xlsx_s, xlsx_mib),
                           "XLSX by openpyxl (ref)": (ref_s, ref_mib)}.items():
        print(f"{name:<26}{s:>9.2f}{mib:>21.1f}")
    print(f"streamed CSV time / raw floor = {csv_s / floor_s:.2f}; memory / all rows held = "
          f"{csv_mib / max(held_mib, 0.1):.2f}")
    print(f"streamed XLSX time / raw floor = {xlsx_s / floor_s:.2f}; memory / all rows held = "
          f"{xlsx_mib / max(held_mib, 0.1):.2f}")
    print(f"streamed XLSX time / openpyxl write-only = {xlsx_s / ref_s:.2f}")
    figure("export CSV 100k rows: peak RSS growth", csv_mib, "MiB", held_mib, "all rows held")
    figure("export XLSX 100k rows: peak RSS growth", xlsx_mib, "MiB", held_mib, "all rows held")
    figure("export CSV 100k rows: duration", csv_s, "s", floor_s, "raw RPC pages")
    figure("export XLSX 100k rows: duration", xlsx_s, "s", floor_s, "raw RPC pages")
    figure("export XLSX 100k rows: duration vs openpyxl", xlsx_s, "s", ref_s, "openpyxl write-only")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "one":
        print(json.dumps(one(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))))
    else:
        main()
