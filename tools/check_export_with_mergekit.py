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
import torch
import yaml
from safetensors.torch import load_file

RANDOM = {"dare_linear", "dare_ties", "della", "della_linear"}
# Top-k by magnitude: mergekit ranks with torch.argsort, whose order among equal magnitudes is
# arbitrary (not stable, not by index); Amalgam breaks such ties by element index. With BF16
# sources, deltas repeat, so the two may keep different elements among those whose magnitude
# equals a model's k-th largest. Those elements are counted and left out; every other must match.
MAGNITUDE = {"ties": 0.0, "breadcrumbs": None, "breadcrumbs_ties": None}


def resolve(setting, tensor):
    """mergekit's parameter lookup for one tensor: a scalar, or the first matching filter entry."""
    if isinstance(setting, list):
        for entry in setting:
            f = entry.get("filter")
            if f is None or f == "*" or f in tensor:
                return entry["value"]
        return None
    return setting


def boundary_elements(recipe, name, base_dir_tensors, sources):
    """Elements whose |delta| equals some model's k-th largest |delta| (TIES, models form only)."""
    base = base_dir_tensors.get(name)
    if base is None:
        return None
    mask = np.zeros(base.shape, dtype=bool)
    for model in recipe["models"]:
        path = model["model"]
        if path == recipe.get("base_model"):
            continue
        density = resolve((model.get("parameters") or {}).get("density", 1.0), name)
        if density is None or density >= 1:
            continue
        delta = np.abs(sources[path][name].astype(np.float32) - base.astype(np.float32)).ravel()
        k = int(density * delta.size)
        if k <= 0:
            continue
        threshold = np.sort(delta)[::-1][k - 1]
        mask |= (np.abs(sources[path][name].astype(np.float32) - base.astype(np.float32)) == threshold)
    return mask


def float_tensors(folder):
    out = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".safetensors"):
            for key, value in load_file(os.path.join(folder, name)).items():
                out[key] = value.float().numpy()
    return out


def tensors(folder):
    out = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".safetensors"):
            for key, value in load_file(os.path.join(folder, name)).items():
                # bfloat16 as its raw 16 bits (numpy has no bfloat16), float32 as is.
                out[key] = value.view(torch.int16).numpy().view(np.uint16) if value.dtype == torch.bfloat16 else value.float().numpy()
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
    tie_aware = method == "ties" and "models" in recipe
    if tie_aware:
        base_tensors = float_tensors(recipe["base_model"])
        sources = {m["model"]: float_tensors(m["model"]) for m in recipe["models"]}
    ties_left_out = 0
    for name in sorted(ours):
        a, b = ours[name], theirs[name]
        if a.shape != b.shape or a.dtype != b.dtype:
            print(f"{export}: {name}: {a.dtype}{a.shape} vs mergekit {b.dtype}{b.shape}")
            ok = False
            continue
        if method in RANDOM:
            continue
        if a.dtype != np.uint16:
            limit = 1e-6 * max(1e-30, float(np.abs(b).max()))
            if float(np.abs(a - b).max()) > limit:
                print(f"{export}: {name}: max diff {np.abs(a - b).max()} > {limit}")
                ok = False
        else:
            ua, ub = a.view(np.uint16).astype(np.int32), b.view(np.uint16).astype(np.int32)
            if tie_aware:
                boundary = boundary_elements(recipe, name, base_tensors, sources)
                if boundary is not None:
                    ties_left_out += int(boundary.sum())
                    ua, ub = ua[~boundary], ub[~boundary]
            equal = float((ua == ub).mean()) if ua.size else 1.0
            if equal < 0.999 or (ua.size and int(np.abs(ua - ub).max()) > 1):
                print(f"{export}: {name}: {equal:.4%} equal, largest difference {np.abs(ua - ub).max()} ulp")
                ok = False
    note = f" ({ties_left_out} elements at a top-k boundary tie left out)" if tie_aware else ""
    if method in MAGNITUDE and not tie_aware:
        note = " (slices form: boundary ties not separated; differences there are expected)"
    print(f"{export}: {method}: {'mergekit accepts it' + (' (random sparsifier: shapes only)' if method in RANDOM else ', tensors match' + note) if ok else 'MISMATCH' + note}")
    return ok


if __name__ == "__main__":
    results = [check(path) for path in sys.argv[1:]]
    sys.exit(0 if results and all(results) else 1)
