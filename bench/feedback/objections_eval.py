"""Objection analysis: precision / recall per tag on the held-out part of the shipped labelled notes (never
trained or tuned on), for the lexicon, the model and the default hybrid; and tagging throughput on one core,
beside the raw RPC floor measured in the same run (bench/rpc_bench.py's raw py-amqp client and server).

    python bench/feedback/objections_eval.py [--notes 5000] [--no-floor]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() not in (HERE, HERE.parent)]

from feedback.objections import (  # noqa: E402
    TAGS,
    HybridClassifier,
    LexiconClassifier,
    ModelClassifier,
    Tagger,
    load_notes,
    split,
)


def scores(tagger: Tagger, notes) -> dict[str, tuple[int, int, int]]:
    predicted = [{t.tag for t in found} for found in tagger.tag_many([n.text for n in notes])]
    out = {}
    for tag in TAGS:
        tp = sum(1 for n, p in zip(notes, predicted, strict=True) if tag in n.tags and tag in p)
        fp = sum(1 for n, p in zip(notes, predicted, strict=True) if tag not in n.tags and tag in p)
        fn = sum(1 for n, p in zip(notes, predicted, strict=True) if tag in n.tags and tag not in p)
        out[tag] = (tp, fp, fn)
    return out


def ratio(a: int, b: int) -> str:
    return f"{a / b:.2f}" if b else "  - "


def raw_floor() -> float:
    """p50 ms of a raw py-amqp round trip (the RPC floor), from bench/rpc_bench.py's helpers."""
    sys.path.insert(0, str(HERE.parent))
    import rpc_bench
    from common import AMQP

    from chassis.testing.infra import VhostManager

    vhosts = VhostManager(AMQP)
    uri = vhosts.create()
    try:
        server = subprocess.Popen([sys.executable, rpc_bench.__file__, "raw-server", uri], stdout=subprocess.PIPE,
                                  text=True)
        server.stdout.readline()
        result = rpc_bench.run_json(["raw-client", uri, "500", "1"])
        server.kill()
    finally:
        vhosts.delete(uri, wait=True)
    return result["p50_ms"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notes", type=int, default=5000)
    parser.add_argument("--no-floor", action="store_true")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1,000 notes")
    args = parser.parse_args()
    if args.quick:
        args.notes = 1000
    notes = load_notes()
    train, test = split(notes)
    zh = sum(1 for n in notes if any("\u4e00" <= ch <= "\u9fff" for ch in n.text))
    print(f"labelled notes: {len(notes)} ({zh} zh, {len(notes) - zh} en); trained on {len(train)}, "
          f"held out {len(test)}")
    model = ModelClassifier.train(train)
    taggers = {"lexicon": Tagger(LexiconClassifier()), "model": Tagger(model),
               "hybrid (default)": Tagger(HybridClassifier(LexiconClassifier(), model))}
    print(f"\n{'tag':<15}{'support':>8}" + "".join(f"{name:>22}" for name in taggers))
    print(f"{'':<15}{'':>8}" + "".join(f"{'P':>11}{'R':>11}" for _ in taggers))
    results = {name: scores(tagger, test) for name, tagger in taggers.items()}
    for tag in TAGS:
        support = sum(1 for n in test if tag in n.tags)
        row = "".join(f"{ratio(tp, tp + fp):>11}{ratio(tp, tp + fn):>11}" for tp, fp, fn in
                      (results[name][tag] for name in taggers))
        print(f"{tag:<15}{support:>8}{row}")
    for name in taggers:
        tp = sum(v[0] for v in results[name].values())
        fp = sum(v[1] for v in results[name].values())
        fn = sum(v[2] for v in results[name].values())
        print(f"micro {name:<18} P {ratio(tp, tp + fp)}  R {ratio(tp, tp + fn)}")

    texts = [notes[i % len(notes)].text for i in range(args.notes)]
    tagger = taggers["hybrid (default)"]
    tagger.tag_many(texts[:50])  # jieba's dictionary and the model warm
    started = time.perf_counter()
    tagger.tag_many(texts)
    batch = args.notes / (time.perf_counter() - started)
    started = time.perf_counter()
    for text in texts[:1000]:
        tagger.tag(text)
    single = 1000 / (time.perf_counter() - started)
    print(f"\ntagging throughput, one core: batch {batch:,.0f} notes/s, one at a time {single:,.0f} notes/s "
          f"(target >= 500)")
    if not args.no_floor:
        floor = raw_floor()
        per_note_ms = 1000 / single
        print(f"raw RPC floor p50 {floor:.2f} ms; tagging one note {per_note_ms:.2f} ms = "
              f"{per_note_ms / floor:.2f} x the floor")


if __name__ == "__main__":
    main()
