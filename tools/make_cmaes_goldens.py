"""Golden values for CMA-ES's strategy parameters and bound handling, from pycma itself.

Writes Tests/SearchTests/Fixtures/cmaes.json:
- parameters: per (dimension, population, diagonal) case, pycma's recombination weights (in
  diagonal mode finalized as Amalgam does, see below) and
  their mu / mueff, the learning rates c1 and cmu as its sampler uses them (`sm.parameters()`;
  the `*_sep` rates in diagonal mode), cc, the step-size cumulation cs and damping, and the lazy
  eigendecomposition gap;
- expected_norm: E||N(0, I)|| = sqrt(2) Gamma((n+1)/2) / Gamma(n/2), the exact value pycma's
  `GaussSampler.chin` docstring gives (its table holds it for n <= 4, an approximation above);
- bounds: `BoxConstraintsLinQuadTransformation([[0, 1]])`'s transform and inverse at fixed points.

Run: tools/.venv/bin/python tools/make_cmaes_goldens.py (cma==4.5.0, numpy).
"""

import json
import math
import os
import warnings

warnings.filterwarnings("ignore")  # pycma warns that matplotlib is missing

import cma  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "SearchTests", "Fixtures", "cmaes.json")
CASES = [(20, 12, False), (20, 12, True), (40, 200, False), (5, 8, False), (100, 30, True)]


def parameters(dimension, population, diagonal):
    es = cma.CMAEvolutionStrategy(dimension * [0.1], 1, {"popsize": population, "CMA_diagonal": diagonal, "verbose": -9, "seed": 1})
    sp = es.sp
    weights = sp.weights
    if diagonal:
        c1, cmu, cc = sp.c1_sep, sp.cmu_sep, sp.cc_sep
        # pycma's diagonal mode finalizes the negative weights without the positive-definiteness
        # limit (pos_def=False: its diagonal update is multiplicative); Amalgam's diagonal update is
        # additive like the full one and keeps the limit, so its weights are pycma's own
        # finalization with the separable rates and pos_def=True.
        weights = cma.recombination_weights.RecombinationWeights(population)
        weights.finalize_negative_weights(dimension, c1, cmu, pos_def=True)
    else:
        rates = es.sm.parameters(sp.weights.mueff)
        c1, cmu, cc = rates["c1"], rates["cmu"], sp.cc
    case = {
        "dimension": dimension, "population": population, "diagonal": diagonal,
        "parents": int(sp.weights.mu), "mueff": float(sp.weights.mueff), "weights": [float(w) for w in weights],
        "c1": float(c1), "cmu": float(cmu), "cc": float(cc),
        "cs": float(es.adapt_sigma.cs), "damps": float(es.adapt_sigma.damps),
    }
    if not diagonal:
        case["lazy_gap"] = float(es.sm.lazy_update_gap)
    return case


def main():
    transform = cma.transformations.BoxConstraintsLinQuadTransformation([[0, 1]])
    xs = [-12.2, -1.3, -0.07, -0.05, 0.02, 0.5, 0.97, 1.04, 1.2, 3.7]
    ys = [0.0, 0.001, 0.03, 0.5, 0.99, 1.0]
    golden = {
        "pycma": cma.__version__,
        "parameters": [parameters(*case) for case in CASES],
        "expected_norm": [{"dimension": n, "value": math.sqrt(2) * math.exp(math.lgamma((n + 1) / 2) - math.lgamma(n / 2))} for n in [1, 2, 3, 4, 10, 100, 1000]],
        "bounds": {
            "transform": [[x, float(transform.transform([x])[0])] for x in xs],
            "inverse": [[y, float(transform.inverse([y])[0])] for y in ys],
        },
    }
    with open(OUT, "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")
    print("wrote", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
