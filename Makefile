# eventcheck: every target works on a fresh machine after `.ci/run`'s
# installs; `make run` and `make test` are the two README commands.
GO ?= go
EVENTCHECK = $(GO) run ./cmd/eventcheck

.PHONY: run test test-kind soak-kind unit e2e bench profile drills lint deps engine engine-down localcluster clean

## run: the main job: the whole workshop story on the default environment
## (kind + container with a container engine, else local + local)
run: localcluster
	$(EVENTCHECK) run --localcluster-bin bin/localcluster --junit artifacts/junit.xml --json artifacts/report.json --report artifacts/report.html --artifacts artifacts

## test: unit tests and the local end-to-end tests (what CI runs)
test: localcluster lint
	$(GO) test -count=1 -timeout 30m ./...
	cd localcluster && $(GO) test -count=1 ./internal/registry/ ./internal/pki/
	# Short fuzz runs, about 10 s each. The budget is a count, not a duration:
	# a time budget that ends while a worker minimises an input fails the run
	# with "context deadline exceeded" though nothing was found.
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 150000x -fuzzminimizetime 1s ./exporter/config/
	$(GO) test -run '^$$' -fuzz FuzzBuild -fuzztime 50000x -fuzzminimizetime 1s ./exporter/document/

## test-kind: the design card's path: the e2e suite on kind + an OpenSearch
## container, on a Docker daemon of ours, every image built here (kind's node
## image from Kubernetes' Go modules); reports under artifacts/kind
KIND_SUITE = $(GO) test -count=1 -v -timeout 45m ./e2e/ -args --cluster kind --opensearch container
test-kind: localcluster engine
	$(KIND_SUITE) --junit $(CURDIR)/artifacts/kind/junit.xml --json $(CURDIR)/artifacts/kind/report.json \
		--report $(CURDIR)/artifacts/kind/report.html --artifacts $(CURDIR)/artifacts/kind

## soak-kind: the kind suite N times (default 10): each run's result and
## times (environment up, story, total), then min/median/max; each run's
## reports under artifacts/soak-kind/RUN, the record in its summary.txt
N ?= 10
soak-kind: localcluster engine
	.ci/soak-kind $(N) '$(KIND_SUITE)' $(CURDIR)/artifacts/soak-kind

## unit: only the fast tests
unit:
	$(GO) test -short ./...

## e2e: the e2e-framework suite, with run's reports under artifacts/e2e
## (pass flags with E2E_ARGS="--cluster local ...")
e2e: localcluster
	$(GO) test -count=1 -v ./e2e/ -args --junit $(CURDIR)/artifacts/e2e/junit.xml --json $(CURDIR)/artifacts/e2e/report.json \
		--report $(CURDIR)/artifacts/e2e/report.html --artifacts $(CURDIR)/artifacts/e2e $(E2E_ARGS)

## profile: the exporter's CPU and heap profiles under its benchmarks' load, with their tops
profile: localcluster
	$(GO) test -run '^$$' -bench 'EventToSearchable|RSS|SideBySide' -benchtime 1x -timeout 30m ./exporter/ -args -profiles $(CURDIR)/artifacts/profiles
	@for p in artifacts/profiles/*.pprof; do echo "== $$p"; $(GO) tool pprof -top -nodecount 25 $$p 2>/dev/null | sed -n '1,32p'; done

## bench: speed and memory figures (printed, never asserted); the engine
## (as for test-kind), or the image and kind benchmarks would skip
bench: localcluster engine
	$(GO) test -run '^$$' -bench . -benchtime 3x ./internal/cluster/internal/providers/local/ ./internal/opensearch/internal/providers/local/
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./exporter/
	$(GO) test -run '^$$' -bench . -benchtime 3x ./internal/session/
	$(GO) test -run '^$$' -bench . -benchtime 1x ./internal/images/ ./internal/opensearch/internal/providers/container/

## drills: the exporter's fault drills at scale: 10,000 events each, with
## OpenSearch stopped 30 s, the exporter killed, the API connection cut and
## a 410 Gone, the real API server restarted, 429s for 10 s, a document
## rejected for good (short forms run
## in `make test`)
drills: localcluster
	$(GO) test -count=1 -v -run 'TestDrill' -timeout 60m ./exporter/ -args -drill-events 10000 -drill-outage 30s

## deps: install what a fresh machine lacks (Go modules, the OpenSearch
## distributions from Maven Central, plain and with the security plugin,
## their system user)
deps:
	$(GO) mod download
	cd localcluster && $(GO) mod download
	$(EVENTCHECK) env prepare
	$(EVENTCHECK) env prepare --opensearch-security

## engine: make a container engine answer for the container paths: a
## Docker daemon of ours (installing Debian's docker.io when it is missing
## and we are root), state under the user cache; engine-down stops it
engine:
	$(EVENTCHECK) env engine up

engine-down:
	$(EVENTCHECK) env engine down

ACTIONLINT = github.com/rhysd/actionlint/cmd/actionlint@v1.7.12

## lint: go vet and gofmt on both modules, actionlint on the workflows
lint:
	$(GO) vet ./...
	cd localcluster && $(GO) vet ./...
	$(GO) run $(ACTIONLINT) .github/workflows/*.yaml examples/*.yaml
	@unformatted="$$(gofmt -l . )"; if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi

## localcluster: build bin/localcluster (cold ~10-15 min, then cached)
localcluster:
	$(EVENTCHECK) env build-localcluster

## clean: stop what `eventcheck env up` started and remove build output
clean:
	-$(EVENTCHECK) env down
	rm -rf bin artifacts
