# The entry points the README names. Each target installs what it needs first (scripts/setup).
.PHONY: setup build release run test image bench bench-search bench-hop bench-write chaos soak fuzz protos docs clean

setup:
	scripts/setup

build: setup
	scripts/stamp-commit
	swift build

release: setup
	scripts/stamp-commit
	swift build -c release --product vdbm

# Starts the embedded Milvus 2.3.5, then vdbm in the foreground (Ctrl+C stops both).
run: release
	scripts/run

# Protobuf staleness check, zero-warning build, Swift unit and integration tests with coverage
# (fails below 80%), the end-to-end suite and the fault tests, against real Milvus servers.
test: setup
	scripts/test

# The container image (deploy/Containerfile) FROM scratch, with podman: localhost/vdbm:<version>.
image: setup
	scripts/image

bench: setup
	scripts/bench-health

# vdbm bench with distinct vectors: Milvus direct, vdbm with and without coalescing, pymilvus, at
# concurrency 1, 8, 32 and 128 (stop `make test` first).
bench-search: setup
	scripts/bench-search

# One hop in front of Milvus: direct, haproxy, nghttpx, vdbm.v1 and the pass-through, interleaved
# (PIN=1 puts Milvus on a core of its own).
bench-hop: setup
	scripts/bench-hop

# Writers of 1 and 8 rows per insert: Milvus direct, vdbm with and without write coalescing.
bench-write: setup
	scripts/bench-write

# Writers and readers through vdbm while Milvus is killed, restarted, frozen and resumed; checks
# nothing acknowledged is lost or doubled (stop `make test` first). SECONDS=120 by default.
chaos: setup
	scripts/chaos $(SECONDS)

# Mixed traffic for MINUTES (10); resident memory and descriptors must stay flat.
soak: setup
	scripts/soak $(MINUTES)

# libFuzzer on every fuzz target for SECONDS (60) each.
fuzz: setup
	scripts/fuzz $(SECONDS)

protos:
	scripts/gen-protos

# docs/configuration.md from the table of keys (a test fails when it is stale).
docs: build
	$$(swift build --show-bin-path)/vdbm config-reference > docs/configuration.md

clean:
	rm -rf .build
