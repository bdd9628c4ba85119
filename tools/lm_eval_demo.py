"""Runs the demo search with lm-evaluation-harness as its evaluator, then checks every candidate's
lm-eval acc against Amalgam's built-in evaluator on the same calibration examples.

Usage (from anywhere; it works from the repository root):
    python3 tools/lm_eval_demo.py [--evaluations N] [--workers N]

1. Makes the venv tools/lm-eval/.venv from tools/requirements-lmeval.txt unless it already has
   lm_eval (its own venv: lm-eval brings datasets, evaluate and accelerate, which the golden
   scripts' tools/.venv does not pin).
2. Runs `amalgam search search-spaces/demo-lm-eval.yaml --run runs/demo-lm-eval --force` to the
   end: its tasks (fitness/demo-lm-eval.yaml) are `command` tasks running `lm_eval --model hf` on
   each candidate's folder, with the task YAMLs of fitness/lm-eval/.
3. For every finished candidate in the archive: `amalgam export` writes its model (the tensors
   lm-eval scored) and `amalgam eval --fitness fitness/demo.yaml` scores it with the built-in
   evaluator; prints candidate, task, both accs and whether they are equal (the same count of
   correct examples out of n, and the same float).
4. On a difference, runs lm_eval once more on (at most three of) the differing candidates and
   tasks with --log_samples and prints the examples whose picks differ, with both sides'
   log-likelihoods.

Exit status 1 when any acc differs or any candidate failed. Needs the release build
(`swift build -c release --product amalgam`, built here when missing) and PyPI for the venv;
Amalgam's build and tests never run this. Stdlib only, so any python3 runs it.
"""
import argparse
import glob
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join("tools", "lm-eval", ".venv")  # git-ignored (tools/**/.venv/)
AMALGAM = os.path.join(".build", "release", "amalgam")
SPACE = "search-spaces/demo-lm-eval.yaml"
RUN = "runs/demo-lm-eval"
BUILT_IN = "fitness/demo.yaml"
LM_EVAL_TASK = "amalgam_demo_{}"  # fitness/lm-eval/TASK.yaml's `task:`


def sh(args, env=None, capture=False):
    """Runs `args`, failing the script with its output when it exits non-zero."""
    result = subprocess.run(args, env=env, text=True, capture_output=capture)
    if result.returncode != 0:
        sys.exit(f"{' '.join(args)} exited with status {result.returncode}\n{result.stderr if capture else ''}")
    return result.stdout


def ensure_venv():
    lm_eval = os.path.join(VENV, "bin", "lm_eval")
    if os.access(lm_eval, os.X_OK):
        return
    print(f"making {VENV} (lm-eval, torch, transformers from PyPI; a few GB the first time)", flush=True)
    sh([sys.executable, "-m", "venv", VENV])
    sh([os.path.join(VENV, "bin", "pip"), "install", "-q", "-r", "tools/requirements-lmeval.txt"])


def ensure_amalgam():
    if not os.access(AMALGAM, os.X_OK):
        sh(["swift", "build", "-c", "release", "--product", "amalgam"])


def lm_eval_env(threads):
    """lm_eval on PATH (the fitness file names it bare), no hub look-ups, torch kept to its share of the cores."""
    env = dict(os.environ)
    env["PATH"] = os.path.abspath(os.path.join(VENV, "bin")) + os.pathsep + env.get("PATH", "")
    env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               OMP_NUM_THREADS=str(threads))
    return env


def archive_candidates():
    """(id, status, error, method, {task: lm-eval acc}) for every candidate, in search order."""
    db = sqlite3.connect(f"file:{RUN}/archive.sqlite?mode=ro", uri=True)
    rows = db.execute("SELECT id, status, error, recipe, duplicate_of FROM candidate ORDER BY seq").fetchall()
    out = []
    for cid, status, error, recipe, original in rows:
        method = next((line.split(":", 1)[1].strip() for line in recipe.splitlines() if line.startswith("merge_method:")), "?")
        scores = dict(db.execute("SELECT task, value FROM score WHERE candidate = ? AND split = 'calibration'",
                                 (original or cid,)).fetchall())
        out.append((cid, status, error, method, scores))
    return out


def built_in_scores(cid):
    """The built-in evaluator's calibration scores of candidate `cid`'s exported model."""
    folder = f"{RUN}/exports/{cid}"
    if not os.path.isdir(folder):
        sh([AMALGAM, "export", RUN, "--candidate", str(cid)], capture=True)
    report = json.loads(sh([AMALGAM, "eval", folder, "--fitness", BUILT_IN, "--split", "calibration", "--json"], capture=True))
    return folder, report["tasks"]


def diagnose(folder, task, env):
    """lm_eval with --log_samples against `amalgam eval --samples` on one model and task: the
    examples whose picks differ, and whether the two picks are the same string (a tie)."""
    with tempfile.TemporaryDirectory() as out:
        name = LM_EVAL_TASK.format(task)
        sh(["lm_eval", "--model", "hf", "--model_args", f"pretrained={os.path.abspath(folder)},dtype=float32",
            "--device", "cpu", "--batch_size", "32", "--include_path", "fitness/lm-eval", "--tasks", name,
            "--output_path", out, "--log_samples"], env=env, capture=True)
        theirs = {}
        for line in open(glob.glob(f"{out}/**/samples_{name}_*.jsonl", recursive=True)[0]):
            sample = json.loads(line)
            theirs[sample["doc_id"] + 1] = sample
        samples = os.path.join(out, "built-in.jsonl")
        sh([AMALGAM, "eval", folder, "--fitness", BUILT_IN, "--samples", samples], capture=True)
        print(f"\n{folder}, {task}: examples whose picks differ (line of the calibration file)")
        for line in open(samples):
            ours = json.loads(line)
            if ours["task"] != task:
                continue
            sample = theirs[ours["line"]]
            choices = sample["doc"]["choices"]
            lls = [float(r[0][0]) for r in sample["resps"]]
            pick = max(range(len(lls)), key=lambda i: (lls[i], -i))  # np.argmax: the first of equal maxima
            if pick != ours["pick"]:
                same = " (the same string: lm-eval scores both alike and takes the first)" if choices[pick] == choices[ours["pick"]] else ""
                print(f"  line {ours['line']}: choices {choices}, answer {ours['answer']}")
                print(f"    lm-eval  picks {pick}: {lls}")
                print(f"    built-in picks {ours['pick']}: {[c['loglikelihood'] for c in ours['choices']]}{same}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--evaluations", type=int, help="override the space's budget")
    parser.add_argument("--workers", type=int, default=2, help="search workers; torch gets cores/workers threads each")
    args = parser.parse_args()
    os.chdir(ROOT)  # fitness/demo-lm-eval.yaml's paths are relative to the repository root
    ensure_venv()
    ensure_amalgam()
    env = lm_eval_env(max(1, (os.cpu_count() or 1) // args.workers))

    search = [AMALGAM, "search", SPACE, "--run", RUN, "--force", "--workers", str(args.workers)]
    if args.evaluations:
        search += ["--evaluations", str(args.evaluations)]
    print("$ " + " ".join(search), flush=True)
    started = time.monotonic()
    sh(search, env=env)
    elapsed = time.monotonic() - started
    version = sh([os.path.join(VENV, "bin", "python"), "-c", "import importlib.metadata as m; print(m.version('lm_eval'))"], capture=True).strip()

    failed, differing = [], []
    rows = [("candidate", "method", "task", "n", "lm-eval acc", "built-in acc", "equal")]
    for cid, status, error, method, scores in archive_candidates():
        if status == "pending":  # asked ahead of the budget's end, never run
            continue
        if status not in ("done", "duplicate"):
            failed.append((cid, status, error))
            continue
        folder, built_in = built_in_scores(cid)
        for task, lm_acc in scores.items():
            ours = built_in[task]
            n = ours["n"]
            equal = round(lm_acc * n) == round(ours["value"] * n) and lm_acc == ours["value"]
            if not equal:
                differing.append((folder, task))
            rows.append((str(cid), method, task, str(n), f"{lm_acc:.4f} ({round(lm_acc * n)}/{n})",
                         f"{ours['value']:.4f} ({round(ours['value'] * n)}/{n})", "yes" if equal else "NO"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print(f"\nlm-eval {version}, search {elapsed:.0f} s")
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    for cid, status, error in failed:
        print(f"candidate {cid} {status}: {error}")
    if differing:
        print(f"\n{len(differing)} of {len(rows) - 1} accs differ")
        for folder, task in differing[:3]:
            diagnose(folder, task, env)
    if failed or differing:
        sys.exit(1)
    print(f"\nall {len(rows) - 1} accs equal")


if __name__ == "__main__":
    main()
