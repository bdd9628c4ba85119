#!/usr/bin/env python3
"""The peer side of `amalgam-bench search-scale`: the pipeline a user would build without Amalgam.

Usage: bench_peer_search.py THREADS EXAMPLES_JSON RECIPE.yml [RECIPE.yml ...]
One candidate at a time, as mergekit-evolve's on-disk mode and a hand-rolled Optuna loop do:
`mergekit-yaml RECIPE OUT` (a process, as a user runs it, Python start-up included), then
transformers loads OUT in float32 and scores the choice examples lm-eval style
(`bench_transformers_eval.loglikelihoods`: each example's continuations one padded batch).
Prints one JSON line: {"candidates": [{"merge_s", "score_s", "acc"}, ...]}.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import torch
from transformers import AutoModelForCausalLM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_transformers_eval import loglikelihoods  # noqa: E402


def main():
    threads, examples_path, recipes = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    torch.set_num_threads(threads)
    examples = json.load(open(examples_path))
    mergekit = os.path.join(os.path.dirname(sys.executable), "mergekit-yaml")
    results = []
    for recipe in recipes:
        out = tempfile.mkdtemp(prefix="amalgam-peer-")
        try:
            start = time.perf_counter()
            subprocess.run([mergekit, recipe, out], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            merged = time.perf_counter()
            model = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32).eval()
            scores = loglikelihoods(model, examples)
            scored = time.perf_counter()
            correct = sum(1 for row, example in zip(scores, examples) if max(range(len(row)), key=lambda i: (row[i], -i)) == example["answer"])
            results.append({"merge_s": merged - start, "score_s": scored - merged, "acc": correct / len(examples)})
            del model
        finally:
            shutil.rmtree(out, ignore_errors=True)
    print(json.dumps({"candidates": results}))


if __name__ == "__main__":
    main()
