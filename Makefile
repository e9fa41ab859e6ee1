# Kiln: every target does its own set-up on a fresh Debian 12 machine (as root).
#   make demo   install packages, build, export a BERT-base-sized model, compile and run it
#   make test   install packages, build, run every test (CTest: unit, ops, passes, e2e, bad input)
#   make build  build only (binary at build/kiln)
SHELL := /bin/bash
BUILD ?= build
JOBS ?= 2
PY := /usr/bin/python3

# Debian packages the build, tests and demo need. Installed idempotently: apt runs only when one is missing.
DEB_PACKAGES := cmake make g++ ccache pkg-config zlib1g-dev libssl-dev \
  libdnnl-dev libonnx-dev libprotobuf-dev protobuf-compiler \
  nlohmann-json3-dev libcli11-dev libgtest-dev libgmock-dev \
  python3 python3-numpy python3-torch python3-onnx

.PHONY: all build deps configure test demo clean

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

demo: build
	$(PY) scripts/demo.py --kiln $(BUILD)/kiln --work $(BUILD)/demo

clean:
	rm -rf $(BUILD)
