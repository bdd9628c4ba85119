#!/usr/bin/env python3
"""Golden logits from transformers, for the Inference tests.

Run from the repository root with the tools venv (transformers + torch, tools/requirements-merge.txt):
    tools/.venv/bin/python tools/make_model_goldens.py

Writes Tests/InferenceTests/Fixtures/models/NAME/ (config.json + model.safetensors, random
weights, float32) and NAME/golden.json (prompts and every position's logits) for:
  llama        llama3-style rope_scaling, rope_theta at the top level (transformers 4 layout)
  mistral      sliding_window 6, a 20-token prompt (checked to differ from full attention)
  qwen2        q/k/v biases, tied embeddings, transformers 5's rope_parameters layout
"""
import json
import os

import torch
from transformers import (LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM, Qwen2Config,
                          Qwen2ForCausalLM)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests/InferenceTests/Fixtures/models")
COMMON = dict(vocab_size=96, hidden_size=32, intermediate_size=56, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, max_position_embeddings=128, rms_norm_eps=1e-5)
PROMPTS = [[1, 5, 9, 33, 2, 71, 70, 12], [4], list(range(10, 30)), [95, 0, 48, 48, 48, 17, 60, 3, 88, 21, 7, 7]]


def build(name, cls, config):
    torch.manual_seed(sum(map(ord, name)))
    model = cls(config).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.3)  # larger than the init, so that layers matter and errors show
    return model


def logits(model, prompt):
    with torch.no_grad():
        return model(torch.tensor([prompt])).logits[0].float()


def save(name, model, edit=None):
    folder = os.path.join(OUT, name)
    os.makedirs(folder, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    path = os.path.join(folder, "config.json")
    with open(path) as f:
        config = json.load(f)
    if edit:
        edit(config)
    with open(path, "w") as f:
        json.dump(config, f, indent=2)
    golden = [{"tokens": p, "logits": [[round(float(v), 7) for v in row] for row in logits(model, p)]} for p in PROMPTS]
    with open(os.path.join(folder, "golden.json"), "w") as f:
        json.dump(golden, f)
    for extra in os.listdir(folder):
        if extra not in ("config.json", "model.safetensors", "golden.json"):
            os.remove(os.path.join(folder, extra))


def top_level_rope(config):
    """Rewrite transformers 5's rope_parameters into the older top-level rope_theta + rope_scaling."""
    params = config.pop("rope_parameters")
    config["rope_theta"] = params.pop("rope_theta")
    if params.get("rope_type", "default") != "default":
        config["rope_scaling"] = params


def main():
    llama = build("llama", LlamaForCausalLM, LlamaConfig(
        **COMMON, tie_word_embeddings=False,
        rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
                         "high_freq_factor": 4.0, "original_max_position_embeddings": 16}))
    save("llama", llama, top_level_rope)

    mistral = build("mistral", MistralForCausalLM, MistralConfig(**COMMON, sliding_window=6, tie_word_embeddings=False,
                                                                 rope_parameters={"rope_type": "default", "rope_theta": 10000.0}))
    full = MistralForCausalLM(MistralConfig(**COMMON, sliding_window=None, tie_word_embeddings=False,
                                            rope_parameters={"rope_type": "default", "rope_theta": 10000.0})).eval()
    full.load_state_dict(mistral.state_dict())
    long = PROMPTS[2]
    assert len(long) > 6
    difference = (logits(mistral, long) - logits(full, long)).abs().max().item()
    assert difference > 1e-3, f"the sliding window changed nothing ({difference})"
    print("mistral: sliding window changes the long prompt's logits by up to", difference)
    save("mistral", mistral)

    qwen2 = build("qwen2", Qwen2ForCausalLM, Qwen2Config(**COMMON, tie_word_embeddings=True,
                                                       rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}))
    save("qwen2", qwen2)
    for name in ("llama", "mistral", "qwen2"):
        print(name, json.load(open(os.path.join(OUT, name, "config.json"))))


if __name__ == "__main__":
    main()
