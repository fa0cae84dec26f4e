# semcom: the two commands of the README.
#   make demo   build (release) and run the demo
#   make test   build and run the test suite
# Both install the Debian packages they need when missing (as root).

SWIFT ?= swift
DEB_PACKAGES = pkg-config libopenblas-dev libhdf5-dev libjpeg62-turbo-dev libpng-dev libedit-dev

.PHONY: all deps build release test demo clean

all: build

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --disable-swift-testing

demo: release
	.build/release/semcom infer --weights Demo/demo-vit.safetensors --rollout --out out/demo/infer.h5 Demo/example.jpg

clean:
	rm -rf .build out
