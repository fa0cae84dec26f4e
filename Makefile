# semcom: the two commands of the README.
#   make demo   build (release) and run the demo
#   make test   build and run the test suite
# Both install the Debian packages they need when missing (as root).
#   make figures  render the demo's main figures (out/demo, from make demo) into docs/ as PNG
#   make sanitize the test suite built and run with AddressSanitizer (Swift and C) and
#                 UndefinedBehaviorSanitizer (the C targets: Swift has no UBSan on Linux)
#                 in its own build folder .build-sanitize. Leak checking is off: LeakSanitizer
#                 reports allocations on Foundation's and XCTest's error paths (not ours to fix here)

SWIFT ?= swift
DEB_PACKAGES = pkg-config libopenblas-dev libhdf5-dev libjpeg62-turbo-dev libpng-dev libedit-dev
# make test also installs Debian's h5py and numpy (the tests read caches with /usr/bin/python3)
# and tmux (the REPL's Ctrl-C tests run it in a terminal).
TEST_PACKAGES = python3-h5py python3-numpy tmux
FIGURES = fig07 fig08 fig10 fig11 fig11_hist fig12 fig13 fig14 fig15 fig16

.PHONY: all deps install build release test sanitize demo figures clean

all: build

deps:
	@$(MAKE) --no-print-directory install PACKAGES="$(DEB_PACKAGES)"

install:
	@missing=$$(for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

test: deps
	@$(MAKE) --no-print-directory install PACKAGES="$(TEST_PACKAGES)"
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --disable-swift-testing

SANITIZE = --sanitize address -Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=undefined --scratch-path .build-sanitize
sanitize: deps
	@$(MAKE) --no-print-directory install PACKAGES="$(TEST_PACKAGES)"
	$(SWIFT) build --build-tests $(SANITIZE)
	ASAN_OPTIONS=detect_leaks=0 $(SWIFT) test --skip-build --disable-swift-testing $(SANITIZE)

demo: release
	.build/release/semcom demo

figures:
	@$(MAKE) --no-print-directory install PACKAGES=librsvg2-bin
	@test -f out/demo/fig08.svg || { echo "out/demo has no figures: run make demo first"; exit 1; }
	mkdir -p docs
	for f in $(FIGURES); do rsvg-convert --width 900 --background-color white out/demo/$$f.svg -o docs/$$f.png || exit 1; done
	cp out/demo/fig04_*.png docs/

clean:
	rm -rf .build .build-sanitize out
