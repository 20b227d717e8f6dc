# The entry points the README names. Each target installs what it needs first (scripts/setup).
.PHONY: setup build release run test bench protos clean

setup:
	scripts/setup

build: setup
	swift build

release: setup
	swift build -c release --product vdbm

# Starts the embedded Milvus 2.3.5, then vdbm in the foreground (Ctrl+C stops both).
run: release
	scripts/run

# Unit tests, protobuf staleness check, zero-warning build and the end-to-end suite.
test: setup
	scripts/test

bench: setup
	scripts/bench-health

protos:
	scripts/gen-protos

clean:
	rm -rf .build
