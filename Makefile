# stepping: build, test, benchmark and fuzz.
#
#   make test    Postgres up, Chromium there, go vet, gofmt check, every
#                test (CI runs this)
#   make build   build every package and bin/stepq
#   make bench   run every benchmark once
#   make fuzz    run every fuzz target for FUZZTIME (default 10s) each, then
#                report each target's result (non-zero status if any failed)
#   make fuzz-ci every fuzz target for FUZZCITIME (default 20000 inputs):
#                CI runs this
#   make locks   rewrite examples/*.step.lock after a change to an example
#                or to the compiler (review the diff before committing)

GO ?= go
FUZZTIME ?= 10s
# Short enough that CI's run of every target stays well under two minutes
# on two cores, long enough to replay the seeds and try thousands of
# inputs each (a few seconds for the slowest target). A count, not a
# duration: with a duration, go1.26's fuzzer can fail a target that
# found nothing with "context deadline exceeded" when a loaded machine
# slows a worker at the deadline (go.dev/issue/75804, fixed in go1.27).
FUZZCITIME ?= 20000x
# Tests that need Postgres connect here; scripts/ensure-postgres.sh makes
# sure a server answers at 127.0.0.1:5432 first.
STEPPING_TEST_DSN ?= postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
export STEPPING_TEST_DSN

.PHONY: test postgres chromium vet fmt-check unit build bench fuzz fuzz-ci locks

test: postgres chromium vet fmt-check unit

postgres:
	@bash scripts/ensure-postgres.sh

# The browser tests of serve/web drive Debian's Chromium; this installs
# it when it is missing (as root, with apt-get).
chromium:
	@bash scripts/ensure-chromium.sh

vet:
	$(GO) vet ./...

# gofmt -l lists the files whose formatting differs; any is a failure.
fmt-check:
	@files=$$(find . -name '*.go' -not -path './.git/*' -not -path '*/testdata/*' | xargs -r gofmt -l); \
	if [ -n "$$files" ]; then \
		echo "gofmt: these files are not formatted (run gofmt -w on them):"; \
		echo "$$files"; \
		exit 1; \
	fi

unit:
	$(GO) test -count=1 -race ./...

build:
	$(GO) build ./...
	$(GO) build -o bin/stepq ./cmd/stepq

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

fuzz:
	@FUZZTIME=$(FUZZTIME) GO=$(GO) bash scripts/fuzz.sh

fuzz-ci:
	@FUZZTIME=$(FUZZCITIME) FUZZMINIMIZETIME=5s GO=$(GO) bash scripts/fuzz.sh

# TestExampleLocks fails on a stale lock; -update rewrites each as stepq
# lock would.
locks:
	$(GO) test -run '^TestExampleLocks$$' -count=1 . -update
