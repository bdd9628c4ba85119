#!/usr/bin/env python3
"""Golden merges by mergekit, for the Merging tests.

Run from the repository root with the tools venv (mergekit pulls torch):
    tools/.venv/bin/pip install -r tools/requirements-merge.txt
    tools/.venv/bin/python tools/make_merge_goldens.py

Writes Tests/MergingTests/Fixtures/
  models/{base,a,b,c}/   tiny Llama-layout models: 3 layers, hidden 104, GQA (4 heads, 2 KV heads),
                         tied embeddings, F32, two shards + index; every tensor has > 100 elements
                         and every task vector has distinct magnitudes (so top-k has no ties)
  recipes/NAME.yml       the recipes (model paths relative to the repository root)
  golden/NAME/           what `mergekit-yaml` made of each (model*.safetensors, index, config.json)
"""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
from safetensors.numpy import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "Tests/MergingTests/Fixtures")
REL = "Tests/MergingTests/Fixtures/models"
H, I, V, LAYERS, HEADS, KV = 104, 104, 104, 3, 4, 2
HEAD_DIM = H // HEADS


def shapes():
    out = {"model.embed_tokens.weight": (V, H), "model.norm.weight": (H,)}
    for layer in range(LAYERS):
        p = f"model.layers.{layer}."
        out.update({
            p + "input_layernorm.weight": (H,), p + "post_attention_layernorm.weight": (H,),
            p + "self_attn.q_proj.weight": (HEADS * HEAD_DIM, H), p + "self_attn.k_proj.weight": (KV * HEAD_DIM, H),
            p + "self_attn.v_proj.weight": (KV * HEAD_DIM, H), p + "self_attn.o_proj.weight": (H, HEADS * HEAD_DIM),
            p + "mlp.gate_proj.weight": (I, H), p + "mlp.up_proj.weight": (I, H), p + "mlp.down_proj.weight": (H, I),
        })
    return out


def write_model(name, tensors):
    folder = os.path.join(FIX, "models", name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": H, "intermediate_size": I,
              "num_hidden_layers": LAYERS, "num_attention_heads": HEADS, "num_key_value_heads": KV, "head_dim": HEAD_DIM,
              "vocab_size": V, "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
              "hidden_act": "silu", "tie_word_embeddings": True, "torch_dtype": "float32"}
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    names = sorted(tensors)
    halves = [names[: len(names) // 2], names[len(names) // 2:]]
    weight_map, total = {}, 0
    for i, part in enumerate(halves):
        shard = f"model-{i + 1:05d}-of-00002.safetensors"
        save_file({k: tensors[k] for k in part}, os.path.join(folder, shard), metadata={"format": "pt"})
        for k in part:
            weight_map[k] = shard
            total += tensors[k].nbytes
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)


def models(rng):
    base = {k: (rng.standard_normal(s) * 0.05 + (1.0 if "norm" in k else 0.0)).astype(np.float32) for k, s in shapes().items()}
    write_model("base", base)
    for name, scale in [("a", 0.02), ("b", 0.03), ("c", 0.015)]:
        tuned = {}
        for k, v in base.items():
            # Distinct magnitudes by construction: a shuffled ramp with random signs.
            ramp = scale * (0.05 + np.arange(v.size) / v.size)
            delta = rng.permutation(ramp) * rng.choice([-1.0, 1.0], v.size)
            tuned[k] = (v + delta.reshape(v.shape)).astype(np.float32)
        if name == "a":
            # Colinear with the base: exercises SLERP's linear fallback.
            for k in tuned:
                if k.endswith("input_layernorm.weight"):
                    tuned[k] = (base[k] * 1.5).astype(np.float32)
        for k, v in tuned.items():
            magnitudes = np.abs(v - base[k]).reshape(-1)
            assert len(np.unique(magnitudes)) == magnitudes.size, f"tied magnitudes in {name}:{k}"
        write_model(name, tuned)


def recipes(M):
    """The recipes, with `M(name)` the path of model `name` relative to the repository root."""
    return {
        "linear": f"""merge_method: linear
models:
  - model: {M('base')}
    parameters: {{weight: 0.2}}
  - model: {M('a')}
    parameters: {{weight: [0.2, 0.8]}}
  - model: {M('b')}
    parameters:
      weight:
        - filter: mlp
          value: 0.6
        - value: 0.3
dtype: float32
""",
        "task_arithmetic": f"""merge_method: task_arithmetic
base_model: {M('base')}
models:
  - model: {M('a')}
    parameters: {{weight: 0.7}}
  - model: {M('b')}
    parameters: {{weight: [0.3, 0.6, 1.0]}}
  - model: {M('c')}
    parameters: {{weight: 0.4}}
parameters:
  lambda: 0.9
dtype: float32
""",
        "ties": f"""merge_method: ties
base_model: {M('base')}
models:
  - model: {M('a')}
    parameters: {{weight: 0.6, density: 0.5}}
  - model: {M('b')}
    parameters: {{weight: 0.4, density: [0.3, 0.7]}}
  - model: {M('c')}
    parameters: {{weight: 0.5, density: 0.9}}
dtype: float32
""",
        "ties_bf16": f"""merge_method: ties
base_model: {M('base')}
models:
  - model: {M('a')}
    parameters: {{weight: 0.6, density: 0.5}}
  - model: {M('b')}
    parameters: {{weight: 0.4, density: 0.7}}
dtype: float32
out_dtype: bfloat16
""",
        "breadcrumbs": f"""merge_method: breadcrumbs
base_model: {M('base')}
models:
  - model: {M('a')}
    parameters: {{weight: 0.8, density: 0.6, gamma: 0.05}}
  - model: {M('b')}
    parameters: {{weight: 0.5, density: 0.7, gamma: 0.005}}
dtype: float32
""",
        "breadcrumbs_ties": f"""merge_method: breadcrumbs_ties
base_model: {M('base')}
models:
  - model: {M('a')}
    parameters: {{weight: 0.6, density: 0.5, gamma: 0.02}}
  - model: {M('b')}
    parameters: {{weight: 0.5, density: 0.8, gamma: 0.01}}
  - model: {M('c')}
    parameters: {{weight: 0.7, density: 0.4}}
parameters:
  normalize: true
dtype: float32
""",
        "slerp": f"""merge_method: slerp
base_model: {M('base')}
models:
  - model: {M('base')}
  - model: {M('a')}
parameters:
  t:
    - filter: self_attn
      value: [0, 0.5, 1]
    - filter: mlp
      value: [1, 0.5, 0]
    - value: 0.3
dtype: float32
""",
        "nuslerp": f"""merge_method: nuslerp
base_model: {M('base')}
models:
  - model: {M('a')}
    parameters: {{weight: 0.3}}
  - model: {M('b')}
    parameters: {{weight: 0.7}}
dtype: float32
""",
        "nuslerp_rows": f"""merge_method: nuslerp
models:
  - model: {M('a')}
    parameters: {{weight: 1.0}}
  - model: {M('c')}
    parameters: {{weight: 2.0}}
parameters:
  nuslerp_flatten: false
dtype: float32
""",
        "model_stock": f"""merge_method: model_stock
base_model: {M('base')}
models:
  - model: {M('a')}
  - model: {M('b')}
  - model: {M('c')}
dtype: float32
""",
        "sce": f"""merge_method: sce
base_model: {M('base')}
models:
  - model: {M('a')}
  - model: {M('b')}
  - model: {M('c')}
parameters:
  select_topk: 0.4
dtype: float32
""",
        "sce_all": f"""merge_method: sce
base_model: {M('base')}
models:
  - model: {M('a')}
  - model: {M('b')}
dtype: float32
""",
        "multislerp": f"""merge_method: multislerp
base_model: {M('base')}
models:
  - model: {M('a')}
    parameters: {{weight: 0.5}}
  - model: {M('b')}
    parameters: {{weight: [0.2, 0.4]}}
  - model: {M('c')}
    parameters: {{weight: 0.3}}
dtype: float32
""",
        "multislerp_nobase": f"""merge_method: multislerp
models:
  - model: {M('a')}
    parameters: {{weight: 0.5}}
  - model: {M('c')}
    parameters: {{weight: 0.7}}
parameters:
  normalize_weights: false
  eps: 1e-6
dtype: float32
""",
        "karcher": f"""merge_method: karcher
models:
  - model: {M('a')}
  - model: {M('b')}
  - model: {M('c')}
dtype: float32
""",
        "karcher_base": f"""merge_method: karcher
base_model: {M('base')}
models:
  - model: {M('a')}
  - model: {M('b')}
parameters:
  max_iter: 3
  tol: 1e-6
dtype: float32
""",
        "nearswap": f"""merge_method: nearswap
base_model: {M('base')}
models:
  - model: {M('a')}
parameters:
  t: [0.002, 0.008]
dtype: float32
""",
        "arcee_fusion": f"""merge_method: arcee_fusion
base_model: {M('base')}
models:
  - model: {M('b')}
dtype: float32
""",
        "ram": f"""merge_method: ram
base_model: {M('base')}
models:
  - model: {M('a')}
  - model: {M('b')}
  - model: {M('c')}
parameters:
  epsilon: 0.01
dtype: float32
""",
        "ramplus_tl": f"""merge_method: ramplus_tl
base_model: {M('base')}
models:
  - model: {M('a')}
  - model: {M('b')}
  - model: {M('c')}
parameters:
  epsilon: 0.012
  r: 0.3
  alpha: 4
dtype: float32
""",
        "ramplus_tl_defaults": f"""merge_method: ramplus_tl
base_model: {M('base')}
models:
  - model: {M('a')}
  - model: {M('b')}
parameters:
  epsilon: 0.008
dtype: float32
""",
        "passthrough": f"""merge_method: passthrough
slices:
  - sources:
      - model: {M('a')}
        layer_range: [0, 2]
  - sources:
      - model: {M('b')}
        layer_range: [1, 3]
        parameters: {{scale: 0.5}}
  - sources:
      - model: {M('base')}
        layer_range: [2, 3]
dtype: float32
""",
    }



RECIPES = recipes(lambda n: f"{REL}/{n}")


def run_mergekit(recipes=RECIPES, fixtures=FIX, options=()):
    """Writes each recipe to FIXTURES/recipes/NAME.yml and mergekit's merge of it (with `options`) to FIXTURES/golden/NAME/."""
    exe = os.path.join(os.path.dirname(sys.executable), "mergekit-yaml")
    os.makedirs(os.path.join(fixtures, "recipes"), exist_ok=True)
    for name, text in recipes.items():
        recipe = os.path.join(fixtures, "recipes", f"{name}.yml")
        with open(recipe, "w") as f:
            f.write(text)
        out = os.path.join(fixtures, "golden", name)
        shutil.rmtree(out, ignore_errors=True)
        subprocess.run([exe, recipe, out, "--no-copy-tokenizer", "--no-write-model-card", "--quiet", "--random-seed", "0", *options],
                       check=True, cwd=ROOT)
        for extra in os.listdir(out):
            if not (extra.endswith(".safetensors") or extra in ("model.safetensors.index.json", "config.json")):
                os.remove(os.path.join(out, extra))
        print("golden", name)


if __name__ == "__main__":
    os.makedirs(os.path.join(FIX, "recipes"), exist_ok=True)
    models(np.random.default_rng(31337))
    run_mergekit()
