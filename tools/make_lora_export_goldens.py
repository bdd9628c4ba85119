#!/usr/bin/env python3
"""Checks Amalgam's adapter export with PEFT, and writes the logits the Swift tests compare with.

Run from the repository root after make_lora_goldens.py, with the release binary built
(`swift build -c release --product amalgam`) and the tools venv:
    tools/.venv/bin/python tools/make_lora_export_goldens.py

Amalgam merges Tests/MergingTests/Fixtures/lora/recipes/lora_task_arithmetic.yml (three adapters
of the F32 fixture base, one with modules_to_save) twice: as one LoRA adapter (`amalgam merge
--adapter`) and as a full model. This script loads the base with that adapter through PEFT and the
full model through transformers, runs both on fixed prompts and fails unless their logits agree
within 1e-5 of each row's largest logit. It writes Tests/MergingTests/Fixtures/lora/exported/
  adapter/          the exported adapter (base_model_name_or_path made relative to it)
  peft_logits.json  PEFT's logits of base + adapter on the prompts: [{tokens, logits}]
"""
import json
import os
import shutil
import subprocess
import tempfile

import torch
from peft import PeftModel
from transformers import LlamaForCausalLM

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "Tests/MergingTests/Fixtures/lora")
BASE = os.path.join(ROOT, "Tests/MergingTests/Fixtures/models/base")
RECIPE = "Tests/MergingTests/Fixtures/lora/recipes/lora_task_arithmetic.yml"
PROMPTS = [[1, 17, 42, 99, 3, 56, 23, 8], [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]]


def amalgam(*arguments):
    subprocess.run([os.path.join(ROOT, ".build/release/amalgam"), *arguments], check=True, cwd=ROOT)


def logits(model, prompt):
    with torch.no_grad():
        return model(torch.tensor([prompt])).logits[0].float()


def main():
    out = os.path.join(FIX, "exported")
    adapter = os.path.join(out, "adapter")
    os.makedirs(out, exist_ok=True)
    amalgam("merge", RECIPE, "--out", adapter, "--adapter", "--force")
    path = os.path.join(adapter, "adapter_config.json")
    with open(path) as f:
        config = json.load(f)
    config["base_model_name_or_path"] = os.path.relpath(BASE, adapter)
    with open(path, "w") as f:
        json.dump(config, f, indent=2)
    full = tempfile.mkdtemp(prefix="lora-export-full-")
    try:
        amalgam("merge", RECIPE, "--out", full + "/model")
        merged = LlamaForCausalLM.from_pretrained(full + "/model", dtype=torch.float32, attn_implementation="eager")
        base = LlamaForCausalLM.from_pretrained(BASE, dtype=torch.float32, attn_implementation="eager")
        peft = PeftModel.from_pretrained(base, adapter)
        golden = []
        for prompt in PROMPTS:
            theirs, ours = logits(peft, prompt), logits(merged, prompt)
            worst = ((theirs - ours).abs().max(dim=1).values / theirs.abs().max(dim=1).values.clamp(min=1)).max().item()
            print(f"prompt of {len(prompt)}: PEFT base+adapter vs Amalgam's full merge, worst relative {worst:.2e}")
            assert worst <= 1e-5, "the exported adapter does not give the merged model's logits"
            golden.append({"tokens": prompt, "logits": [[round(float(v), 7) for v in row] for row in theirs]})
    finally:
        shutil.rmtree(full)
    with open(os.path.join(out, "peft_logits.json"), "w") as f:
        json.dump(golden, f)


if __name__ == "__main__":
    main()
