#!/usr/bin/env bash
# Measures a zoo with `amalgam eval` (holdout split) for zoo/README.md: the base, each
# specialist, equal-weight merges at mergekit-style parameters, and hand-picked recipes.
# Usage: tools/zoo/measure_zoo.sh [demo|small]   (from the repository root, after
# `swift build -c release`; demo: zoo/ on fitness/demo.yaml, small: zoo/small/ on fitness/small/small.yaml)
set -euo pipefail
amalgam=.build/release/amalgam
case "${1:-demo}" in
  demo) zoo=zoo fitness=fitness/demo.yaml ;;
  small) zoo=zoo/small fitness=fitness/small/small.yaml ;;
  *) echo "usage: $0 [demo|small]" >&2; exit 2 ;;
esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

score() {  # model folder -> "add rev facts mean" on the holdout split
  "$amalgam" eval "$1" --fitness "$fitness" --split holdout --json |
    python3 -c 'import json,sys; t=json.load(sys.stdin)["tasks"]; v=[t[k]["value"] for k in ("add","rev","facts")]; print(" ".join(f"{x:.3f}" for x in v), f"{sum(v)/3:.3f}")'
}

merge() {  # name, method, per-model parameters for add rev facts, extra top-level lines
  local name=$1 method=$2 add=$3 rev=$4 facts=$5 extra=${6:-}
  cat > "$work/$name.yml" <<YAML
merge_method: $method
base_model: $zoo/base
models:
  - {model: $zoo/add, parameters: {$add}}
  - {model: $zoo/rev, parameters: {$rev}}
  - {model: $zoo/facts, parameters: {$facts}}
$extra
dtype: float32
out_dtype: bfloat16
YAML
  "$amalgam" merge "$work/$name.yml" --out "$work/$name" >/dev/null
  echo "$name $(score "$work/$name")"
}

for m in base add rev facts; do echo "$m $(score "$zoo/$m")"; done
merge task_arithmetic_w1 task_arithmetic "weight: 1" "weight: 1" "weight: 1"
merge task_arithmetic_w033 task_arithmetic "weight: 0.333" "weight: 0.333" "weight: 0.333"
merge task_arithmetic_w05 task_arithmetic "weight: 0.5" "weight: 0.5" "weight: 0.5"
merge ties_default ties "weight: 1, density: 0.5" "weight: 1, density: 0.5" "weight: 1, density: 0.5"
merge dare_ties_default dare_ties "weight: 1, density: 0.5" "weight: 1, density: 0.5" "weight: 1, density: 0.5" "random_seed: 1"
merge hand_rev_facts task_arithmetic "weight: 0" "weight: 0.7" "weight: 0.7"
merge hand_facts_only task_arithmetic "weight: 0" "weight: 0" "weight: 1"
