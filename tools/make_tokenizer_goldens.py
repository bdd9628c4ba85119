#!/usr/bin/env python3
"""Golden token ids from the Hugging Face `tokenizers` library, for the Inference tests.

Run from the repository root with the tools venv (versions pinned in tools/requirements.txt):
    tools/.venv/bin/python tools/make_tokenizer_goldens.py

Real models' tokenizer files cannot be downloaded here, so each style is rebuilt with the library
the way the real ones are configured, trained on a small corpus:
  gpt2           ByteLevel pre-tokenizer (GPT-2 regex), byte-level BPE, no BOS
  llama3         Split (Llama-3 regex, Isolated) + ByteLevel(use_regex=False), ignore_merges, BOS
  qwen2          NFC + Split (Qwen2 regex: single digits) + ByteLevel(use_regex=False), no BOS
  sentencepiece  Metaspace(prepend first, no split) + BPE with byte_fallback and fused <unk>,
                 BOS by TemplateProcessing, Llama-2/Mistral's decoder sequence
Writes Tests/InferenceTests/Fixtures/tokenizers/STYLE/{tokenizer.json,golden.jsonl} with, per
line, the ids and the decoded text; every line is also checked against transformers'
PreTrainedTokenizerFast when transformers is installed.
"""
import json
import os
import random

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests/InferenceTests/Fixtures/tokenizers")

GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
LLAMA3_PATTERN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
QWEN2_PATTERN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""

WORDS = ["the", "The", "model", "merge", "weights", "tokenizer", "isn't", "we'll", "THEY'RE", "I'M", "you've",
         "naïve", "café", "Zürich", "straße", "façade", "über", "niño", "Ωmega", "Привет", "мир", "καλημέρα",
         "日本語", "中文字符", "한국어", "العربية", "עברית", "हिन्दी", "ไทย", "e\u0301", "a\u0308\u0301", "ﬁ", "Ⅻ",
         "😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷", "∑", "√2", "≤", "→", "°C", "µs", "½", "x²", "₂"]
CODE = ["def f(x):\n    return x + 1", "for (int i = 0; i < n; ++i) { a[i] *= 2; }", "if x != None and y >= 3:",
        "let s = \"tab\\there\"", "SELECT * FROM t WHERE id = 42;", "#include <stdio.h>", "{\"key\": [1, 2.5e-3, null]}",
        "x => x ** 2 // comment", "fn main() -> Result<(), Box<dyn Error>> {", "$ ls -la | grep .swift"]
SPACES = [" ", "  ", "   ", "\t", "\n", "\r\n", " \n", "\n\n", "\t\t", "\u00a0", "\u3000", "\u2009", " \t \n"]
NUMBERS = ["0", "7", "42", "123", "2024", "3.14159", "1,000,000", "0x1F", "-17", "1e-6", "999999999", "12345678901234567890"]


def corpus(rng):
    lines = []
    for _ in range(3000):
        parts = []
        for _ in range(rng.randint(1, 12)):
            kind = rng.random()
            if kind < 0.45:
                parts.append(rng.choice(WORDS))
            elif kind < 0.6:
                parts.append(rng.choice(NUMBERS))
            elif kind < 0.7:
                parts.append(rng.choice(CODE))
            elif kind < 0.85:
                parts.append(rng.choice(".,;:!?-()[]'\"/@#%&*+=<>|~`^_"))
            else:
                parts.append(rng.choice(SPACES))
            parts.append(rng.choice([" ", " ", " ", "", "  ", "\n"]))
        lines.append("".join(parts))
    return lines


def golden_lines(rng):
    lines = corpus(rng)[:2000]
    lines += ["", " ", "\n", "   leading and trailing   ", "a", "'s", "'S", "<s>", "<0x41>", "<unk>", "▁", "a▁b",
              "<|begin_of_text|>hello", "x<|end_of_text|>y", "<|endoftext|>", "😀" * 5, "1234567", "a" * 300,
              "\u0000\u0001\u001f", "\ud7ff\ue000\uffff", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𐍈", "Ǆǅǆ", "İstanbul", "ǰ\u0323"]
    return lines


def train_bpe(pre_tokenizer, normalizer, alphabet, vocab_size, special, lines, **bpe):
    tok = Tokenizer(models.BPE(**bpe))
    if normalizer is not None:
        tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizer
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=special, initial_alphabet=alphabet, show_progress=False)
    tok.train_from_iterator(lines, trainer)
    return tok


def byte_level(name, pattern, normalizer, bos, rng, lines):
    if pattern is None:
        pre = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    else:
        pre = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
                                       pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)])
    specials = {"gpt2": ["<|endoftext|>"], "llama3": ["<|begin_of_text|>", "<|end_of_text|>"],
                "qwen2": ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]}[name]
    tok = train_bpe(pre, normalizer, pre_tokenizers.ByteLevel.alphabet(), 1200, specials, lines)
    if name == "llama3":
        # Llama-3 sets ignore_merges: a word already in the vocabulary is one token.
        data = json.loads(tok.to_str())
        data["model"]["ignore_merges"] = True
        tok = Tokenizer.from_str(json.dumps(data))
    tok.decoder = decoders.ByteLevel()
    if bos:
        tok.post_processor = processors.Sequence([
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(single=f"{bos} $A", pair=f"{bos} $A {bos} $B",
                                          special_tokens=[(bos, tok.token_to_id(bos))])])
    else:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return tok


def sentencepiece(rng, lines):
    # Train merges on ▁-joined words, then assemble a Llama-2-style vocabulary: <unk>, <s>, </s>,
    # the 256 byte tokens, then the learned pieces.
    pre = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    trained = train_bpe(pre, None, [], 900, [], lines)
    learned = json.loads(trained.to_str())["model"]
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    for token, _ in sorted(learned["vocab"].items(), key=lambda kv: kv[1]):
        if token not in vocab:
            vocab[token] = len(vocab)
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in learned["merges"]]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.add_special_tokens(["<unk>", "<s>", "</s>"])
    tok.pre_tokenizer = pre
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", 1)])
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    return tok


def check_with_transformers(tok, lines):
    try:
        from transformers import PreTrainedTokenizerFast
    except ImportError:
        return "transformers not installed"
    fast = PreTrainedTokenizerFast(tokenizer_object=tok)
    for text in lines:
        assert fast(text)["input_ids"] == tok.encode(text).ids, text
    return "transformers agrees"


def main():
    rng = random.Random(20261123)
    train = corpus(random.Random(7))
    lines = golden_lines(rng)
    styles = {
        "gpt2": byte_level("gpt2", None, None, None, rng, train),
        "llama3": byte_level("llama3", LLAMA3_PATTERN, None, "<|begin_of_text|>", rng, train),
        "qwen2": byte_level("qwen2", QWEN2_PATTERN, normalizers.NFC(), None, rng, train),
        "sentencepiece": sentencepiece(rng, train),
    }
    for name, tok in styles.items():
        folder = os.path.join(OUT, name)
        os.makedirs(folder, exist_ok=True)
        tok.save(os.path.join(folder, "tokenizer.json"))
        with open(os.path.join(folder, "golden.jsonl"), "w", encoding="utf-8") as f:
            for text in lines:
                ids = tok.encode(text).ids
                f.write(json.dumps({"text": text, "ids": ids, "decoded": tok.decode(ids, skip_special_tokens=False)}, ensure_ascii=False) + "\n")
        print(name, len(lines), "lines,", tok.get_vocab_size(), "tokens;", check_with_transformers(tok, lines))


if __name__ == "__main__":
    main()
