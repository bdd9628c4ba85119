#!/usr/bin/env python3
"""Makes the family zoos: tiny gemma2 and qwen3 models for searches on other architectures than Llama.

Run from the repository root with the tools venv (torch + transformers, never needed to build or test
Amalgam):
    tools/.venv/bin/python tools/zoo/make_family_zoo.py

Writes zoo/gemma2-tiny/{base,a,b}/ and zoo/qwen3-tiny/{base,a,b}/: config.json and model.safetensors
(bfloat16) from transformers' own config and model classes, with the demo zoo's tokenizer
(zoo/base/tokenizer.json and tokenizer_config.json: byte-level BPE, 384 tokens) copied beside them.

The models are untrained. `base` is a seeded random model whose matrices are drawn wider than the
library's init (std 0.15), so that its logits are not flat and each layer matters; `a` and `b` are
the base plus seeded Gaussian noise in different directions: `a` mostly in the attention
projections, `b` mostly in the MLP (full noise there, a quarter elsewhere). Merges of them
therefore score differently on the demo tasks (fitness/demo.yaml), which is all the family searches
(search-spaces/gemma2-tiny.yaml, qwen3-tiny.yaml) and their resume tests need; they are not meant
to learn anything. Norm weights keep the library's init. Seeded: a rerun with the same torch and
transformers writes the same files.
"""
import os
import shutil

import torch
from transformers import Gemma2Config, Gemma2ForCausalLM, Qwen3Config, Qwen3ForCausalLM

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ZOO = os.path.join(ROOT, "zoo")
TOKENIZER = os.path.join(ZOO, "base")
# The demo tokenizer's specials: <|begin_of_text|> 0, <|end_of_text|> 1.
COMMON = dict(vocab_size=384, hidden_size=64, intermediate_size=128, num_hidden_layers=4, num_attention_heads=4,
              num_key_value_heads=2, head_dim=16, max_position_embeddings=64, bos_token_id=0, eos_token_id=1,
              pad_token_id=None, tie_word_embeddings=True)
BASE_STD = 0.15
NOISE = 0.5  # of BASE_STD, in the model's own direction; a quarter of it elsewhere


def families():
    # Sliding window 8 is shorter than the longer demo contexts, so the local layers really are local.
    gemma2 = Gemma2Config(**COMMON, rms_norm_eps=1e-6, query_pre_attn_scalar=16, sliding_window=8,
                          attn_logit_softcapping=50.0, final_logit_softcapping=30.0)
    assert gemma2.layer_types == ["sliding_attention", "full_attention"] * 2, gemma2.layer_types
    qwen3 = Qwen3Config(**COMMON, rms_norm_eps=1e-6, rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})
    return [("gemma2-tiny", Gemma2ForCausalLM, gemma2), ("qwen3-tiny", Qwen3ForCausalLM, qwen3)]


def is_matrix(name, p):
    return p.dim() == 2  # embeddings and projections; norms (1-D) keep their init


def perturbed(base, direction, seed):
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for name, p in base.state_dict().items():
        if is_matrix(name, p):
            scale = NOISE * BASE_STD * (1.0 if direction in name else 0.25)
            p = p + scale * torch.randn(p.shape, generator=generator, dtype=p.dtype)
        state[name] = p
    return state


def save(model, folder):
    if os.path.exists(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)
    model.to(torch.bfloat16).save_pretrained(folder, safe_serialization=True)
    os.chmod(os.path.join(folder, "model.safetensors"), 0o644)
    for extra in os.listdir(folder):
        if extra not in ("config.json", "model.safetensors"):
            os.remove(os.path.join(folder, extra))
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(os.path.join(TOKENIZER, name), os.path.join(folder, name))


def main():
    for index, (name, cls, config) in enumerate(families()):
        torch.manual_seed(1000 + index)
        base = cls(config).eval()
        with torch.no_grad():
            for parameter_name, p in base.named_parameters():
                if is_matrix(parameter_name, p):
                    p.normal_(0, BASE_STD)
        folder = os.path.join(ZOO, name)
        variants = {"a": perturbed(base, "self_attn", 2000 + index), "b": perturbed(base, "mlp", 3000 + index)}
        save(base, os.path.join(folder, "base"))
        for variant, state in variants.items():
            model = cls(config).eval()
            model.load_state_dict(state)
            save(model, os.path.join(folder, variant))
        sizes = {v: os.path.getsize(os.path.join(folder, v, "model.safetensors")) for v in ("base", "a", "b")}
        print(name, ", ".join(f"{v} {s / 1e6:.2f} MB" for v, s in sizes.items()))


if __name__ == "__main__":
    main()
