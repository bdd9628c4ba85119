#!/usr/bin/env python3
"""Golden logits from transformers, for the Inference tests.

Run from the repository root with the tools venv (transformers + torch, tools/requirements-merge.txt):
    tools/.venv/bin/python tools/make_model_goldens.py

Writes Tests/InferenceTests/Fixtures/models/NAME/ (config.json + model.safetensors, random
weights, float32) and NAME/golden.json (prompts and every position's logits) for:
  llama        llama3-style rope_scaling, rope_theta at the top level (transformers 4 layout)
  mistral      sliding_window 6, a 20-token prompt (checked to differ from full attention)
  qwen2        q/k/v biases, tied embeddings, transformers 5's rope_parameters layout
  qwen3        per-head q/k norms, no biases, sliding window 6 on layers >= max_window_layers 1
  gemma2       sqrt(hidden) embedding scale, (1 + w) sandwich norms, soft-capped scores and logits,
               query_pre_attn_scalar 24, alternating sliding window 6, GELU-tanh, tied
  gemma3_text  gemma2 + per-head q/k norms, local/global rope bases, linear scaling on global layers,
               sliding_window_pattern 2; config written in the older (transformers 4) layout
  olmo2        post-sublayer norms, q/k norms over the whole projection
  phi3         fused qkv_proj and gate_up_proj, partial_rotary_factor 0.75
  phi3-longrope  as phi3 with longrope scaling (original context 16: the 20-token prompt takes the
               long factors), config in Phi-3's own layout (top-level rope_scaling "longrope")
Every config.json rewritten into an older layout is loaded back with transformers and checked to
give the same logits as the model it was saved from. Attention is the eager implementation (the
soft-capping reference) for the families added in wave 2; llama, mistral and qwen2 keep the
default (sdpa) their goldens were first made with (the two differ by < 1e-6).
"""
import json
import os

import torch
from transformers import (AutoModelForCausalLM, Gemma2Config, Gemma2ForCausalLM, Gemma3ForCausalLM, Gemma3TextConfig,
                          LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM, Olmo2Config,
                          Olmo2ForCausalLM, Phi3Config, Phi3ForCausalLM, Qwen2Config, Qwen2ForCausalLM, Qwen3Config,
                          Qwen3ForCausalLM)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests/InferenceTests/Fixtures/models")
COMMON = dict(vocab_size=96, hidden_size=32, intermediate_size=56, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, max_position_embeddings=128, rms_norm_eps=1e-5)
PROMPTS = [[1, 5, 9, 33, 2, 71, 70, 12], [4], list(range(10, 30)), [95, 0, 48, 48, 48, 17, 60, 3, 88, 21, 7, 7]]


def build(name, cls, config, eager=True):
    torch.manual_seed(sum(map(ord, name)))
    model = cls(config).eval()
    if eager:  # llama, mistral and qwen2's goldens were made with the default (sdpa); kept as they are
        model.set_attn_implementation("eager")
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
    if edit:
        reloaded = AutoModelForCausalLM.from_pretrained(folder, attn_implementation=model.config._attn_implementation).eval()
        for p in PROMPTS:
            difference = (logits(reloaded, p) - logits(model, p)).abs().max().item()
            assert difference == 0, f"{name}: the rewritten config.json changes the logits by {difference}"


def top_level_rope(config):
    """Rewrite transformers 5's rope_parameters into the older top-level rope_theta + rope_scaling."""
    params = config.pop("rope_parameters")
    config["rope_theta"] = params.pop("rope_theta")
    if params.get("rope_type", "default") != "default":
        config["rope_scaling"] = params


def main():
    llama = build("llama", LlamaForCausalLM, eager=False, config=LlamaConfig(
        **COMMON, tie_word_embeddings=False,
        rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
                         "high_freq_factor": 4.0, "original_max_position_embeddings": 16}))
    save("llama", llama, top_level_rope)

    mistral = build("mistral", MistralForCausalLM, eager=False, config=MistralConfig(**COMMON, sliding_window=6, tie_word_embeddings=False,
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

    qwen2 = build("qwen2", Qwen2ForCausalLM, eager=False, config=Qwen2Config(**COMMON, tie_word_embeddings=True,
                                                       rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}))
    save("qwen2", qwen2)
    qwen3 = build("qwen3", Qwen3ForCausalLM, Qwen3Config(**COMMON, head_dim=8, tie_word_embeddings=False,
                                                       use_sliding_window=True, sliding_window=6, max_window_layers=1,
                                                       rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}))
    assert qwen3.config.layer_types == ["full_attention", "sliding_attention"], qwen3.config.layer_types
    save("qwen3", qwen3)

    gemma = dict(COMMON, rms_norm_eps=1e-6, head_dim=8, query_pre_attn_scalar=24, sliding_window=6, pad_token_id=0,
                 eos_token_id=1, bos_token_id=2)
    gemma2 = build("gemma2", Gemma2ForCausalLM, Gemma2Config(**gemma, attn_logit_softcapping=50.0, final_logit_softcapping=30.0))
    assert gemma2.config.layer_types == ["sliding_attention", "full_attention"], gemma2.config.layer_types
    save("gemma2", gemma2)

    gemma3 = build("gemma3_text", Gemma3ForCausalLM, Gemma3TextConfig(
        **dict(gemma, num_hidden_layers=3),
        layer_types=["sliding_attention", "full_attention", "sliding_attention"],
        rope_parameters={"full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1000000.0},
                         "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}}))

    def gemma3_layout(config):
        """Gemma 3's config.json as the Hub ships it: sliding_window_pattern, rope_theta,
        rope_local_base_freq and rope_scaling instead of layer_types and rope_parameters."""
        params = config.pop("rope_parameters")
        config.pop("layer_types")
        config["sliding_window_pattern"] = 2
        config["rope_theta"] = params["full_attention"]["rope_theta"]
        config["rope_local_base_freq"] = params["sliding_attention"]["rope_theta"]
        config["rope_scaling"] = {"rope_type": "linear", "factor": params["full_attention"]["factor"]}
    save("gemma3_text", gemma3, gemma3_layout)

    olmo2 = build("olmo2", Olmo2ForCausalLM, Olmo2Config(**COMMON, tie_word_embeddings=False, pad_token_id=0,
                                                        eos_token_id=1, bos_token_id=None,
                                                        rope_parameters={"rope_type": "default", "rope_theta": 500000.0}))
    save("olmo2", olmo2)

    phi = dict(COMMON, tie_word_embeddings=False, pad_token_id=0, eos_token_id=1, bos_token_id=2, max_position_embeddings=64)
    phi3 = build("phi3", Phi3ForCausalLM, Phi3Config(**phi, rope_parameters={
        "rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": 0.75}))
    save("phi3", phi3)

    longrope = build("phi3-longrope", Phi3ForCausalLM, Phi3Config(**phi, original_max_position_embeddings=16, rope_parameters={
        "rope_type": "longrope", "rope_theta": 10000.0, "partial_rotary_factor": 0.75, "original_max_position_embeddings": 16,
        "short_factor": [1.0, 1.25, 1.5], "long_factor": [2.0, 3.0, 5.0]}))

    def phi3_layout(config):
        """Phi-3's own config.json layout: top-level rope_scaling (type longrope), rope_theta,
        partial_rotary_factor and original_max_position_embeddings."""
        params = config.pop("rope_parameters")
        config["rope_theta"] = params.pop("rope_theta")
        config["partial_rotary_factor"] = params.pop("partial_rotary_factor")
        config["original_max_position_embeddings"] = params.pop("original_max_position_embeddings")
        config["rope_scaling"] = {"type": "longrope", "short_factor": params["short_factor"], "long_factor": params["long_factor"]}
    save("phi3-longrope", longrope, phi3_layout)

    for name in ("llama", "mistral", "qwen2", "qwen3", "gemma2", "gemma3_text", "olmo2", "phi3", "phi3-longrope"):
        print(name, json.load(open(os.path.join(OUT, name, "config.json"))))


if __name__ == "__main__":
    main()
