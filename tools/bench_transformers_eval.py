#!/usr/bin/env python3
"""The peer side of `amalgam-bench eval`: the same choice-task scoring through transformers.

Usage: bench_transformers_eval.py MODEL_DIR THREADS EXAMPLES_JSON
Each example is scored lm-eval style: the four (context + continuation) sequences as one batch
of equal length, float32, log-softmax gathered over each continuation. Prints one JSON line:
{"examples": n, "seconds": s, "loglikelihoods": [[...], ...]}.
"""
import json
import sys
import time

import torch
from transformers import AutoModelForCausalLM


def loglikelihoods(model, examples):
    """Each example's summed log-likelihood per continuation (the batch of its continuations)."""
    results = []
    with torch.no_grad():
        for example in examples:
            context, continuations = example["context"], example["continuations"]
            batch = torch.tensor([(context + c)[:-1] for c in continuations])
            logprobs = torch.log_softmax(model(batch).logits.float(), dim=-1)
            row = []
            for b, c in enumerate(continuations):
                positions = range(len(context) - 1, len(context) - 1 + len(c))
                row.append(sum(logprobs[b, p, t].item() for p, t in zip(positions, c)))
            results.append(row)
    return results


def main():
    folder, threads, examples_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    torch.set_num_threads(threads)
    examples = json.load(open(examples_path))
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    start = time.perf_counter()
    results = loglikelihoods(model, examples)
    seconds = time.perf_counter() - start
    print(json.dumps({"examples": len(examples), "seconds": seconds, "loglikelihoods": results}))


if __name__ == "__main__":
    main()
