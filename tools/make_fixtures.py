#!/usr/bin/env python3
"""Golden safetensors fixtures for the Tensors tests, written by the reference library.

Run from the repository root with the tools venv (see tools/README.md):
    tools/.venv/bin/python tools/make_fixtures.py

Writes
  Tests/TensorsTests/Fixtures/golden/*.safetensors  F32, F16, BF16 and non-float files
  Tests/TensorsTests/Fixtures/golden/sharded/       two shards + model.safetensors.index.json
  Tests/TensorsTests/Fixtures/golden/golden.json    every tensor's values as float32 bit patterns
  Tests/TensorsTests/Fixtures/golden/rounding.json  float32 -> bfloat16 / float16 rounding cases
  zoo/tiny-llama/                                   a tiny Llama-layout model folder
  Tests/TensorsTests/Fixtures/tiny-llama.expected.json  the counts `amalgam inspect` must report

Versions pinned in tools/requirements.txt. BF16 values come from ml_dtypes, whose float32 ->
bfloat16 cast rounds to nearest even like torch's c10::BFloat16 (NaN excluded: torch makes every
NaN 0x7FC0, which the Swift tests check on their own).
"""
import json
import os
import shutil

import ml_dtypes
import numpy as np
from safetensors import TensorSpec, serialize
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN = os.path.join(ROOT, "Tests/TensorsTests/Fixtures/golden")
ZOO = os.path.join(ROOT, "zoo/tiny-llama")

TORCH_NAMES = {np.dtype(np.float32): "float32", np.dtype(np.float16): "float16",
               np.dtype(ml_dtypes.bfloat16): "bfloat16", np.dtype(np.int64): "int64",
               np.dtype(np.uint8): "uint8", np.dtype(np.bool_): "bool", np.dtype(np.float64): "float64",
               np.dtype(np.int32): "int32"}
HEADER_NAMES = {"float32": "F32", "float16": "F16", "bfloat16": "BF16", "int64": "I64", "uint8": "U8",
                "bool": "BOOL", "float64": "F64", "int32": "I32"}


def save(path, tensors, metadata=None):
    """Serialize with the safetensors library's own writer (raw TensorSpec API)."""
    arrays = {k: np.array(v, order="C", copy=True) for k, v in tensors.items()}
    specs = {k: TensorSpec(dtype=TORCH_NAMES[v.dtype], shape=list(v.shape), data_ptr=v.ctypes.data,
                           data_len=v.nbytes) for k, v in arrays.items()}
    data = bytes(serialize(specs, metadata=metadata))
    with open(path, "wb") as f:
        f.write(data)


def bits(array):
    return [int(b) for b in np.asarray(array, dtype=np.float32).reshape(-1).view(np.uint32)]


def float_tensors(rng, dtype):
    specials = np.array([0.0, -0.0, 1.0, -2.5, np.inf, -np.inf, np.nan, 1e-45, 1.17549435e-38,
                         3.4e38, 65504.0, 6.1e-5, 5.96e-8, 1e-3, -7.0], dtype=np.float32)
    return {
        "specials": specials.reshape(3, 5).astype(dtype),
        "matrix": (rng.standard_normal((17, 33)) * 3).astype(np.float32).astype(dtype),
        "vector": rng.uniform(-1, 1, 7).astype(np.float32).astype(dtype),
        "scalar": np.array(3.25, dtype=np.float32).astype(dtype),
        "empty": np.zeros((0, 4), dtype=np.float32).astype(dtype),
    }


def golden_files(rng):
    os.makedirs(GOLDEN, exist_ok=True)
    golden = {}
    np.seterr(over="ignore")  # 3.4e38 becomes inf in float16, as intended
    for file, dtype in [("f32.safetensors", np.float32), ("f16.safetensors", np.float16),
                        ("bf16.safetensors", ml_dtypes.bfloat16)]:
        tensors = float_tensors(rng, dtype)
        save(os.path.join(GOLDEN, file), tensors, metadata={"format": "pt", "fixture": file})
        golden[file] = {name: {"dtype": HEADER_NAMES[TORCH_NAMES[np.dtype(dtype)]], "shape": list(t.shape),
                               "bits": bits(t.astype(np.float32))} for name, t in tensors.items()}
    save(os.path.join(GOLDEN, "mixed.safetensors"), {
        "ids": np.arange(6, dtype=np.int64).reshape(2, 3),
        "mask": np.array([True, False, True]),
        "bytes": np.arange(5, dtype=np.uint8),
        "double": np.array([0.5, -1.5]),
        "half": np.array([1.5, 2.0], dtype=np.float16),
    })
    golden["mixed.safetensors"] = {"ids": {"dtype": "I64", "shape": [2, 3]}, "mask": {"dtype": "BOOL", "shape": [3]},
                                   "bytes": {"dtype": "U8", "shape": [5]}, "double": {"dtype": "F64", "shape": [2]},
                                   "half": {"dtype": "F16", "shape": [2], "bits": bits(np.array([1.5, 2.0]))}}

    # A sharded folder as transformers writes one: named shards + an index with total_size.
    sharded = os.path.join(GOLDEN, "sharded")
    shutil.rmtree(sharded, ignore_errors=True)
    os.makedirs(sharded)
    parts = [{"embed.weight": (rng.standard_normal((11, 8))).astype(ml_dtypes.bfloat16),
              "layers.0.weight": rng.standard_normal((8, 8)).astype(ml_dtypes.bfloat16)},
             {"layers.1.weight": rng.standard_normal((8, 8)).astype(ml_dtypes.bfloat16),
              "norm.weight": np.ones(8, dtype=np.float32)}]
    weight_map, total = {}, 0
    golden["sharded"] = {}
    for i, part in enumerate(parts):
        name = f"model-{i + 1:05d}-of-{len(parts):05d}.safetensors"
        save(os.path.join(sharded, name), part, metadata={"format": "pt"})
        for k, v in part.items():
            weight_map[k] = name
            total += v.nbytes
            golden["sharded"][k] = {"dtype": HEADER_NAMES[TORCH_NAMES[v.dtype]], "shape": list(v.shape),
                                    "bits": bits(v.astype(np.float32)), "shard": name}
    with open(os.path.join(sharded, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}, f, indent=2)

    with open(os.path.join(GOLDEN, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1)


def rounding_cases(rng):
    """float32 bit patterns and what bfloat16 / float16 casts make of them (NaN excluded)."""
    cases = set()
    cases.update(int(b) for b in rng.integers(0, 2**32, 8000, dtype=np.uint64))
    for hi in [0x0000, 0x0001, 0x3F80, 0x3F81, 0x7F7F, 0x7F7E, 0x0080, 0x8000, 0xBF80, 0xFF7F]:
        for lo in [0x0000, 0x7FFF, 0x8000, 0x8001, 0xFFFF]:
            cases.add(hi << 16 | lo)
    for value in [0.0, -0.0, np.inf, -np.inf, 65504.0, 65519.0, 65520.0, 1e-8, 5.96e-8, 2.98e-8, 6.1e-5]:
        cases.add(int(np.array(value, dtype=np.float32).view(np.uint32)))
    f32 = np.array(sorted(cases), dtype=np.uint32).view(np.float32)
    f32 = f32[~np.isnan(f32)]
    with np.errstate(over="ignore"):
        bf16 = f32.astype(ml_dtypes.bfloat16).view(np.uint16)
        f16 = f32.astype(np.float16).view(np.uint16)
    with open(os.path.join(GOLDEN, "rounding.json"), "w") as f:
        json.dump({"f32": [int(b) for b in f32.view(np.uint32)], "bf16": [int(b) for b in bf16],
                   "f16": [int(b) for b in f16]}, f)


def tiny_llama(rng):
    """A Llama-layout folder: GQA (4 heads, 2 KV heads), 2 layers, BF16, two shards + index."""
    shutil.rmtree(ZOO, ignore_errors=True)
    os.makedirs(ZOO)
    corpus = ["The quick brown fox jumps over the lazy dog.", "Amalgam merges fine-tuned models.",
              "2 + 2 = 4; 12 * 3 = 36.", "def add(a, b):\n    return a + b\n"] * 50
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=320, special_tokens=["<|begin_of_text|>", "<|end_of_text|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train_from_iterator(corpus, trainer)
    tokenizer.save(os.path.join(ZOO, "tokenizer.json"))
    vocab = tokenizer.get_vocab_size()
    hidden, inter, layers, heads, kv_heads = 64, 176, 2, 4, 2
    head_dim = hidden // heads
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": hidden,
        "intermediate_size": inter, "num_hidden_layers": layers, "num_attention_heads": heads,
        "num_key_value_heads": kv_heads, "head_dim": head_dim, "vocab_size": vocab,
        "max_position_embeddings": 256, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
        "hidden_act": "silu", "tie_word_embeddings": False, "bos_token_id": 0, "eos_token_id": 1,
        "torch_dtype": "bfloat16",
    }
    with open(os.path.join(ZOO, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(ZOO, "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>", "add_bos_token": False,
                   "model_max_length": 256, "tokenizer_class": "PreTrainedTokenizerFast"}, f, indent=2)

    def w(*shape, scale=0.05):
        return (rng.standard_normal(shape) * scale).astype(ml_dtypes.bfloat16)

    shards = [{"model.embed_tokens.weight": w(vocab, hidden)}, {}]
    for layer in range(layers):
        p = f"model.layers.{layer}."
        shard = shards[layer]
        shard[p + "input_layernorm.weight"] = np.ones(hidden, dtype=ml_dtypes.bfloat16)
        shard[p + "self_attn.q_proj.weight"] = w(heads * head_dim, hidden)
        shard[p + "self_attn.k_proj.weight"] = w(kv_heads * head_dim, hidden)
        shard[p + "self_attn.v_proj.weight"] = w(kv_heads * head_dim, hidden)
        shard[p + "self_attn.o_proj.weight"] = w(hidden, heads * head_dim)
        shard[p + "post_attention_layernorm.weight"] = np.ones(hidden, dtype=ml_dtypes.bfloat16)
        shard[p + "mlp.gate_proj.weight"] = w(inter, hidden)
        shard[p + "mlp.up_proj.weight"] = w(inter, hidden)
        shard[p + "mlp.down_proj.weight"] = w(hidden, inter)
    shards[1]["model.norm.weight"] = np.ones(hidden, dtype=ml_dtypes.bfloat16)
    shards[1]["lm_head.weight"] = w(vocab, hidden)

    weight_map, total, params, files = {}, 0, 0, []
    for i, shard in enumerate(shards):
        name = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        save(os.path.join(ZOO, name), shard, metadata={"format": "pt"})
        files.append(name)
        for k, v in shard.items():
            weight_map[k] = name
            total += v.nbytes
            params += v.size
    with open(os.path.join(ZOO, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}, f, indent=2)
    expected = {"model_type": "llama", "architecture": "LlamaForCausalLM", "layers": layers, "hidden_size": hidden,
                "vocab_size": vocab, "parameters": params, "tensor_count": len(weight_map),
                "bytes_on_disk": sum(os.path.getsize(os.path.join(ZOO, n)) for n in files), "shards": files,
                "dtypes": {"BF16": len(weight_map)}, "tokenizer_files": ["tokenizer.json", "tokenizer_config.json"]}
    with open(os.path.join(ROOT, "Tests/TensorsTests/Fixtures/tiny-llama.expected.json"), "w") as f:
        json.dump(expected, f, indent=2)


if __name__ == "__main__":
    rng = np.random.default_rng(20261123)
    golden_files(rng)
    rounding_cases(rng)
    tiny_llama(rng)
    print("fixtures written")
