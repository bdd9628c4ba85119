#!/usr/bin/env python3
"""Golden merges by mergekit on the non-Llama families, for the Merging and CLI tests.

Run from the repository root with the tools venv (mergekit pulls torch and transformers):
    tools/.venv/bin/python tools/make_family_merge_goldens.py

For each family (gemma2, gemma3_text, phi3, olmo2, qwen3) writes
Tests/MergingTests/Fixtures/families/FAMILY/
  models/{base,a,b}/   tiny random models made by transformers' own config and model classes and
                       `save_pretrained` (config.json + model.safetensors, float32): 3 layers,
                       hidden 32, MLP 8, vocab 64; `a` and `b` are the base plus a shuffled ramp of
                       distinct magnitudes with random signs (so task vectors differ in size and
                       TIES' top-k never meets a tie), checked after rounding to float32
  recipes/NAME.yml     linear, task_arithmetic, ties, slerp and a passthrough of layer ranges
                       (model paths relative to the repository root); the passthrough keeps 3
                       layers (a's 1-2, then b's 0 scaled by 0.5): mergekit 0.1.5 writes the new
                       num_hidden_layers but keeps transformers 5's `layer_types` of the first
                       model, and transformers refuses to save that config when the count changes
  golden/NAME/         what `mergekit-yaml` made of each (model.safetensors, config.json)

gemma2, gemma3_text and qwen3 tie the head to the embedding: transformers saves no lm_head.weight,
and mergekit's architecture files list it as optional, so mergekit writes none either. phi3 and
olmo2 are untied; phi3's fused qkv_proj and gate_up_proj are merged as whole tensors (mergekit's
phi3.json names them so). Everything is seeded: a rerun with the same versions writes the same files.
"""
import json
import os
import shutil

import numpy as np
import torch
from make_merge_goldens import recipes as llama_recipes, run_mergekit
from safetensors.torch import load_file
from transformers import (Gemma2Config, Gemma2ForCausalLM, Gemma3ForCausalLM, Gemma3TextConfig, Olmo2Config,
                          Olmo2ForCausalLM, Phi3Config, Phi3ForCausalLM, Qwen3Config, Qwen3ForCausalLM)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REL = "Tests/MergingTests/Fixtures/families"
FIX = os.path.join(ROOT, REL)
COMMON = dict(vocab_size=64, hidden_size=32, intermediate_size=8, num_hidden_layers=3, num_attention_heads=2,
              num_key_value_heads=1, head_dim=4, max_position_embeddings=64, rms_norm_eps=1e-6,
              pad_token_id=0, eos_token_id=1, bos_token_id=2)
GEMMA = dict(COMMON, query_pre_attn_scalar=4, sliding_window=8)

FAMILIES = {
    "gemma2": lambda: Gemma2ForCausalLM(Gemma2Config(**GEMMA)),
    "gemma3_text": lambda: Gemma3ForCausalLM(Gemma3TextConfig(
        **GEMMA, layer_types=["sliding_attention", "full_attention", "sliding_attention"])),
    # Phi-3's attention takes head_dim from hidden_size / num_attention_heads: 8 heads of 4.
    "phi3": lambda: Phi3ForCausalLM(Phi3Config(**dict(COMMON, num_attention_heads=8, num_key_value_heads=1),
                                               tie_word_embeddings=False)),
    "olmo2": lambda: Olmo2ForCausalLM(Olmo2Config(**COMMON, tie_word_embeddings=False)),
    "qwen3": lambda: Qwen3ForCausalLM(Qwen3Config(**COMMON, tie_word_embeddings=True)),
}


def save_model(model, folder, state):
    shutil.rmtree(folder, ignore_errors=True)
    model.load_state_dict(state, strict=False)
    model.save_pretrained(folder, safe_serialization=True)
    for extra in os.listdir(folder):
        if extra not in ("config.json", "model.safetensors"):
            os.remove(os.path.join(folder, extra))


def make_models(family, seed):
    torch.manual_seed(seed)
    model = FAMILIES[family]().float()
    folder = os.path.join(FIX, family, "models")
    save_model(model, os.path.join(folder, "base"), model.state_dict())
    # What save_pretrained wrote (a tied head is left out), read back as the base.
    base = load_file(os.path.join(folder, "base", "model.safetensors"))
    assert "model.layers.2.mlp.down_proj.weight" in base, sorted(base)
    rng = np.random.default_rng(seed)
    for name, scale in [("a", 0.02), ("b", 0.035)]:
        tuned = {}
        for key, value in base.items():
            v = value.numpy().astype(np.float32)
            ramp = scale * (0.05 + np.arange(v.size) / v.size)
            delta = rng.permutation(ramp) * rng.choice([-1.0, 1.0], v.size)
            t = (v + delta.reshape(v.shape)).astype(np.float32)
            magnitudes = np.abs(t - v).reshape(-1)
            assert len(np.unique(magnitudes)) == magnitudes.size, f"tied magnitudes in {family}/{name}:{key}"
            tuned[key] = torch.from_numpy(t)
        save_model(model, os.path.join(folder, name), tuned)
    return sorted(base)


def recipes(family):
    """Linear and SLERP as for the Llama goldens; task arithmetic and TIES over the two fine-tunes;
    a passthrough that renumbers layers."""
    m = lambda n: f"{REL}/{family}/models/{n}"
    shared = llama_recipes(m)
    return {
        "linear": shared["linear"],
        "task_arithmetic": f"""merge_method: task_arithmetic
base_model: {m('base')}
models:
  - model: {m('a')}
    parameters: {{weight: 0.7}}
  - model: {m('b')}
    parameters: {{weight: [0.3, 0.6, 1.0]}}
parameters:
  lambda: 0.9
dtype: float32
""",
        "ties": f"""merge_method: ties
base_model: {m('base')}
models:
  - model: {m('a')}
    parameters: {{weight: 0.6, density: 0.5}}
  - model: {m('b')}
    parameters: {{weight: 0.4, density: [0.3, 0.7]}}
dtype: float32
""",
        "slerp": shared["slerp"],
        "passthrough": f"""merge_method: passthrough
slices:
  - sources:
      - model: {m('a')}
        layer_range: [1, 3]
  - sources:
      - model: {m('b')}
        layer_range: [0, 1]
        parameters: {{scale: 0.5}}
dtype: float32
""",
    }


if __name__ == "__main__":
    for i, family in enumerate(FAMILIES):
        names = make_models(family, 4242 + i)
        print(family, len(names), "tensors, lm_head" if "lm_head.weight" in names else "tensors, tied head")
        run_mergekit(recipes(family), os.path.join(FIX, family))
