# semcom: the two commands of the README.
#   make demo   build (release) and run the demo
#   make test   build and run the test suite
# Both install the Debian packages they need when missing (as root).
#   make figures  render the demo's main figures (out/demo, from make demo) into docs/ as PNG
#   make sanitize the test suite built and run with AddressSanitizer (Swift and C) and
#                 UndefinedBehaviorSanitizer (the C targets: Swift has no UBSan on Linux)
#                 in its own build folder .build-sanitize. Leak checking is off: LeakSanitizer
#                 reports allocations on Foundation's and XCTest's error paths (not ours to fix here)
#   make cluster-test  the Slurm recipes of Scripts/slurm/ run on a single-node Slurm started on this
#                 machine (munged, slurmctld, slurmd; needs root), checked against one machine's build
#                 and fill (Scripts/slurm/cluster-test.sh; under a minute; not part of make test)
#   make fuzz     build the libFuzzer harnesses of Fuzz/ (SEMCOM_FUZZ=1, in .build-fuzz) and run each
#                 for FUZZ_SECONDS (default 60) over a scratch copy of its corpus; fails on a crash/hang/oom

SWIFT ?= swift
DEB_PACKAGES = pkg-config libopenblas-dev libhdf5-dev libjpeg62-turbo-dev libpng-dev libedit-dev
# make test also installs Debian's h5py and numpy (the tests read caches with /usr/bin/python3)
# and tmux (the REPL's Ctrl-C tests run it in a terminal).
TEST_PACKAGES = python3-h5py python3-numpy tmux
# make cluster-test: a Slurm controller and node daemon, and MUNGE for their authentication.
CLUSTER_PACKAGES = slurm-wlm munge python3-h5py python3-numpy
# make link-test: ip and tc (network namespaces, veth, tbf), and rsvg-convert for its figure.
LINK_PACKAGES = iproute2 librsvg2-bin
# Release builds for AVX2 + FMA (every x86-64 server and desktop since 2013-2015) unless
# SEMCOM_PORTABLE=1: measured 5-20 % faster than baseline x86-64 (README, "Speed").
ifeq ($(shell uname -m)$(SEMCOM_PORTABLE),x86_64)
RELEASE_FLAGS = -Xswiftc -target-cpu -Xswiftc haswell
endif
FUZZ_SECONDS ?= 60
FUZZ_HARNESSES = $(filter-out Support,$(notdir $(wildcard Fuzz/*)))
# SwiftPM's --sanitize fuzzer does not always reach the Swift compiles (a harness then links
# with 87 coverage counters and libFuzzer fuzzes blind), so -sanitize=fuzzer is also passed to
# every Swift compile, and make fuzz refuses a harness with fewer than 1,000 counters.
FUZZ_BUILD = SEMCOM_FUZZ=1 $(SWIFT) build -c debug --sanitize fuzzer --sanitize address -Xswiftc -sanitize=fuzzer --scratch-path .build-fuzz
FUZZ_WORK ?= $(or $(TMPDIR),/tmp)/semcom-fuzz
FIGURES = fig07 fig08 fig10 fig11 fig11_hist fig12 fig13 fig14 fig15 fig16 bytes

.PHONY: all deps packages install build release test examples docs sanitize fuzz link-test load-test cluster-test demo figures clean

all: build

deps:
	@$(MAKE) --no-print-directory packages PACKAGES="$(DEB_PACKAGES)"

packages:
	@missing=$$(for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi

# make install [PREFIX=/usr/local]: the release binary to PREFIX/bin (on the PATH),
# so that the README's `semcom ...` commands work as written.
PREFIX ?= /usr/local
install: release
	install -D -m 755 .build/release/semcom $(DESTDIR)$(PREFIX)/bin/semcom
	@echo "installed $(DESTDIR)$(PREFIX)/bin/semcom"

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release $(RELEASE_FLAGS)

test: deps
	@$(MAKE) --no-print-directory packages PACKAGES="$(TEST_PACKAGES)"
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --disable-swift-testing
	bash Examples/check.sh

# The DocC documentation of every target of ours (the catalog: Sources/SemComKit/SemComKit.docc),
# refused on any DocC warning (a missing parameter, a broken link). Named one by one: without
# --target the plugin also documents dependencies (SwiftNIO), whose warnings are not ours.
DOC_TARGETS = Safety Tensors Attention Entropy ViT Imaging Wire HDF5IO Collaborative Link Figures Repl ExperimentScripts SemComKit semcom \
	CImagingCodecs EmbedScripts SweepBenchmark WireSizeCheck
docs: deps
	@out=$$($(SWIFT) package generate-documentation $(addprefix --target ,$(DOC_TARGETS)) 2>&1) || { echo "$$out"; exit 1; }; \
	if echo "$$out" | grep -q "warning:"; then echo "$$out" | grep -A8 "warning:"; exit 1; fi; \
	echo "$$out" | grep -A20 "Generated"

# The Examples package (a separate package that depends on this one), built and
# checked against the CLI on a small demo cache; part of `make test` (about 1 min).
examples: build
	bash Examples/check.sh

# semcom serve and semcom edge in two network namespaces, the uplink shaped by tbf at
# 1, 8 and 50 Mbit/s, a delay from semcom relay (Scripts/link/link-test.sh). Needs root.
link-test: release
	@$(MAKE) --no-print-directory packages PACKAGES="$(LINK_PACKAGES)"
	bash Scripts/link/link-test.sh

# 16 edges against one server on loopback for 60 s, then 30 s with the server killed and
# restarted and drained with SIGTERM (Scripts/link/load-test.sh). About 2 minutes; no root.
load-test: release
	bash Scripts/link/load-test.sh

cluster-test: release
	@$(MAKE) --no-print-directory packages PACKAGES="$(CLUSTER_PACKAGES)"
	bash Scripts/slurm/cluster-test.sh

SANITIZE = --sanitize address -Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=undefined --scratch-path .build-sanitize
sanitize: deps
	@$(MAKE) --no-print-directory packages PACKAGES="$(TEST_PACKAGES)"
	$(SWIFT) build --build-tests $(SANITIZE)
	ASAN_OPTIONS=detect_leaks=0 $(SWIFT) test --skip-build --disable-swift-testing $(SANITIZE)

# Each harness runs over a scratch copy of its seed corpus (new inputs never land in the repo),
# with the libFuzzer flags in Fuzz/NAME/flags if any; crash/timeout/oom inputs are saved as
# $(FUZZ_WORK)/NAME/crash-* (or timeout-*, oom-*).
fuzz: deps
	@for h in $(FUZZ_HARNESSES); do $(FUZZ_BUILD) --product fuzz-$$h || exit 1; done
	@failed=""; for h in $(FUZZ_HARNESSES); do \
		rm -rf $(FUZZ_WORK)/$$h && mkdir -p $(FUZZ_WORK)/$$h/corpus && cp Fuzz/$$h/corpus/* $(FUZZ_WORK)/$$h/corpus/ || exit 1; \
		counters=$$(ASAN_OPTIONS=detect_leaks=0 .build-fuzz/debug/fuzz-$$h -runs=0 $(FUZZ_WORK)/$$h/corpus 2>&1 | sed -n 's/.*(\([0-9]*\) inline 8-bit counters).*/\1/p'); \
		[ "$${counters:-0}" -ge 1000 ] || { echo "fuzz-$$h: $${counters:-no} coverage counters: built without instrumentation"; exit 1; }; \
		echo "== fuzz-$$h: $(FUZZ_SECONDS) s, $$counters coverage counters, log $(FUZZ_WORK)/$$h/log"; \
		mkdir -p $(FUZZ_WORK)/$$h/tmp; TMPDIR=$(FUZZ_WORK)/$$h/tmp ASAN_OPTIONS=detect_leaks=0 .build-fuzz/debug/fuzz-$$h -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
			$$(cat Fuzz/$$h/flags 2>/dev/null) -artifact_prefix=$(FUZZ_WORK)/$$h/ $(FUZZ_WORK)/$$h/corpus > $(FUZZ_WORK)/$$h/log 2>&1 \
			|| { failed="$$failed $$h"; tail -40 $(FUZZ_WORK)/$$h/log; }; \
		grep -E "^Done|^#[0-9]+.*DONE" $(FUZZ_WORK)/$$h/log | tail -2; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: findings in:$$failed (inputs under $(FUZZ_WORK))"; exit 1; fi; echo "fuzz: no findings"

demo: release
	.build/release/semcom demo

figures:
	@$(MAKE) --no-print-directory packages PACKAGES=librsvg2-bin
	@test -f out/demo/fig08.svg || { echo "out/demo has no figures: run make demo first"; exit 1; }
	mkdir -p docs
	for f in $(FIGURES); do rsvg-convert --width 900 --background-color white out/demo/$$f.svg -o docs/$$f.png || exit 1; done
	cp out/demo/fig04_*.png docs/

clean:
	rm -rf .build .build-sanitize .build-fuzz out
