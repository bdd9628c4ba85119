#!/usr/bin/env python3
"""Golden merges of LoRA adapters by mergekit + PEFT, for the Merging tests.

Run from the repository root with the tools venv (after make_merge_goldens.py, whose base it uses):
    tools/.venv/bin/python tools/make_lora_goldens.py

Writes Tests/MergingTests/Fixtures/lora/
  adapters/a/         PEFT LoRA r=4, alpha 8, every linear layer of the blocks (F32)
  adapters/b/         rsLoRA r=8, alpha 4, q/v/down only, rank_pattern {down_proj: 2}, alpha_pattern {q_proj: 16} (BF16)
  adapters/c/         r=4 on the attention projections plus modules_to_save [norm] (every RMSNorm replaced)
  adapters/dora/      use_dora: true (refused)
  adapters/other/     an adapter of another model (hidden 64; refused against the fixture base)
  adapters/bad_rank/  a's files with one lora_B cut to rank 3 (refused)
  folded/{a,b,c}/     the base with each adapter folded in by PEFT's merge_and_unload in float32, as
                      mergekit's --lora-merge-dtype float32 makes it (its LoRA cache, config and weights)
  recipes/NAME.yml    mergekit recipes naming the adapters as BASE+ADAPTER
  golden/NAME/        what `mergekit-yaml --lora-merge-dtype float32` made of each

Every adapter's base_model_name_or_path is rewritten to the base's path relative to the adapter
folder (PEFT writes the path it was given), so the folders can be used without naming the base.
"""
import json
import os
import shutil
import tempfile

import numpy as np
import torch
from peft import LoraConfig, get_peft_model
from safetensors.torch import load_file, save_file
from transformers import LlamaConfig, LlamaForCausalLM

import make_merge_goldens as merge_goldens

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "Tests/MergingTests/Fixtures/lora")
BASE = "Tests/MergingTests/Fixtures/models/base"
REL = "Tests/MergingTests/Fixtures/lora"
LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def save_adapter(model, name, base_relative, dtype=torch.float32, seed=0, scale=0.05):
    """Gives every LoRA matrix seeded random values (PEFT starts B at zero) and saves the adapter."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for key, parameter in model.named_parameters():
            if "lora_" in key:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * scale)
            elif "modules_to_save" in key:
                parameter.add_(torch.randn(parameter.shape, generator=generator) * 0.1)
    model = model.to(dtype)
    folder = os.path.join(FIX, "adapters", name)
    shutil.rmtree(folder, ignore_errors=True)
    model.save_pretrained(folder, safe_serialization=True)
    for extra in os.listdir(folder):
        if extra not in ("adapter_config.json", "adapter_model.safetensors"):
            os.remove(os.path.join(folder, extra))
    path = os.path.join(folder, "adapter_config.json")
    with open(path) as f:
        config = json.load(f)
    config["base_model_name_or_path"] = base_relative
    if isinstance(config.get("target_modules"), list):
        config["target_modules"] = sorted(config["target_modules"])  # PEFT keeps a set: its order varies per run
    with open(path, "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
    print("adapter", name, sorted(load_file(os.path.join(folder, "adapter_model.safetensors")))[:3], "...")


def base_model():
    return LlamaForCausalLM.from_pretrained(os.path.join(ROOT, BASE), dtype=torch.float32)


def adapters():
    from_adapter = os.path.relpath(os.path.join(ROOT, BASE), os.path.join(FIX, "adapters", "a"))
    save_adapter(get_peft_model(base_model(), LoraConfig(r=4, lora_alpha=8, target_modules=LINEAR, lora_dropout=0.1)),
                 "a", from_adapter, seed=1)
    save_adapter(get_peft_model(base_model(), LoraConfig(
        r=8, lora_alpha=4, use_rslora=True, target_modules=["q_proj", "v_proj", "down_proj"],
        rank_pattern={"down_proj": 2}, alpha_pattern={"q_proj": 16})), "b", from_adapter, dtype=torch.bfloat16, seed=2)
    save_adapter(get_peft_model(base_model(), LoraConfig(
        r=4, lora_alpha=4, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"], modules_to_save=["norm"])),
        "c", from_adapter, seed=3)
    save_adapter(get_peft_model(base_model(), LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj"], use_dora=True)),
                 "dora", from_adapter, seed=4)
    other = LlamaForCausalLM(LlamaConfig(hidden_size=64, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4,
                                         num_key_value_heads=2, vocab_size=104, tie_word_embeddings=True))
    save_adapter(get_peft_model(other, LoraConfig(r=4, lora_alpha=8, target_modules=LINEAR)), "other", "../../other-base", seed=5)
    # a, with one module's lora_B cut to rank 3.
    bad = os.path.join(FIX, "adapters", "bad_rank")
    shutil.rmtree(bad, ignore_errors=True)
    shutil.copytree(os.path.join(FIX, "adapters", "a"), bad)
    tensors = load_file(os.path.join(bad, "adapter_model.safetensors"))
    key = "base_model.model.model.layers.1.mlp.up_proj.lora_B.weight"
    tensors[key] = tensors[key][:, :3].contiguous()
    save_file(tensors, os.path.join(bad, "adapter_model.safetensors"), metadata={"format": "pt"})


def recipes():
    def A(name):
        return f"{BASE}+{REL}/adapters/{name}"
    return {
        "lora_linear": f"""merge_method: linear
models:
  - model: {BASE}
    parameters: {{weight: 0.2}}
  - model: {A('a')}
    parameters: {{weight: [0.2, 0.8]}}
  - model: {A('b')}
    parameters: {{weight: 0.5}}
dtype: float32
""",
        "lora_task_arithmetic": f"""merge_method: task_arithmetic
base_model: {BASE}
models:
  - model: {A('a')}
    parameters: {{weight: 0.7}}
  - model: {A('b')}
    parameters: {{weight: [0.3, 0.6, 1.0]}}
  - model: {A('c')}
    parameters: {{weight: 0.4}}
dtype: float32
""",
        "lora_ties": f"""merge_method: ties
base_model: {BASE}
models:
  - model: {A('a')}
    parameters: {{weight: 0.6, density: 0.5}}
  - model: {A('b')}
    parameters: {{weight: 0.4, density: [0.3, 0.7]}}
  - model: {A('c')}
    parameters: {{weight: 0.5, density: 0.9}}
dtype: float32
""",
        # Density 1: DARE keeps every entry, so mergekit's torch draws and Amalgam's Philox draws agree.
        "lora_dare_ties": f"""merge_method: dare_ties
base_model: {BASE}
models:
  - model: {A('a')}
    parameters: {{weight: 0.6, density: 1.0}}
  - model: {A('c')}
    parameters: {{weight: 0.5, density: 1.0}}
dtype: float32
random_seed: 7
""",
        "lora_modules_to_save": f"""merge_method: task_arithmetic
base_model: {BASE}
models:
  - model: {A('c')}
    parameters: {{weight: 1.0}}
dtype: float32
""",
    }


def run_mergekit():
    cache = tempfile.mkdtemp(prefix="lora-cache-")
    merge_goldens.run_mergekit(recipes(), FIX, options=["--lora-merge-cache", cache, "--lora-merge-dtype", "float32"])
    # mergekit's own folds: one cache folder per base+adapter pair, named after the adapter.
    for entry in os.listdir(cache):
        adapter = next(n for n in ("a", "b", "c") if f"_{n}_" in entry)
        out = os.path.join(FIX, "folded", adapter)
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        for file in os.listdir(os.path.join(cache, entry)):
            if file.endswith(".safetensors") or file in ("config.json", "model.safetensors.index.json"):
                shutil.copy(os.path.join(cache, entry, file), out)
        print("folded", adapter, "from", entry)
    shutil.rmtree(cache)


if __name__ == "__main__":
    torch.manual_seed(0)
    adapters()
    run_mergekit()
