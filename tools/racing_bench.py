#!/usr/bin/env python3
"""Racing off against racing on (DESIGN.md §5b, README "Racing"): the same search over several
seeds, each run once scoring every calibration example of every candidate and once with
`racing:`, reporting per run and as medians over the seeds

  - the holdout accuracy of the calibration-best candidate (the weighted mean of the tasks'
    holdout scores, as `amalgam-bench search` reports it),
  - the calibration examples scored (the n of every done or pruned candidate's calibration
    scores; a failed candidate scores none),
  - the candidates evaluated (done + failed + pruned) and how many racing pruned.

Standard library only; drives the release binary through its command line:
    tools/racing_bench.py search-spaces/demo.yaml --seeds 5
    tools/racing_bench.py search-spaces/demo-lora.yaml --seeds 5 --evaluations 160
Racing's settings are those of the space's `racing:` block when it has one, else the defaults
(or --stages / --confidence). Ends with one JSON line.
"""
import argparse
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def space_text(path, racing):
    """The space with absolute paths, its `racing:` line removed and, when `racing`, the given one."""
    folder = os.path.dirname(os.path.abspath(path))
    lines = []
    for line in open(path).read().splitlines():
        if re.match(r"^racing\s*:", line):
            continue
        lines.append(line.replace("../", os.path.normpath(os.path.join(folder, "..")) + "/"))
    if racing:
        lines.append(racing)
    return "\n".join(lines) + "\n"


def measure(run):
    """(holdout of the calibration-best, examples scored, candidates, pruned) from a run's archive."""
    db = sqlite3.connect(f"file:{run}/archive.sqlite?mode=ro", uri=True)
    maximize = True
    space = open(f"{run}/space.yaml").read()
    first = re.search(r"^\s*- (maximize|minimize): \"?([^\"\n]+)\"?", space, re.M)
    objective = first.group(2) if first else "accuracy"
    maximize = first is None or first.group(1) == "maximize"
    # The calibration-best searched candidate (baselines, in archives that have them, left out).
    columns = [row[1] for row in db.execute("PRAGMA table_info(candidate)")]
    searched = " AND c.baseline IS NULL" if "baseline" in columns else ""
    rows = db.execute(
        "SELECT c.id, c.seq, o.value FROM candidate c JOIN objective o ON o.candidate = c.id "
        "WHERE c.status = 'done' AND o.name = ?" + searched, (objective,)).fetchall()
    if not rows and searched:
        # Racing can prune every searched candidate when the baselines set the bar: the run's
        # calibration-best is then a baseline.
        rows = db.execute(
            "SELECT c.id, c.seq, o.value FROM candidate c JOIN objective o ON o.candidate = c.id "
            "WHERE c.status = 'done' AND o.name = ?", (objective,)).fetchall()
    best = min(rows, key=lambda r: ((-r[2] if maximize else r[2]), r[1]))
    holdout = db.execute("SELECT value FROM score WHERE candidate = ? AND split = 'holdout'", (best[0],)).fetchall()
    scored = db.execute(
        "SELECT COALESCE(SUM(s.n), 0) FROM score s JOIN candidate c ON c.id = s.candidate "
        "WHERE s.split = 'calibration' AND c.status IN ('done', 'pruned')").fetchone()[0]
    counts = dict(db.execute("SELECT status, COUNT(*) FROM candidate GROUP BY status").fetchall())
    candidates = sum(counts.get(k, 0) for k in ("done", "failed", "pruned"))
    return (statistics.mean(v for (v,) in holdout) if holdout else float("nan"), scored, candidates, counts.get("pruned", 0))


def separations(run):
    """For a CMA-ES run: each candidate's gap below the μ-th best of the rest of its generation
    (μ = ⌊λ/2⌋, generations from the checkpoints), full scores: what racing would have to resolve."""
    db = sqlite3.connect(f"file:{run}/archive.sqlite?mode=ro", uri=True)
    values = dict(db.execute("SELECT c.seq, o.value FROM candidate c JOIN objective o ON o.candidate = c.id "
                             "WHERE o.name = 'accuracy' AND c.status = 'done'").fetchall())
    gaps, start = [], 0
    for (asked,) in db.execute("SELECT seq FROM optimizerState ORDER BY seq").fetchall():
        mu = (asked - start) // 2
        members = [values[seq] for seq in range(start, asked) if seq in values]
        for index, value in enumerate(members):
            others = sorted((v for i, v in enumerate(members) if i != index), reverse=True)
            if mu >= 1 and len(others) >= mu:
                gaps.append(others[mu - 1] - value)
        start = asked
    return gaps


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("space")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--evaluations", type=int)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--stages", default="[0.25, 0.5, 1]")
    parser.add_argument("--confidence", type=float, default=0.95)
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/release/amalgam"))
    parser.add_argument("--modes", default="off,on", help="off, on or both (off,on)")
    args = parser.parse_args()
    own = re.search(r"^racing\s*:.*$", open(args.space).read(), re.M)
    racing = own.group(0) if own and "false" not in own.group(0) else f"racing: {{stages: {args.stages}, confidence: {args.confidence}}}"
    scratch = tempfile.mkdtemp(prefix="amalgam-racing-bench-")
    results = {}
    for mode in args.modes.split(","):
        for seed in range(1, args.seeds + 1):
            space = os.path.join(scratch, f"{mode}-{seed}.yaml")
            with open(space, "w") as f:
                f.write(space_text(args.space, racing if mode == "on" else None))
            run = os.path.join(scratch, f"{mode}-{seed}")
            command = [args.binary, "search", space, "--run", run, "--seed", str(seed), "--workers", str(args.workers), "--force"]
            if args.evaluations:
                command += ["--evaluations", str(args.evaluations)]
            start = time.time()
            done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=3600)
            if done.returncode != 0:
                sys.exit(f"{' '.join(command)} failed:\n{done.stderr}")
            holdout, scored, candidates, pruned = measure(run)
            if mode == "off":
                separations_all = results.setdefault("separations", [])
                separations_all += separations(run)
            results.setdefault(mode, []).append((holdout, scored, candidates, pruned, time.time() - start))
            print(f"racing {mode:3} seed {seed}: holdout {100 * holdout:.1f}%, {scored} examples scored, "
                  f"{candidates} candidates ({pruned} pruned), {time.time() - start:.0f} s", flush=True)
    summary = {"space": args.space, "seeds": args.seeds, "racing": racing}
    gaps = results.pop("separations", [])
    if gaps:
        # How far below the μ-th best of its generation a candidate is: CMA-ES racing can prune it
        # only once the bounds of both are narrower than this.
        summary["below_mu_th_best"] = {f"{points}": sum(g > points / 100 for g in gaps) / len(gaps) for points in (2, 5, 10, 15)}
        print("share of candidates more than 2/5/10/15 points below the μ-th best of their generation: "
              + ", ".join(f"{100 * v:.1f}%" for v in summary["below_mu_th_best"].values()))
    for mode, rows in results.items():
        summary[mode] = {
            "holdout_median": statistics.median(r[0] for r in rows), "examples_median": statistics.median(r[1] for r in rows),
            "examples_total": sum(r[1] for r in rows), "candidates": sum(r[2] for r in rows), "pruned": sum(r[3] for r in rows),
            "seconds_median": statistics.median(r[4] for r in rows), "holdout": [r[0] for r in rows], "examples": [r[1] for r in rows],
        }
    if "off" in summary and "on" in summary:
        summary["holdout_points_on_minus_off"] = 100 * (summary["on"]["holdout_median"] - summary["off"]["holdout_median"])
        summary["fewer_examples"] = summary["off"]["examples_total"] / max(1, summary["on"]["examples_total"])
        print(f"median holdout of the calibration-best: off {100 * summary['off']['holdout_median']:.1f}%, "
              f"on {100 * summary['on']['holdout_median']:.1f}% ({summary['holdout_points_on_minus_off']:+.1f} points); "
              f"examples scored {summary['fewer_examples']:.2f}x fewer with racing")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
