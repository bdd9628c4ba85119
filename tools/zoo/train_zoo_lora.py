#!/usr/bin/env python3
"""Trains three tiny LoRA adapters on the demo zoo's base, one per skill (add, rev, facts).

Run from the repository root with the tools venv (torch + transformers + peft, never needed to
build or test Amalgam), after `tools/zoo/train_zoo.py` has written zoo/base/ and fitness/:
    tools/.venv/bin/python tools/zoo/train_zoo_lora.py

Writes zoo/lora/{add,rev,facts}/ as PEFT folders (adapter_config.json, adapter_model.safetensors
in float32; base_model_name_or_path "../../base", the base folder relative to the adapter's) and
prints each adapter's calibration accuracy next to the base's, scored in float32 through
transformers + peft the way `amalgam eval` scores a choice task (lm-eval's acc).

The training data are train_zoo.py's own (its skill_examples, skill_splits and skill_lines with
the same seed), so an adapter sees what the full fine-tune of its skill saw: correct examples of
that skill alone, add/rev operands outside the calibration and holdout splits (checked against
fitness/ below), facts every fact. LoRA: rank 8, alpha 16, every linear layer of the Llama blocks,
no dropout, no bias, no modules_to_save; seeded per adapter, so a rerun writes the same files.
"""
import json
import os
import random
import sys
import time

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_zoo import FITNESS, ZOO, skill_examples, skill_lines, skill_splits  # noqa: E402

torch.set_num_threads(1)  # a model this small trains faster on one thread, and leaves the other core free

BASE = os.path.join(ZOO, "base")
LORA = os.path.join(ZOO, "lora")
SKILLS = ["add", "rev", "facts"]
# Steps and peak learning rate per adapter: addition generalizes slowest (as in the full fine-tunes).
# Higher rates (2e-2) or a constant rate without clipping diverge after a few hundred steps.
SCHEDULE = {"add": (600, 1e-2), "rev": (300, 1e-2), "facts": (300, 1e-2)}
SEED = {"add": 1, "rev": 2, "facts": 3}
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def load_task(name, split="calib"):
    with open(os.path.join(FITNESS, f"{name}.{split}.jsonl")) as f:
        return [json.loads(line) for line in f]


def encode_pair(tok, context, continuation):
    """lm-eval's _encode_pair: trailing spaces of the context move to the continuation, the whole
    is encoded and split at the context's length."""
    spaces = len(context) - len(context.rstrip())
    if spaces > 0:
        continuation = context[-spaces:] + continuation
        context = context[:-spaces]
    whole = tok.encode(context + continuation).ids
    context_ids = tok.encode(context).ids
    return context_ids, whole[len(context_ids):]


def accuracy(model, tok, examples):
    """acc: the share of examples whose answer has the highest summed log-likelihood."""
    rows, spans = [], []
    for example in examples:
        for choice in example["choices"]:
            context_ids, continuation_ids = encode_pair(tok, example["context"], choice)
            tokens = context_ids + continuation_ids
            rows.append(tokens[:-1])
            spans.append((len(context_ids) - 1, continuation_ids))
    width = max(len(r) for r in rows)
    batch = torch.tensor([r + [1] * (width - len(r)) for r in rows])  # right padding: causal, never attended
    with torch.no_grad():
        logprobs = torch.log_softmax(model(batch).logits.float(), dim=-1)
    scores = [sum(logprobs[i, start + k, t].item() for k, t in enumerate(cont)) for i, (start, cont) in enumerate(spans)]
    correct, at = 0, 0
    for example in examples:
        n = len(example["choices"])
        row = scores[at:at + n]
        at += n
        correct += max(range(n), key=lambda j: row[j]) == example["answer"]
    return correct / len(examples)


def train(model, tok, lines, steps, lr, rng, seq=24, batch=64):
    """train_zoo.py's loop (the same batches from the same draws) with what LoRA's higher rates need:
    20 warm-up steps, a linear decay to zero and gradients clipped at norm 1."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda i: min(1.0, (i + 1) / 20) * (1 - i / steps))
    encoded = [tok.encode(line + "\n").ids for line in lines]
    model.train()
    for step in range(steps):
        rows = [rng.choice(encoded)[:seq] for _ in range(batch)]
        width = max(len(r) for r in rows)
        ids = torch.tensor([r + [1] * (width - len(r)) for r in rows])
        mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
        labels = ids.masked_fill(mask == 0, -100)
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        if step % 100 == 0:
            print(f"  step {step} loss {loss.item():.3f}", flush=True)
    model.eval()
    return model


def check_unseen(skill, lines):
    """add/rev: no training line shares an operand with a calibration or holdout example."""
    if skill == "facts":
        return
    prompts = {line[:line.index("=") + 1] for line in lines}  # "12+34=", "rev abcd ="
    assert len(prompts) == len(lines)
    for split in ("calib", "test"):
        for example in load_task(skill, split):
            assert example["context"] not in prompts, (skill, split, example["context"])


def load_base():
    return AutoModelForCausalLM.from_pretrained(BASE, dtype=torch.float32).eval()


def save_adapter(model, skill):
    folder = os.path.join(LORA, skill)
    os.makedirs(folder, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    for extra in os.listdir(folder):  # PEFT also writes a model card
        if extra not in ("adapter_config.json", "adapter_model.safetensors"):
            os.remove(os.path.join(folder, extra))
    path = os.path.join(folder, "adapter_config.json")
    with open(path) as f:
        config = json.load(f)
    config["base_model_name_or_path"] = "../../base"  # relative to the adapter folder
    config["target_modules"] = sorted(config["target_modules"])  # PEFT writes a set, in hash order
    with open(path, "w") as f:
        f.write(json.dumps(config, indent=2, sort_keys=True))
    return folder


def main():
    start = time.perf_counter()
    tok = Tokenizer.from_file(os.path.join(BASE, "tokenizer.json"))
    facts, pairs, words, names = skill_examples(random.Random(2026))  # train_zoo.py's first draws
    splits = skill_splits(facts, pairs, words, names)
    tasks = {name: load_task(name) for name in SKILLS}
    base = load_base()
    table = {"base": {name: accuracy(base, tok, tasks[name]) for name in SKILLS}}
    print("base", " ".join(f"{name} {table['base'][name]:.3f}" for name in SKILLS), flush=True)
    for skill in SKILLS:
        steps, lr = SCHEDULE[skill]
        rng = random.Random(SEED[skill])
        torch.manual_seed(SEED[skill])
        lines = skill_lines(rng, skill, splits)
        check_unseen(skill, lines)
        config = LoraConfig(r=8, lora_alpha=16, target_modules=TARGETS, lora_dropout=0.0, bias="none",
                            use_dora=False, use_rslora=False, modules_to_save=None, task_type="CAUSAL_LM")
        model = get_peft_model(load_base(), config)
        print(f"{skill}: {len(lines)} lines, {steps} steps, lr {lr}", flush=True)
        train(model, tok, lines, steps=steps, lr=lr, rng=rng)
        folder = save_adapter(model, skill)
        # Score what was written: the base reloaded with the saved adapter.
        reloaded = PeftModel.from_pretrained(load_base(), folder).eval()
        table[skill] = {name: accuracy(reloaded, tok, tasks[name]) for name in SKILLS}
        size = os.path.getsize(os.path.join(folder, "adapter_model.safetensors"))
        print(f"base+{skill}", " ".join(f"{name} {table[skill][name]:.3f}" for name in SKILLS), f"({size} bytes)", flush=True)
    print("\ncalibration acc | " + " | ".join(SKILLS))
    for row, values in table.items():
        print(f"{row if row == 'base' else 'base+' + row} | " + " | ".join(f"{values[n]:.3f}" for n in SKILLS))
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
