# Two entry points for a fresh machine (README.md): `make demo` and `make test`.
# Each installs the system libraries it needs, builds, and runs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.PHONY: deps test-deps build demo test tsan bench fuzz fixtures

APT_PACKAGES := libopenblas-dev libsqlite3-dev libpq-dev
# The PostgreSQL server the archive tests run a throwaway cluster of (tools/postgres_cluster.sh).
TEST_APT_PACKAGES := postgresql
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
LOG := .build/logs

# apt-get update once, and only when a package is missing.
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

# Release build of the command line; any compiler warning in our code fails the build.
build: deps
	@mkdir -p $(LOG)
	swift build -c release --product amalgam 2>&1 | tee $(LOG)/release.txt
	@! grep -E '^/.*(Sources|Tests|Benchmarks)/.*warning:' $(LOG)/release.txt

# The main job on the bundled demo: search merges of the small-delta zoo's specialists (zoo/small/:
# low-rate fine-tunes of a base that knows their content, where merging pays; rerunnable: --force
# starts the run afresh), print the front against the baselines, export the best candidate's
# recipe and model, write the report.
demo: build
	.build/release/amalgam search search-spaces/small.yaml --force
	.build/release/amalgam export runs/small --best
	.build/release/amalgam report runs/small

# The test-only packages: installed when missing; when they cannot be, the PostgreSQL tests are
# skipped, each printing why (AMALGAM_TEST_POSTGRES unset), and everything else runs.
test-deps: deps
	@missing=""; for p in $(TEST_APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing"; \
	  { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; } || \
	    echo "warning: could not install$$missing; the PostgreSQL tests will be skipped"; \
	fi

# Unit tests (debug build) and integration tests (they drive the release binary built above), with
# a throwaway PostgreSQL cluster for the PostgreSQL store's tests, stopped however the tests end.
test: build test-deps
	swift build --build-tests 2>&1 | tee $(LOG)/tests.txt
	@! grep -E '^/.*(Sources|Tests|Benchmarks)/.*warning:' $(LOG)/tests.txt
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  cluster=$$(mktemp -d /tmp/amalgam-pg.XXXXXX); trap 'tools/postgres_cluster.sh stop '"$$cluster" EXIT; \
	  url=$$(tools/postgres_cluster.sh start "$$cluster"); export AMALGAM_TEST_POSTGRES=$$url; \
	  echo "PostgreSQL tests against $$AMALGAM_TEST_POSTGRES"; \
	else echo "PostgreSQL is not installed: its tests are skipped"; fi; \
	swift test --skip-build

# ThreadSanitizer (not part of `make test`: a separate instrumented build): the engine, worker
# pool, archive and child-process tests in process, where the sanitizer sees the coordinator, the
# workers, cancellation and the command waiters together; then the failure and stop integration
# tests driving an instrumented amalgam that exits 66 at the first data race (an instrumented
# search runs ~50x slower, so the long soak and determinism suites are left to `make test`).
TSAN := .build-tsan
TSAN_UNIT := EngineTests|SQLiteArchiveTests|ChildProcessTests|CommandTaskTests|RankSelectionTests|GoldenMergeTests
TSAN_CLI := SearchFailureTests
tsan: deps
	swift build --build-tests --sanitize=thread --scratch-path $(TSAN)
	swift build -c release --sanitize=thread --product amalgam --scratch-path $(TSAN)
	TSAN_OPTIONS="halt_on_error=1 exitcode=66" swift test --skip-build --sanitize=thread --scratch-path $(TSAN) --filter '$(TSAN_UNIT)'
	AMALGAM_BIN=$(CURDIR)/$(TSAN)/release/amalgam TSAN_OPTIONS="halt_on_error=1 exitcode=66" \
	  swift test --skip-build --sanitize=thread --scratch-path $(TSAN) --filter '$(TSAN_CLI)'

# Benchmarks (not tests): each prints ratios measured in the same run and one JSON summary line.
bench: deps
	swift build -c release
	.build/release/amalgam-bench io
	.build/release/amalgam-bench merge
	.build/release/amalgam-bench eval
	.build/release/amalgam-bench optimizers
	.build/release/amalgam-bench search

# libFuzzer targets for the parsers of untrusted input (tools/fuzz, a package of its own), each run
# for FUZZ_SECONDS seconds in turn; fails, naming the input, when any of them crashes.
FUZZ_SECONDS ?= 60
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) tools/fuzz/run.sh

# Regenerate the golden fixtures with the reference libraries (needs PyPI; never needed to build or test).
fixtures:
	[ -x tools/.venv/bin/python ] || python3 -m venv tools/.venv
	tools/.venv/bin/pip install -q -r tools/requirements.txt -r tools/requirements-merge.txt
	tools/.venv/bin/python tools/make_fixtures.py
	tools/.venv/bin/python tools/make_merge_goldens.py
	tools/.venv/bin/python tools/make_tokenizer_goldens.py
	tools/.venv/bin/python tools/make_model_goldens.py
	tools/.venv/bin/python tools/make_scoring_goldens.py
