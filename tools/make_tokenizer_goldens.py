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
                 BOS by TemplateProcessing, Llama-2/Mistral's decoder sequence (also Phi-3-mini's)
  gemma          Gemma 2/3: normalizer Replace " " -> "▁" (no Prepend), no pre-tokenizer, BPE with
                 byte_fallback and fused <unk> over <pad> <eos> <bos> <unk> ..., <0x00>..<0xFF>;
                 added tokens: control tokens (<start_of_turn>, <end_of_turn>, images) special,
                 SentencePiece user-defined pieces (newline runs, "▁" runs, HTML tags) not;
                 <bos> by TemplateProcessing; decoder Replace "▁" -> " ", ByteFallback, Fuse
  qwen3          Qwen3: Qwen2's NFC + split regex + byte-level BPE, no BOS, with Qwen3's added tokens
                 (<|endoftext|>, <|im_start|>, ... special; <think>, <tool_call>, FIM ... not)
  phi4           Phi-4-mini: o200k Split regex (case-aware letter classes, digits in threes) +
                 ByteLevel(use_regex=False), no BOS, <|system|> <|user|> <|assistant|> <|end|> ...
                 (Phi-4 14B's cl100k regex is Llama-3's; Phi-3-mini is the sentencepiece style)
Writes Tests/InferenceTests/Fixtures/tokenizers/STYLE/{tokenizer.json,golden.jsonl} with, per
line, the ids and the decoded text; every line is also checked against transformers'
PreTrainedTokenizerFast when transformers is installed. The first four styles get the 2 024
shared lines; the family styles get the same lines plus lines of their own (added tokens inside
text, whitespace runs, scalars outside the training corpus), drawn from a separate seed so the
first four styles' files do not change.
"""
import json
import os
import random

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests/InferenceTests/Fixtures/tokenizers")

GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
LLAMA3_PATTERN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
QWEN2_PATTERN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""

# tiktoken's o200k_base (GPT-4o) pattern, as Phi-4-mini's tokenizer.json splits with it.
O200K_PATTERN = "|".join([
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""\p{N}{1,3}""",
    r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
    r"""\s*[\r\n]+""",
    r"""\s+(?!\S)""",
    r"""\s+""",
])

WORDS = ["the", "The", "model", "merge", "weights", "tokenizer", "isn't", "we'll", "THEY'RE", "I'M", "you've",
         "naïve", "café", "Zürich", "straße", "façade", "über", "niño", "Ωmega", "Привет", "мир", "καλημέρα",
         "日本語", "中文字符", "한국어", "العربية", "עברית", "हिन्दी", "ไทย", "e\u0301", "a\u0308\u0301", "ﬁ", "Ⅻ",
         "😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷", "∑", "√2", "≤", "→", "°C", "µs", "½", "x²", "₂"]
CODE = ["def f(x):\n    return x + 1", "for (int i = 0; i < n; ++i) { a[i] *= 2; }", "if x != None and y >= 3:",
        "let s = \"tab\\there\"", "SELECT * FROM t WHERE id = 42;", "#include <stdio.h>", "{\"key\": [1, 2.5e-3, null]}",
        "x => x ** 2 // comment", "fn main() -> Result<(), Box<dyn Error>> {", "$ ls -la | grep .swift"]
SPACES = [" ", "  ", "   ", "\t", "\n", "\r\n", " \n", "\n\n", "\t\t", "\u00a0", "\u3000", "\u2009", " \t \n"]
NUMBERS = ["0", "7", "42", "123", "2024", "3.14159", "1,000,000", "0x1F", "-17", "1e-6", "999999999", "12345678901234567890"]


def mixed_line(rng, most, kinds, separators):
    """One line of 1 to `most` parts, each made by the first of `kinds` (limit, make) whose limit
    exceeds a uniform draw, each followed by one of `separators`."""
    parts = []
    for _ in range(rng.randint(1, most)):
        kind = rng.random()
        parts.append(next(make for limit, make in kinds if kind < limit)())
        parts.append(rng.choice(separators))
    return "".join(parts)


def corpus(rng):
    kinds = [(0.45, lambda: rng.choice(WORDS)), (0.6, lambda: rng.choice(NUMBERS)), (0.7, lambda: rng.choice(CODE)),
             (0.85, lambda: rng.choice(".,;:!?-()[]'\"/@#%&*+=<>|~`^_")), (1.0, lambda: rng.choice(SPACES))]
    return [mixed_line(rng, 12, kinds, [" ", " ", " ", "", "  ", "\n"]) for _ in range(3000)]


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


def sentencepiece_vocab(first, trained, last=()):
    """A SentencePiece-ordered vocabulary: `first`, the 256 byte tokens, the pieces `trained`
    learned, then `last`; and its merges."""
    learned = json.loads(trained.to_str())["model"]
    vocab = {}
    for token in first:
        vocab[token] = len(vocab)
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    for token, _ in sorted(learned["vocab"].items(), key=lambda kv: kv[1]):
        if token not in vocab:
            vocab[token] = len(vocab)
    for token in last:
        vocab[token] = len(vocab)
    return vocab, [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in learned["merges"]]


def sentencepiece(rng, lines):
    # Train merges on ▁-joined words, then assemble a Llama-2-style vocabulary: <unk>, <s>, </s>,
    # the 256 byte tokens, then the learned pieces.
    pre = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    trained = train_bpe(pre, None, [], 900, [], lines)
    vocab, merges = sentencepiece_vocab(["<unk>", "<s>", "</s>"], trained)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.add_special_tokens(["<unk>", "<s>", "</s>"])
    tok.pre_tokenizer = pre
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", 1)])
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    return tok


# Gemma's SentencePiece model: control pieces first, then user-defined pieces (newline runs, "▁"
# runs, HTML tags; transformers' SpmConverter adds both kinds as added tokens with
# normalized=False, control ones special), the 256 byte pieces, the learned pieces; Gemma 3 adds
# image tokens at the end.
GEMMA_CONTROL = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "[multimodal]"] + [f"<unused{i}>" for i in range(4)] + [
    "<start_of_turn>", "<end_of_turn>"]
GEMMA_USER_DEFINED = (["\n" * n for n in range(1, 32)] + ["▁" * n for n in range(2, 32)]
                      + ["<table>", "<caption>", "<thead>", "<tbody>", "<tr>", "<th>", "<td>", "<h1>", "<h2>", "<b>", "<i>"])
GEMMA_BYTE_FALLBACK = ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷", "ไทย", "العربية", "עברית", "हिन्दी"]
GEMMA3_IMAGE = ["<start_of_image>", "<end_of_image>", "<image_soft_token>"]
QWEN3_SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>",
                 "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>",
                 "<|image_pad|>", "<|video_pad|>"]
QWEN3_PLAIN = ["<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>",
               "<|file_sep|>", "<tool_response>", "</tool_response>", "<think>", "</think>"]
PHI4_SPECIAL = ["<|endoftext|>", "<|endofprompt|>", "<|assistant|>", "<|end|>", "<|user|>", "<|system|>", "<|tool|>", "<|/tool|>",
                "<|tool_call|>", "<|/tool_call|>", "<|tool_response|>", "<|tag|>"]


def gemma(lines):
    # SentencePiece pieces do not cross a "▁" word start (whitespace runs are pieces of their own);
    # training splits that way, but the tokenizer itself has no pre-tokenizer, as Gemma's.
    train_split = pre_tokenizers.Split(Regex("▁[^▁]+|[^▁]+|▁+(?=▁[^▁])|▁+"), behavior="isolated")
    # Scripts and emoji left out of training reach the model only through byte fallback. (Not
    # BpeTrainer's limit_alphabet: it breaks ties between equally frequent scalars at random.)
    unseen = {ord(c): None for c in "".join(GEMMA_BYTE_FALLBACK)}
    trainer_tok = Tokenizer(models.BPE())
    trainer_tok.normalizer = normalizers.Replace(" ", "▁")
    trainer_tok.pre_tokenizer = train_split
    trainer_tok.train_from_iterator([line.translate(unseen) for line in lines],
                                    trainers.BpeTrainer(vocab_size=1400, show_progress=False, initial_alphabet=[]))
    vocab, merges = sentencepiece_vocab(GEMMA_CONTROL + GEMMA_USER_DEFINED, trainer_tok, GEMMA3_IMAGE)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True, dropout=None))
    tok.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in GEMMA_CONTROL])
    tok.add_tokens([AddedToken(t, normalized=False, special=False) for t in GEMMA_USER_DEFINED])
    tok.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in GEMMA3_IMAGE])
    tok.normalizer = normalizers.Replace(" ", "▁")
    tok.post_processor = processors.TemplateProcessing(single="<bos> $A", pair="<bos>:0 $A:0 <bos>:1 $B:1", special_tokens=[("<bos>", 2)])
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()])
    return tok


def byte_level_family(pattern, normalizer, special, plain, lines):
    # The added tokens come after the learned vocabulary, as in Qwen's and Phi's files.
    pre = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
                                   pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)])
    tok = train_bpe(pre, normalizer, pre_tokenizers.ByteLevel.alphabet(), 1400, [], lines)
    tok.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in special])
    tok.add_tokens([AddedToken(t, normalized=False, special=False) for t in plain])
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return tok


# Scalars outside the training corpus, from long-assigned blocks (so Oniguruma's and Swift's
# Unicode property tables agree on them): Latin Extended, Greek, Cyrillic, Armenian, Devanagari,
# Hangul syllables, CJK, math operators, box drawing, private use, emoji, mathematical letters.
UNSEEN_RANGES = [(0x0100, 0x024F), (0x0370, 0x03FF), (0x0400, 0x04FF), (0x0531, 0x0556), (0x0905, 0x0939), (0xAC00, 0xD7A3),
                 (0x4E00, 0x9FA5), (0x2200, 0x22FF), (0x2500, 0x257F), (0xE000, 0xF8FF), (0x1F300, 0x1F5FF),
                 (0x1F900, 0x1F9A2), (0x1D400, 0x1D44F), (0x0001, 0x001F)]
RUNS = [" ", "\t", "\n", "\r\n"]


def family_lines(added, rng):
    """Lines of one family: its added tokens inside text, whitespace/tab/newline runs, unseen scalars."""
    words = corpus(rng)[:400]

    def run():
        return "".join(rng.choice(RUNS) for _ in range(rng.randint(1, 40)))

    def unseen():
        low, high = rng.choice(UNSEEN_RANGES)
        return "".join(chr(rng.randint(low, high)) for _ in range(rng.randint(1, 6)))

    kinds = [(0.3, lambda: rng.choice(words)[:40]), (0.5, lambda: rng.choice(added)), (0.65, run), (0.8, unseen),
             (0.9, lambda: rng.choice(WORDS[33:])),  # emoji and symbols
             (1.0, lambda: rng.choice(["日本語", "中文字符", "한국어", "漢字かな交じり文", "ｶﾀｶﾅ"]))]
    lines = [mixed_line(rng, 10, kinds, ["", "", " ", "\n"]) for _ in range(240)]
    first, second = added[0], added[1]
    lines += [first, first + second, " " + first + " ", first[:-1], first[1:], "<" + first + ">", first + first[:-1],
              " " * 40, "\t" * 9, "\n" * 35, " \t\n" * 7, "▁▁▁ ▁", "x" + "\n" * 40 + "y", "\r\r\n\n\r", "a\u200db\ufeffc",
              "\U0010FFFD\U000E0001", "'ſ '\u212a 'İ ſ'S", "HelloWorld ÉCOLE école Ωmega ǅemal McDonald's DON'T", "e\u0301\u0302x\u0308",
              "path/to/file//x\n/\n", "１２３４５ ٣٤٥ ⅧⅨ 12345678"]
    return lines


def check_gemma_split(tok, lines):
    """transformers' GemmaConverter writes pre_tokenizer Split(" ", MergedWithPrevious) where the
    released Gemma 2/3 files (as we know them) have null; after the normalizer no " " is left, so
    both give the same ids."""
    variant = Tokenizer.from_str(tok.to_str())
    variant.pre_tokenizer = pre_tokenizers.Split(" ", behavior="merged_with_previous")
    for text in lines:
        assert variant.encode(text).ids == tok.encode(text).ids, text


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
        "gpt2": (byte_level("gpt2", None, None, None, rng, train), lines),
        "llama3": (byte_level("llama3", LLAMA3_PATTERN, None, "<|begin_of_text|>", rng, train), lines),
        "qwen2": (byte_level("qwen2", QWEN2_PATTERN, normalizers.NFC(), None, rng, train), lines),
        "sentencepiece": (sentencepiece(rng, train), lines),
        "gemma": (gemma(train), lines + family_lines(GEMMA_CONTROL[6:] + GEMMA3_IMAGE[:2] + GEMMA_CONTROL[:6] + GEMMA_USER_DEFINED,
                                                     random.Random(2))),
        "qwen3": (byte_level_family(QWEN2_PATTERN, normalizers.NFC(), QWEN3_SPECIAL, QWEN3_PLAIN, train),
                  lines + family_lines(QWEN3_PLAIN[10:] + QWEN3_SPECIAL + QWEN3_PLAIN[:10], random.Random(3))),
        "phi4": (byte_level_family(O200K_PATTERN, None, PHI4_SPECIAL, [], train), lines + family_lines(PHI4_SPECIAL[2:] + PHI4_SPECIAL[:2],
                                                                                                    random.Random(4))),
    }
    check_gemma_split(styles["gemma"][0], styles["gemma"][1])
    for name, (tok, style_lines) in styles.items():
        folder = os.path.join(OUT, name)
        os.makedirs(folder, exist_ok=True)
        tok.save(os.path.join(folder, "tokenizer.json"))
        with open(os.path.join(folder, "golden.jsonl"), "w", encoding="utf-8") as f:
            for text in style_lines:
                ids = tok.encode(text).ids
                f.write(json.dumps({"text": text, "ids": ids, "decoded": tok.decode(ids, skip_special_tokens=False)}, ensure_ascii=False) + "\n")
        print(name, len(style_lines), "lines,", tok.get_vocab_size(), "tokens;", check_with_transformers(tok, style_lines))

if __name__ == "__main__":
    main()
