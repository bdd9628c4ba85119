"""Checks that mergekit accepts a recipe Amalgam exported and merges it to the same tensors.

Usage: tools/.venv/bin/python tools/check_export_with_mergekit.py RUN/exports/ID [...]

For each export folder (recipe.yml + the model Amalgam wrote), runs `mergekit-yaml` on the recipe
into a temporary folder and compares every tensor: deterministic methods must match within one
bfloat16 ulp on ≥ 99.9% of elements (F32: 1e-6 of the tensor's largest magnitude); for the random
sparsifiers (dare_*, della*) mergekit draws from torch's generator, not Amalgam's Philox stream, so
only acceptance and shapes are checked. Exit status 1 on any mismatch. Needs mergekit (see
tools/requirements-merge.txt); Amalgam's build and tests never run this.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import yaml
from safetensors.numpy import load_file

RANDOM = {"dare_linear", "dare_ties", "della", "della_linear"}


def tensors(folder):
    out = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".safetensors"):
            out.update(load_file(os.path.join(folder, name)))
    return out


def check(export):
    recipe_path = os.path.join(export, "recipe.yml")
    with open(recipe_path) as f:
        recipe = yaml.safe_load(f)
    method = recipe["merge_method"]
    mergekit = os.path.join(os.path.dirname(sys.executable), "mergekit-yaml")
    with tempfile.TemporaryDirectory() as out:
        args = [mergekit, recipe_path, out, "--no-copy-tokenizer", "--no-write-model-card", "--quiet"]
        if "random_seed" in recipe:
            args += ["--random-seed", str(recipe["random_seed"])]
        subprocess.run(args, check=True)
        theirs, ours = tensors(out), tensors(export)
    if set(theirs) != set(ours):
        print(f"{export}: tensor names differ: {sorted(set(theirs) ^ set(ours))[:5]}")
        return False
    ok = True
    for name in sorted(ours):
        a, b = ours[name], theirs[name]
        if a.shape != b.shape or a.dtype != b.dtype:
            print(f"{export}: {name}: {a.dtype}{a.shape} vs mergekit {b.dtype}{b.shape}")
            ok = False
            continue
        if method in RANDOM:
            continue
        if a.dtype == np.float32:
            limit = 1e-6 * max(1e-30, float(np.abs(b).max()))
            if float(np.abs(a - b).max()) > limit:
                print(f"{export}: {name}: max diff {np.abs(a - b).max()} > {limit}")
                ok = False
        else:
            ua, ub = a.view(np.uint16).astype(np.int32), b.view(np.uint16).astype(np.int32)
            equal = float((ua == ub).mean())
            if equal < 0.999 or int(np.abs(ua - ub).max()) > 1:
                print(f"{export}: {name}: {equal:.4%} equal, largest difference {np.abs(ua - ub).max()} ulp")
                ok = False
    print(f"{export}: {method}: {'mergekit accepts it' + (' (random sparsifier: shapes only)' if method in RANDOM else ', tensors match') if ok else 'MISMATCH'}")
    return ok


if __name__ == "__main__":
    results = [check(path) for path in sys.argv[1:]]
    sys.exit(0 if results and all(results) else 1)
