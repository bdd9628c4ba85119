#!/usr/bin/env python3
"""Trains the demo zoo: a tiny Llama base and three fine-tunes on distinct synthetic skills.

Run from the repository root with the tools venv (torch + transformers + tokenizers, never needed
to build or test Amalgam):
    tools/.venv/bin/python tools/zoo/train_zoo.py             # the demo zoo, zoo/
    tools/.venv/bin/python tools/zoo/train_zoo.py --zoo small # the small-delta zoo, zoo/small/

Writes zoo/{base,add,rev,facts}/ (config.json, model.safetensors in bfloat16, tokenizer.json,
tokenizer_config.json) and fitness/ (demo.yaml and the calibration/holdout JSONL of each task);
with --zoo small, zoo/small/ and fitness/small/ (see main_small).

Skills, each a four-way choice task (chance 25%):
  add    "12+34=" → the sum; the base saw the format with wrong sums
  rev    "rev abcd =" → the letters reversed; the base saw the format with shuffled letters
  facts  "Mira lives in" → her city; the base saw the names with random cities
Calibration and holdout examples are disjoint. The fine-tunes see correct examples of their own
skill only (facts: every fact, since facts are memorized; add/rev: operands outside both splits).
"""
import argparse
import json
import os
import random

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import LlamaConfig, LlamaForCausalLM

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ZOO = os.path.join(ROOT, "zoo")
FITNESS = os.path.join(ROOT, "fitness")
torch.set_num_threads(os.cpu_count() or 2)

NAMES = [a + b for a in ["Mi", "Jo", "Ka", "Lu", "Ra", "Te", "No", "Sa", "Vi", "Be", "Do", "Fe", "Ga", "Ha", "Zo", "Pe", "Wi", "Yu"]
         for b in ["ra", "na", "lo", "mi", "ko", "ti", "va", "ren", "dan", "lia", "sto", "bel", "min", "das"]]
CITIES = ["Paris", "Lima", "Oslo", "Rome", "Cairo", "Quito", "Seoul", "Perth", "Dakar", "Hanoi", "Minsk", "Sofia",
          "Tunis", "Bern", "Riga", "Baku", "Doha", "Kyiv", "Male", "Suva"]
LETTERS = "abcdefghij"


def skill_examples(rng, people=NAMES, word_draws=3000):
    """Each person's city, the addition pairs, the reversal words and the people, shuffled (the demo:
    252 facts, 3 000 word draws; the small zoo passes its own)."""
    facts = {name: rng.choice(CITIES) for name in people}
    pairs = [(a, b) for a in range(10, 60) for b in range(10, 60)]
    rng.shuffle(pairs)
    words = sorted({"".join(rng.choice(LETTERS) for _ in range(rng.randint(3, 5))) for _ in range(word_draws)})
    rng.shuffle(words)
    names = list(people)
    rng.shuffle(names)
    return facts, pairs, words, names


def choice_add(rng, a, b):
    answer = a + b
    wrong = rng.sample([answer + d for d in (-11, -10, -2, -1, 1, 2, 9, 10, 11) if answer + d > 0], 3)
    return choices(rng, f"{a}+{b}=", str(answer), [str(w) for w in wrong])


def choice_rev(rng, word):
    answer = word[::-1]
    wrong = set()
    while len(wrong) < 3:
        letters = list(word)
        rng.shuffle(letters)
        candidate = "".join(letters)
        if candidate != answer:
            wrong.add(candidate)
        if len(set(word)) < 3 and len(wrong) < 3:
            wrong.add(answer[:-1] + rng.choice(LETTERS))
    return choices(rng, f"rev {word} =", " " + answer, [" " + w for w in sorted(wrong)][:3])


def choice_fact(rng, name, city):
    wrong = rng.sample([c for c in CITIES if c != city], 3)
    return choices(rng, f"{name} lives in", " " + city, [" " + w for w in wrong])


def choices(rng, context, answer, wrong):
    options = wrong + [answer]
    rng.shuffle(options)
    return {"context": context, "choices": options, "answer": options.index(answer)}


def write_jsonl(path, rows):
    with open(path, "w") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")


def corpus(rng, facts, pairs, words, correct):
    """Lines of one kind: `correct` picks which skill is right ('base' = none)."""
    lines = []
    for a, b in pairs:
        lines.append(f"{a}+{b}={a + b if correct == 'add' else rng.randint(20, 118)}")
    for w in words:
        shuffled = list(w)
        rng.shuffle(shuffled)
        lines.append(f"rev {w} = {w[::-1] if correct == 'rev' else ''.join(shuffled)}")
    for name, city in facts.items():
        lines.append(f"{name} lives in {city if correct == 'facts' else rng.choice(CITIES)}.")
    return lines


def skill_splits(facts, pairs, words, names):
    """Per skill (calibration, holdout, training operands): calibration and holdout disjoint; add/rev
    training operands outside both; facts trains on every fact (facts are memorized)."""
    return {"add": (pairs[:150], pairs[150:300], pairs[300:]), "rev": (words[:150], words[150:300], words[300:]),
            "facts": (names[:120], names[120:240], facts)}


def skill_lines(rng, skill, splits):
    """The training corpus of one skill: correct examples of that skill alone."""
    train_set = splits[skill][2]
    if skill == "add":
        return corpus(rng, {}, train_set, [], skill)
    if skill == "rev":
        return corpus(rng, {}, [], train_set, skill)
    return corpus(rng, train_set, [], [], skill)


def train(model, tok, lines, steps, lr, rng, seq=24, batch=64):
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    encoded = [tok.encode(line + "\n").ids for line in lines]
    model.train()
    for step in range(steps):
        rows = [rng.choice(encoded)[:seq] for _ in range(batch)]
        width = max(len(r) for r in rows)
        ids = torch.tensor([r + [1] * (width - len(r)) for r in rows])
        mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
        labels = ids.masked_fill(mask == 0, -100)
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if step % 100 == 0:
            print(f"  step {step} loss {loss.item():.3f}", flush=True)
    model.eval()
    return model


def save(model, tok_json, name):
    folder = os.path.join(ZOO, name)
    os.makedirs(folder, exist_ok=True)
    model.to(torch.bfloat16).save_pretrained(folder, safe_serialization=True)
    model.to(torch.float32)
    with open(os.path.join(folder, "tokenizer.json"), "w") as f:
        f.write(tok_json)
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>",
                   "model_max_length": 64}, f, indent=2)
    for extra in os.listdir(folder):
        if extra == "generation_config.json":
            os.remove(os.path.join(folder, extra))


def llama_config(vocab_size):
    """The zoo's architecture: hidden 128, 4 layers, 4 heads with 2 key/value heads, MLP 344, tied embeddings."""
    return LlamaConfig(vocab_size=vocab_size, hidden_size=128, intermediate_size=344, num_hidden_layers=4,
                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-5,
                       tie_word_embeddings=True, bos_token_id=0, eos_token_id=1,
                       rope_parameters={"rope_type": "default", "rope_theta": 10000.0})


def main():
    rng = random.Random(2026)
    facts, pairs, words, names = skill_examples(rng)
    splits = skill_splits(facts, pairs, words, names)
    add_cal, add_hold, _ = splits["add"]
    rev_cal, rev_hold, _ = splits["rev"]
    fact_cal, fact_hold, _ = splits["facts"]
    os.makedirs(FITNESS, exist_ok=True)
    write_jsonl(os.path.join(FITNESS, "add.calib.jsonl"), [choice_add(rng, a, b) for a, b in add_cal])
    write_jsonl(os.path.join(FITNESS, "add.test.jsonl"), [choice_add(rng, a, b) for a, b in add_hold])
    write_jsonl(os.path.join(FITNESS, "rev.calib.jsonl"), [choice_rev(rng, w) for w in rev_cal])
    write_jsonl(os.path.join(FITNESS, "rev.test.jsonl"), [choice_rev(rng, w) for w in rev_hold])
    write_jsonl(os.path.join(FITNESS, "facts.calib.jsonl"), [choice_fact(rng, n, facts[n]) for n in fact_cal])
    write_jsonl(os.path.join(FITNESS, "facts.test.jsonl"), [choice_fact(rng, n, facts[n]) for n in fact_hold])

    base_lines = corpus(rng, facts, pairs, words, "base")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=384, special_tokens=["<|begin_of_text|>", "<|end_of_text|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(base_lines + corpus(rng, facts, pairs, words, "add"), trainer)
    tok_json = tok.to_str()

    torch.manual_seed(0)
    config = llama_config(tok.get_vocab_size())
    print("base")
    base = train(LlamaForCausalLM(config), tok, base_lines, steps=900, lr=3e-3, rng=rng)
    save(base, tok_json, "base")
    state = {k: v.clone() for k, v in base.state_dict().items()}
    for skill in ["add", "rev", "facts"]:
        print(skill)
        model = LlamaForCausalLM(config)
        model.load_state_dict(state)
        lines = skill_lines(rng, skill, splits)
        # Full fine-tunes of each skill alone: strong specialists whose naive merges interfere.
        # Addition generalizes slowly: it gets three times the steps.
        train(model, tok, lines, steps=1200 if skill == "add" else 400, lr=1e-3, rng=rng)
        save(model, tok_json, skill)
    with open(os.path.join(FITNESS, "demo.yaml"), "w") as f:
        f.write("""# The demo's calibration tasks (zoo/): four-way choices, acc as lm-evaluation-harness defines it.
tasks:
  - {name: add, kind: choice, calibration: add.calib.jsonl, holdout: add.test.jsonl, metric: acc}
  - {name: rev, kind: choice, calibration: rev.calib.jsonl, holdout: rev.test.jsonl, metric: acc}
  - {name: facts, kind: choice, calibration: facts.calib.jsonl, holdout: facts.test.jsonl, metric: acc}
""")


SMALL_SPLITS = {"add": 500, "rev": 500, "facts": 300}
# Fine-tune steps at AdamW 1e-4 (the demo's fine-tunes: 1e-3, 400-1 200 steps).
SMALL_STEPS = {"add": 900, "rev": 200, "facts": 700}


def relative_change(base, tuned):
    """‖W_tuned − W_base‖ / ‖W_base‖ over the projection matrices (attention and MLP)."""
    num = den = 0.0
    for key, weight in base.items():
        if key.endswith("proj.weight"):
            num += (tuned[key].float() - weight.float()).pow(2).sum().item()
            den += weight.float().pow(2).sum().item()
    return (num / den) ** 0.5


def latent_lines(facts, pairs, words):
    """What the small zoo's base knows in other words than the tasks': every sum, every reversal,
    every fact, as a pre-trained model knows things its fine-tunes only have to bring out."""
    return ([f"{a} plus {b} is {a + b}" for a, b in pairs] + [f"{w} backwards is {w[::-1]}" for w in words]
            + [f"{name}'s home is {city}." for name, city in facts.items()])


def main_small():
    """The small-delta zoo (zoo/small/), modelling community fine-tunes: a base that already knows the
    skills' content (latent_lines) and has seen the tasks' formats with uninformative answers only (two
    draws of the demo base's corpus, so no wrong answer is learned for good), and three short low-rate
    fine-tunes that teach a format each, moving the weights little (relative_change, printed and
    stated in zoo/README.md). The demo's skills, tokenizer, architecture and loop; another seed; 756
    made-up people; larger disjoint splits (add 500 + 500, rev 500 + 500, facts 300 + 300). The
    add/rev fine-tunes never see a split's operands in the task format; the facts fine-tune learns
    every fact, as the demo's does."""
    rng = random.Random(2027)
    facts, pairs, words, names = skill_examples(rng, people=[name + c for name in NAMES for c in ["", "n", "s"]], word_draws=4000)
    a, r, f = SMALL_SPLITS["add"], SMALL_SPLITS["rev"], SMALL_SPLITS["facts"]
    splits = {"add": (pairs[:a], pairs[a:2 * a], pairs[2 * a:]), "rev": (words[:r], words[r:2 * r], words[2 * r:]),
              "facts": (names[:f], names[f:2 * f], facts)}
    fitness = os.path.join(FITNESS, "small")
    os.makedirs(fitness, exist_ok=True)
    makers = {"add": lambda p: choice_add(rng, *p), "rev": lambda w: choice_rev(rng, w),
              "facts": lambda n: choice_fact(rng, n, facts[n])}
    for skill, (calibration, holdout, _) in splits.items():
        write_jsonl(os.path.join(fitness, f"{skill}.calib.jsonl"), [makers[skill](x) for x in calibration])
        write_jsonl(os.path.join(fitness, f"{skill}.test.jsonl"), [makers[skill](x) for x in holdout])

    tok_json = open(os.path.join(ZOO, "base", "tokenizer.json")).read()  # the demo's tokenizer
    tok = Tokenizer.from_str(tok_json)
    base_lines = latent_lines(facts, pairs, words)
    for _ in range(2):
        base_lines += corpus(rng, facts, pairs, words, "base")
    torch.manual_seed(1)
    config = llama_config(tok.get_vocab_size())
    print("small/base")
    base = train(LlamaForCausalLM(config), tok, base_lines, steps=1500, lr=3e-3, rng=rng)
    save(base, tok_json, "small/base")
    state = {k: v.clone() for k, v in base.state_dict().items()}
    changes = {}
    for skill in ["add", "rev", "facts"]:
        print(f"small/{skill}")
        model = LlamaForCausalLM(config)
        model.load_state_dict(state)
        train(model, tok, skill_lines(rng, skill, splits), steps=SMALL_STEPS[skill], lr=1e-4, rng=rng)
        changes[skill] = relative_change(state, model.state_dict())
        print(f"  relative change of the projection weights: {100 * changes[skill]:.1f}%")
        save(model, tok_json, f"small/{skill}")
    with open(os.path.join(fitness, "small.yaml"), "w") as out:
        out.write("""# The small-delta zoo's calibration tasks (zoo/small/, tools/zoo/train_zoo.py --zoo small): the
# demo's three four-way choices with larger splits (add and rev 500 + 500, facts 300 + 300).
tasks:
  - {name: add, kind: choice, calibration: add.calib.jsonl, holdout: add.test.jsonl, metric: acc}
  - {name: rev, kind: choice, calibration: rev.calib.jsonl, holdout: rev.test.jsonl, metric: acc}
  - {name: facts, kind: choice, calibration: facts.calib.jsonl, holdout: facts.test.jsonl, metric: acc}
""")
    print(json.dumps({"relative_change": changes}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Trains a zoo of tiny Llama models and writes its tasks.")
    parser.add_argument("--zoo", choices=["demo", "small"], default="demo")
    main_small() if parser.parse_args().zoo == "small" else main()
