"""Golden files for the Search module's Pareto utilities, NSGA-II operators and Sobol points.

Writes Tests/SearchTests/Fixtures/*.json from the reference implementations:
- pareto.json: fronts of pymoo 0.6.2's NonDominatedSorting and the crowding distance of every
  front from pymoo's "cd" crowding function, on point sets with ties and duplicates;
- hypervolume.json: pymoo's Hypervolume (moocore) of point sets in 2 to 5 objectives, some points
  beyond the reference;
- operators.json: pymoo's SBX and PM applied to one mating / one individual with a generator
  that records every uniform draw, so the Swift operators can replay the draws and must give the
  same children;
- sobol.json: scipy's unscrambled Sobol points (Joe & Kuo direction numbers) for the dimensions
  the Swift generator embeds.

Run: tools/.venv/bin/python tools/make_pareto_goldens.py (pymoo==0.6.2, numpy, scipy).
"""

import json
import os

import numpy as np
from pymoo.core.population import Population
from pymoo.core.problem import Problem
from pymoo.indicators.hv import HV
from pymoo.operators.crossover.sbx import SBX
from pymoo.operators.mutation.pm import PM
from pymoo.operators.survival.rank_and_crowding.metrics import get_crowding_function
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting
from scipy.stats import qmc

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "SearchTests", "Fixtures")
SOBOL_DIMENSIONS = 1024


def finite_or_string(values):
    """JSON has no infinity: write it as the string "Infinity", as OptimizerStateCoding reads it."""
    return [v if np.isfinite(v) else ("Infinity" if v > 0 else "-Infinity") for v in values]


def write(name, payload):
    path = os.path.join(OUT, name)
    with open(path, "w") as f:
        json.dump(payload, f, indent=None, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    print("wrote", os.path.normpath(path))


def pareto_cases(rng):
    cases = []
    shapes = [(12, 2, 5), (30, 2, 0), (25, 3, 4), (40, 3, 0), (30, 4, 3), (20, 5, 0), (3, 2, 0), (2, 3, 0), (1, 2, 0)]
    for count, objectives, grid in shapes:
        if grid:
            # Small integer grids give ties in every objective and exact duplicates.
            F = rng.integers(0, grid, size=(count, objectives)).astype(float)
        else:
            F = rng.random((count, objectives))
        fronts = NonDominatedSorting().do(F)
        crowding = get_crowding_function("cd")
        cases.append({
            "points": F.tolist(),
            "fronts": [sorted(int(i) for i in front) for front in fronts],
            "crowding": [finite_or_string(crowding.do(F[np.sort(front)]).tolist()) for front in fronts],
        })
    # A hand-made front with a constant objective and duplicated extremes.
    F = np.array([[0.0, 1.0, 2.0], [0.0, 1.0, 2.0], [1.0, 1.0, 1.0], [2.0, 1.0, 0.0], [0.5, 1.0, 1.5]])
    fronts = NonDominatedSorting().do(F)
    cases.append({
        "points": F.tolist(),
        "fronts": [sorted(int(i) for i in front) for front in fronts],
        "crowding": [finite_or_string(get_crowding_function("cd").do(F[np.sort(front)]).tolist()) for front in fronts],
    })
    return cases


def hypervolume_cases(rng):
    cases = []
    for count, objectives in [(50, 2), (200, 2), (40, 3), (150, 3), (30, 4), (60, 4), (20, 5)]:
        F = rng.random((count, objectives)) * 1.2  # some points beyond the reference 1.0…
        reference = np.full(objectives, 1.0)
        cases.append({"points": F.tolist(), "reference": reference.tolist(), "hypervolume": float(HV(ref_point=reference)(F))})
    # Points on a sphere-like front: all non-dominated.
    for objectives in (3, 4):
        X = np.abs(rng.normal(size=(40, objectives)))
        F = X / np.linalg.norm(X, axis=1, keepdims=True)
        reference = np.full(objectives, 1.1)
        cases.append({"points": F.tolist(), "reference": reference.tolist(), "hypervolume": float(HV(ref_point=reference)(F))})
    return cases


class RecordingRandom:
    """A numpy Generator stand-in that records the uniform draws pymoo makes."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.draws = []

    def random(self, size=None):
        value = self.rng.random(size)
        self.draws.extend(np.atleast_1d(value).ravel().tolist())
        return value


def operator_cases(rng):
    sbx_cases, pm_cases = [], []
    for case in range(120):
        n = int(rng.integers(1, 8))
        a, b = rng.random(n), rng.random(n)
        if case % 10 == 0:
            b[0] = a[0]  # too close to cross
        if case % 7 == 0:
            a[-1], b[-1] = 0.0, 1.0  # the bounds themselves
        if case % 11 == 0:
            b = a + 1e-15  # every gene too close
            b = np.minimum(b, 1.0)
        problem = Problem(n_var=n, xl=0.0, xu=1.0)
        recorder = RecordingRandom(case)
        pop = Population.new(X=np.array([a, b]))
        off = SBX().do(problem, pop, np.array([[0, 1]]), random_state=recorder)
        sbx_cases.append({"parents": [a.tolist(), b.tolist()], "draws": recorder.draws, "children": off.get("X").tolist()})

        x = rng.random(n)
        if case % 5 == 0:
            x[0] = 0.0
        if case % 9 == 0:
            x[-1] = 1.0
        recorder = RecordingRandom(1000 + case)
        # A high per-gene probability so most cases mutate something.
        mutation = PM(prob_var=0.6) if case % 2 == 0 else PM()
        out = mutation.do(problem, Population.new(X=np.array([x])), random_state=recorder)
        pm_cases.append({
            "genome": x.tolist(), "variable_probability": 0.6 if case % 2 == 0 else None,
            "draws": recorder.draws, "mutated": out.get("X")[0].tolist(),
        })
    return {"sbx": sbx_cases, "pm": pm_cases}


def sobol_points():
    count = 64
    low = qmc.Sobol(d=12, scramble=False).random(count)
    full = qmc.Sobol(d=SOBOL_DIMENSIONS, scramble=False).random(count)
    columns = [12, 100, 257, 500, 777, 1000, SOBOL_DIMENSIONS - 1]
    return {
        "count": count,
        "first_dimensions": low.tolist(),
        "columns": columns,
        "column_points": full[:, columns].T.tolist(),
    }


def main():
    rng = np.random.default_rng(20240605)
    write("pareto.json", pareto_cases(rng))
    write("hypervolume.json", hypervolume_cases(rng))
    write("operators.json", operator_cases(rng))
    write("sobol.json", sobol_points())


if __name__ == "__main__":
    main()
