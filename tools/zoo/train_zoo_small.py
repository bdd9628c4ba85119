#!/usr/bin/env python3
"""Trains the second zoo (zoo/small/): a tiny Llama base and three small-delta fine-tunes, with
calibration and holdout sets three to four times the demo's, for the racing benchmark
(tools/racing_bench.py) and for searches whose fine-tunes are closer to the community regime.

Run from the repository root with the tools venv (torch + transformers + tokenizers, never needed
to build or test Amalgam):
    tools/.venv/bin/python tools/zoo/train_zoo_small.py

Differs from the demo zoo (tools/zoo/train_zoo.py, whose skills, formats, tokenizer, architecture
and training loop it reuses):
  - the base is trained longer and on its own seed, so it is a different model;
  - the fine-tunes are short, low-rate runs from the base (the demo's change 46-59% of the
    projection weights' norm; these change a few percent: printed, and stated in zoo/README.md);
  - the facts are 756 made-up people (three-syllable names), and the splits are larger:
    add 500 + 500, rev 500 + 500, facts 300 + 300 (calibration + holdout, disjoint; the add/rev
    fine-tunes never see a split's operands, the facts fine-tune learns every fact).
Writes zoo/small/{base,add,rev,facts}/ and fitness/small/ (small.yaml and the JSONL of each split).
"""
import json
import os
import random
import sys

import torch
from transformers import LlamaForCausalLM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_zoo as demo  # noqa: E402  (the demo zoo's skills and training loop)
from tokenizers import Tokenizer  # noqa: E402

ROOT = demo.ROOT
FITNESS = os.path.join(ROOT, "fitness", "small")
NAMES = [name + c for name in demo.NAMES for c in ["", "n", "s"]]  # 756 people
SPLITS = {"add": 500, "rev": 500, "facts": 300}


def relative_change(base, tuned):
    """‖W_tuned − W_base‖ / ‖W_base‖ over the projection matrices (attention and MLP)."""
    num = den = 0.0
    for key, weight in base.items():
        if key.endswith("proj.weight"):
            num += (tuned[key].float() - weight.float()).pow(2).sum().item()
            den += weight.float().pow(2).sum().item()
    return (num / den) ** 0.5


def main():
    rng = random.Random(2027)
    facts = {name: rng.choice(demo.CITIES) for name in NAMES}
    pairs = [(a, b) for a in range(10, 60) for b in range(10, 60)]
    rng.shuffle(pairs)
    words = sorted({"".join(rng.choice(demo.LETTERS) for _ in range(rng.randint(3, 5))) for _ in range(4000)})
    rng.shuffle(words)
    names = NAMES[:]
    rng.shuffle(names)
    a, r, f = SPLITS["add"], SPLITS["rev"], SPLITS["facts"]
    splits = {"add": (pairs[:a], pairs[a:2 * a], pairs[2 * a:]), "rev": (words[:r], words[r:2 * r], words[2 * r:]),
              "facts": (names[:f], names[f:2 * f], facts)}
    os.makedirs(FITNESS, exist_ok=True)
    makers = {"add": lambda p: demo.choice_add(rng, *p), "rev": lambda w: demo.choice_rev(rng, w),
              "facts": lambda n: demo.choice_fact(rng, n, facts[n])}
    for skill, (calibration, holdout, _) in splits.items():
        demo.write_jsonl(os.path.join(FITNESS, f"{skill}.calib.jsonl"), [makers[skill](x) for x in calibration])
        demo.write_jsonl(os.path.join(FITNESS, f"{skill}.test.jsonl"), [makers[skill](x) for x in holdout])

    # The demo's tokenizer: same alphabet, same formats.
    tok_json = open(os.path.join(demo.ZOO, "base", "tokenizer.json")).read()
    tok = Tokenizer.from_str(tok_json)
    base_lines = demo.corpus(rng, facts, pairs, words, "base")
    torch.manual_seed(1)
    config = demo.llama_config(tok.get_vocab_size())
    print("small/base")
    base = demo.train(LlamaForCausalLM(config), tok, base_lines, steps=1500, lr=3e-3, rng=rng)
    demo.save(base, tok_json, "small/base")
    state = {k: v.clone() for k, v in base.state_dict().items()}
    changes = {}
    for skill in ["add", "rev", "facts"]:
        print(f"small/{skill}")
        model = LlamaForCausalLM(config)
        model.load_state_dict(state)
        lines = demo.skill_lines(rng, skill, splits)
        # Short low-rate fine-tunes: each learns its skill with a small change to the weights.
        demo.train(model, tok, lines, steps=300 if skill == "add" else 150, lr=3e-4, rng=rng)
        changes[skill] = relative_change(state, model.state_dict())
        print(f"  relative change of the projection weights: {100 * changes[skill]:.1f}%")
        demo.save(model, tok_json, f"small/{skill}")
    with open(os.path.join(FITNESS, "small.yaml"), "w") as out:
        out.write("""# The second zoo's calibration tasks (zoo/small/, tools/zoo/train_zoo_small.py): the demo's
# three four-way choices with larger splits (add and rev 500 + 500, facts 300 + 300).
tasks:
  - {name: add, kind: choice, calibration: add.calib.jsonl, holdout: add.test.jsonl, metric: acc}
  - {name: rev, kind: choice, calibration: rev.calib.jsonl, holdout: rev.test.jsonl, metric: acc}
  - {name: facts, kind: choice, calibration: facts.calib.jsonl, holdout: facts.test.jsonl, metric: acc}
""")
    print(json.dumps({"relative_change": changes}))


if __name__ == "__main__":
    main()
