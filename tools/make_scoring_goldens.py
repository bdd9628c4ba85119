#!/usr/bin/env python3
"""Golden log-likelihoods from transformers, scored the way lm-evaluation-harness scores.

Run from the repository root with the tools venv:
    tools/.venv/bin/python tools/make_scoring_goldens.py

For zoo/tiny-llama (its tokenizer.json through the tokenizers library, its weights through
transformers in float32) and a small choice task, writes Tests/FitnessTests/Fixtures/:
  choice.jsonl         the task (context, choices, answer)
  choice.golden.json   per example and choice: context/continuation token ids and the summed
                       log-likelihood, plus acc and acc_norm
  text.jsonl, text.golden.json   a perplexity task: per text the summed log-likelihood, token,
                       word and byte counts
Context and continuation are tokenized as lm-eval's `_encode_pair` does: trailing spaces of the
context move to the continuation, context+continuation is encoded whole and split at the
context's length; special tokens as the tokenizer's post-processor adds them (none here).
"""
import json
import math
import os
import re

import torch
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests/FitnessTests/Fixtures")
MODEL = os.path.join(ROOT, "zoo/tiny-llama")

CHOICE = [
    {"context": "The quick brown fox jumps over the", "choices": [" lazy dog.", " moon", " fence!"], "answer": 0},
    {"context": "2 + 2 = ", "choices": ["4", "5", "22"], "answer": 0},
    {"context": "def add(a, b):\n    return", "choices": [" a + b", " a - b", " None"], "answer": 0},
    {"context": "Amalgam merges fine-tuned ", "choices": ["models.", "cats.", "soup"], "answer": 0},
    {"context": "12 * 3 =", "choices": [" 36", " 63", " 1"], "answer": 0},
    {"context": "", "choices": ["The quick", "Zzz"], "answer": 0},
]
TEXTS = [{"text": "The quick brown fox jumps over the lazy dog."}, {"text": "Amalgam merges fine-tuned models. 2 + 2 = 4;"},
         {"text": "def add(a, b):\n    return a + b\n"}]


def encode(tok, text):
    return tok.encode(text).ids


def encode_pair(tok, context, continuation):
    spaces = len(context) - len(context.rstrip())
    if spaces > 0:
        continuation = context[-spaces:] + continuation
        context = context[:-spaces]
    whole = encode(tok, context + continuation)
    context_ids = encode(tok, context)
    return context_ids, whole[len(context_ids):]


def loglikelihood(model, context_ids, continuation_ids, prefix):
    if not context_ids:
        context_ids = [prefix]
    tokens = context_ids + continuation_ids
    with torch.no_grad():
        logits = model(torch.tensor([tokens[:-1]])).logits[0].float()
    logprobs = torch.log_softmax(logits, dim=-1)
    start = len(context_ids) - 1
    return sum(logprobs[start + i, t].item() for i, t in enumerate(continuation_ids)), context_ids


def main():
    os.makedirs(OUT, exist_ok=True)
    tok = Tokenizer.from_file(os.path.join(MODEL, "tokenizer.json"))
    model = AutoModelForCausalLM.from_pretrained(MODEL, dtype=torch.float32).eval()
    prefix = json.load(open(os.path.join(MODEL, "config.json")))["eos_token_id"]
    golden, correct, correct_norm = [], 0, 0
    for example in CHOICE:
        rows = []
        for choice in example["choices"]:
            context_ids, continuation_ids = encode_pair(tok, example["context"], choice)
            ll, used_context = loglikelihood(model, context_ids, continuation_ids, prefix)
            rows.append({"context_ids": used_context, "continuation_ids": continuation_ids, "loglikelihood": ll})
        lls = [r["loglikelihood"] for r in rows]
        pick = max(range(len(lls)), key=lambda i: lls[i])
        pick_norm = max(range(len(lls)), key=lambda i: lls[i] / len(example["choices"][i]))
        correct += pick == example["answer"]
        correct_norm += pick_norm == example["answer"]
        golden.append({"choices": rows, "pick": pick, "pick_norm": pick_norm})
    with open(os.path.join(OUT, "choice.jsonl"), "w") as f:
        for example in CHOICE:
            f.write(json.dumps(example) + "\n")
    with open(os.path.join(OUT, "choice.golden.json"), "w") as f:
        json.dump({"examples": golden, "acc": correct / len(CHOICE), "acc_norm": correct_norm / len(CHOICE)}, f, indent=1)

    rows = []
    for item in TEXTS:
        ids = encode(tok, item["text"])
        ll, _ = loglikelihood(model, [prefix], ids, prefix)
        rows.append({"loglikelihood": ll, "tokens": len(ids), "words": len(re.split(r"\s+", item["text"])),
                     "bytes": len(item["text"].encode("utf-8"))})
    with open(os.path.join(OUT, "text.jsonl"), "w") as f:
        for item in TEXTS:
            f.write(json.dumps(item) + "\n")
    with open(os.path.join(OUT, "text.golden.json"), "w") as f:
        json.dump(rows, f, indent=1)
    # Greedy generation on the rev specialist of the demo zoo, as transformers generates.
    rev = os.path.join(ROOT, "zoo/rev")
    if os.path.exists(rev):
        rev_tok = Tokenizer.from_file(os.path.join(rev, "tokenizer.json"))
        rev_model = AutoModelForCausalLM.from_pretrained(rev, dtype=torch.float32).eval()
        prompts = ["rev abcd =", "rev jihg =", "rev cafe =", "rev bbbaa =", "12+34="]
        generated = []
        for prompt in prompts:
            ids = torch.tensor([rev_tok.encode(prompt).ids])
            with torch.no_grad():
                out = rev_model.generate(ids, max_new_tokens=8, do_sample=False, eos_token_id=1, pad_token_id=1)
            new = out[0, ids.shape[1]:].tolist()
            if 1 in new:
                new = new[:new.index(1)]
            generated.append({"prompt": prompt, "ids": new, "text": rev_tok.decode(new)})
        with open(os.path.join(OUT, "generate.golden.json"), "w") as f:
            json.dump(generated, f, indent=1)
        print("generated", [g["text"] for g in generated])
    print("acc", correct / len(CHOICE), "acc_norm", correct_norm / len(CHOICE), "texts", [round(r["loglikelihood"], 3) for r in rows])


if __name__ == "__main__":
    main()
