#!/usr/bin/env bash
# Builds the libFuzzer targets of tools/fuzz and runs each for FUZZ_SECONDS seconds (default 60),
# one after another, each seeded from the repository's fixtures. Exits non-zero when any target
# found a crash, a timeout or an out-of-memory input, and prints the path of that input.
#
#   tools/fuzz/run.sh [TARGET...]      targets: safetensors index json tokenizer recipe search-space
#
#   FUZZ_SECONDS   seconds per target (default 60)
#   FUZZ_TIMEOUT   seconds one input may take before it counts as a hang (default 30)
#   FUZZ_WORK      corpus, crash inputs and logs (default tools/fuzz/work, git-ignored); the corpus
#                  is kept between runs, so each run starts where the last one stopped
#
# Reproduce a crash: tools/fuzz/.build/release/fuzz-TARGET PATH (with SWIFT_BACKTRACE=enable=yes
# for Swift's own backtrace).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
seconds="${FUZZ_SECONDS:-60}"
timeout="${FUZZ_TIMEOUT:-30}"
work="${FUZZ_WORK:-$here/work}"
all=(safetensors index json tokenizer recipe search-space)
if [ $# -gt 0 ]; then targets=("$@"); else targets=("${all[@]}"); fi
for target in "${targets[@]}"; do
  [[ " ${all[*]} " == *" $target "* ]] || { echo "unknown fuzz target '$target' (${all[*]})" >&2; exit 2; }
done

mkdir -p "$work/logs"
echo "building the fuzz targets (swift build -c release --sanitize=fuzzer, log: $work/logs/build.txt)"
build=(swift build -c release --sanitize=fuzzer --package-path "$here")
if ! "${build[@]}" >"$work/logs/build.txt" 2>&1; then
  tail -40 "$work/logs/build.txt" >&2
  echo "the fuzz targets did not build" >&2
  exit 1
fi
bin="$("${build[@]}" --show-bin-path)"

# The seed files of each target, relative to the repository root.
seeds() {
  cd "$root"
  case "$1" in
    safetensors) find Tests -path '*/Fixtures/*' -name '*.safetensors' -size -16k ;;
    index) find Tests zoo -name 'model.safetensors.index.json' ;;
    json) find Tests zoo -name '*.json' -size -40k ;;
    tokenizer) find Tests zoo -name 'tokenizer.json' ;;
    recipe) find Tests -path '*/Fixtures/recipes/*.yml'; ls zoo/*.yml fitness/*.yaml search-spaces/*.yaml ;;
    search-space) ls search-spaces/*.yaml fitness/*.yaml; find tools/fuzz/seeds/search-space -name '*.yaml' ;;
  esac | sort
}

failed=()
for target in "${targets[@]}"; do
  corpus="$work/corpus/$target"
  artifacts="$work/artifacts/$target"
  scratch="$work/tmp/$target"
  log="$work/logs/$target.txt"
  mkdir -p "$corpus" "$artifacts" "$scratch"
  while read -r seed; do
    cp "$root/$seed" "$corpus/seed-${seed//\//_}"
  done < <(seeds "$target")
  dict=()
  [ -f "$here/dicts/$target.dict" ] && dict=("-dict=$here/dicts/$target.dict")
  before=$(ls "$artifacts" | wc -l)
  echo "fuzzing $target for ${seconds}s (corpus $corpus, log $log)"
  status=0
  # Swift's own backtracer would take the crash signal before libFuzzer could save the input.
  SWIFT_BACKTRACE=enable=no TMPDIR="$scratch" "$bin/fuzz-$target" \
    -max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "${dict[@]}" "$corpus" >"$log" 2>&1 || status=$?
  rm -rf "$scratch"
  stats=$(grep -E '^#[0-9]+' "$log" | tail -1 | sed -E 's/^#([0-9]+)[[:space:]]+[A-Z]+[[:space:]]+/\1 runs, /; s/ L: .*//; s/ MS: .*//') || true
  echo "  $target: ${stats:-no statistics (see $log)}"
  if [ "$status" -ne 0 ] || [ "$(ls "$artifacts" | wc -l)" -gt "$before" ]; then
    failed+=("$target")
    grep -E 'ERROR: libFuzzer|SUMMARY:|Fatal error|Test unit written to' "$log" | sed 's/^/  /' >&2 || true
    tail -30 "$log" | grep -vE '^\s*#[0-9]+ 0x' | head -20 | sed 's/^/  | /' >&2 || true
    for input in $(grep -oE 'Test unit written to .*' "$log" | sed 's/Test unit written to //'); do
      echo "  crash input: $input" >&2
    done
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing found crashes in: ${failed[*]} (inputs under $work/artifacts)" >&2
  exit 1
fi
echo "fuzzing found no crash (${targets[*]}, ${seconds}s each)"
