# Kiln: every target does its own set-up on a fresh Debian 12 machine (as root).
#   make demo   install packages, build, export a BERT-base-sized model, compile and run it
#   make test   install packages, build, run every test (CTest: unit, ops, passes, e2e, bad input)
#   make build  build only (binary at build/kiln)
#   make bench-micro  kernel micro-benchmarks (Google Benchmark) under the shared benchmark lock
#   make bench  install packages, build, run bench/e2e/compare (Kiln vs ONNX Runtime vs PyTorch; minutes)
SHELL := /bin/bash
BUILD ?= build
JOBS ?= 2
PY := /usr/bin/python3

# Debian packages the build, tests and demo need. Installed idempotently: apt runs only when one is missing.
DEB_PACKAGES := cmake make g++ ccache pkg-config zlib1g-dev libssl-dev \
  libdnnl-dev libonnx-dev libprotobuf-dev protobuf-compiler \
  nlohmann-json3-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev libutf8proc-dev \
  python3 python3-numpy python3-torch python3-onnx \
  libcpp-httplib-dev libgrpc++-dev protobuf-compiler-grpc python3-grpcio python3-protobuf \
  python3-pytest python3-requests python3-yaml curl openssl \
  pybind11-dev python3-dev python3-pip python3-setuptools python3-wheel

# What bench/e2e/compare needs besides DEB_PACKAGES: OpenBLAS, which Debian recommends with python3-torch
# (without it PyTorch runs on the reference BLAS); Node.js and npm for ONNX Runtime (onnxruntime-node, from
# the npm registry, pinned in bench/e2e/node/package-lock.json). Node.js is installed only if missing.
BENCH_DEB_PACKAGES := libopenblas0 wrk
ORT_NODE_DIR := bench/e2e/node
# Extra arguments for `make bench`, e.g. BENCH_ARGS='--models minilm-l12-h384 --batch 1 --seconds 2 --rounds 1'
BENCH_ARGS ?=

.PHONY: all build deps configure test demo clean bench-micro bench bench-deps bench-serve

all: build

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y --no-install-recommends $$missing; \
	fi

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

configure: deps $(BUILD)/CMakeCache.txt

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j 1

# Micro-benchmarks of the non-GEMM kernels (ref / avx2 / avx512) on BERT shapes. Runs hold the lock other
# benchmarks on this machine take; MICRO_ARGS passes Google Benchmark flags (e.g. --benchmark_filter=Softmax).
BENCH_LOCK ?= /tmp/kiln-bench.lock
MICRO_ARGS ?= --benchmark_min_time=0.2
bench-micro: configure
	cmake --build $(BUILD) -j $(JOBS) --target kiln_micro
	flock $(BENCH_LOCK) $(BUILD)/kiln_micro $(MICRO_ARGS)

demo: build
	$(PY) scripts/demo.py --kiln $(BUILD)/kiln --work $(BUILD)/demo

bench-deps: deps $(ORT_NODE_DIR)/node_modules/.kiln-installed
	@missing=$$(for p in $(BENCH_DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y --no-install-recommends $$missing; \
	fi

# onnxruntime-node, as pinned by the lock file. ONNXRUNTIME_NODE_INSTALL=skip: its install script would fetch
# GPU files from a host that cannot be reached; the CPU library ships in the package itself.
$(ORT_NODE_DIR)/node_modules/.kiln-installed: $(ORT_NODE_DIR)/package.json $(ORT_NODE_DIR)/package-lock.json
	@if ! command -v node >/dev/null || ! command -v npm >/dev/null; then \
	  echo "installing Debian packages: nodejs npm"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y --no-install-recommends nodejs npm; \
	fi
	cd $(ORT_NODE_DIR) && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
	touch $@

bench: build bench-deps
	$(PY) bench/e2e/compare --kiln $(BUILD)/kiln --out $(BUILD)/bench $(BENCH_ARGS)

# Load tests of kiln serve with wrk (bench/serve/run.py; about 35 minutes with the 30-minute soak).
# SERVE_ARGS passes options, e.g. SERVE_ARGS='--cases throughput,text --seconds 10'.
SERVE_ARGS ?=
bench-serve: build bench-deps
	flock $(BENCH_LOCK) $(PY) bench/serve/run.py --kiln $(BUILD)/kiln --work $(BUILD)/bench-serve $(SERVE_ARGS)

clean:
	rm -rf $(BUILD)

# ---- fuzzing (tests/fuzz/, docs/testing.md "Fuzzing") -----------------------------------------------------
# make fuzz: each libFuzzer target for FUZZ_SECONDS (default 300), one after another, each under the CPU
# lock; FUZZ_TARGETS picks some (FUZZ_TARGETS='onnx npy'). The targets are built with Debian's clang-14
# into $(BUILD)/fuzz. `make test` runs them briefly too (CTest fuzz.*), so it needs the same packages.
FUZZ_DEB_PACKAGES := clang-14 libclang-rt-14-dev
FUZZ_SECONDS ?= 300
FUZZ_TARGETS ?= onnx artifact npy safetensors torch_pickle vocab tokenizer_json wordpiece calibration labeled_tsv ir_text
CPU_LOCK ?= /tmp/kiln-cpu.lock
.PHONY: fuzz fuzz-deps

fuzz-deps: deps
	@missing=$$(for p in $(FUZZ_DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y --no-install-recommends $$missing; \
	fi

test: fuzz-deps

fuzz: fuzz-deps
	@for t in $(FUZZ_TARGETS); do \
	  echo "== fuzz_$$t: $(FUZZ_SECONDS) s, $$(date)"; \
	  flock $(CPU_LOCK) tests/fuzz/run.sh . $(BUILD)/fuzz $$t $(FUZZ_SECONDS) || exit 1; \
	done
