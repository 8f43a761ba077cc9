# inzone: keeps service-mesh traffic inside its availability zone.
# `make help` lists the targets.

SHELL := /usr/bin/env bash
GO ?= go
BIN := $(CURDIR)/bin
# The control plane the real-cluster tests run (built from the Go module proxy).
KUBE_VERSION ?= v1.36.3
ETCD_VERSION ?= v3.6.6
HELM_VERSION ?= v3.22.0
COREDNS_VERSION ?= v1.15.0
# The image `make image` builds.
PLATFORMS ?= linux/amd64,linux/arm64
IMAGE_TAG ?= $(shell sed -n 's/^appVersion: "\(.*\)"/\1/p' charts/inzone/Chart.yaml)
FUZZTIME ?= 30s
export KUBEBUILDER_ASSETS := $(BIN)

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  %-10s %s\n", $$1, $$2}'

.PHONY: build
build: ## build the binaries into ./bin (static, as the image's: CGO_ENABLED=0)
	CGO_ENABLED=0 $(GO) build -o $(BIN)/ ./cmd/...

.PHONY: image
image: ## build the images as OCI archives without a container engine: dist/inzone-image.tar and the capture init container's dist/inzone-capture-image.tar (Debian's iptables, through apt-get)
	$(GO) run ./hack/image -o dist/inzone-image.tar -capture-o dist/inzone-capture-image.tar -platforms $(PLATFORMS) -tag $(IMAGE_TAG)

.PHONY: bin
bin: ## build kube-apiserver, kube-scheduler, kube-controller-manager, etcd, helm and coredns, and fetch the chart's optional CRDs, into ./bin (cached)
	@KUBE_VERSION=$(KUBE_VERSION) ETCD_VERSION=$(ETCD_VERSION) hack/build-control-plane.sh $(BIN)
	@HELM_VERSION=$(HELM_VERSION) hack/build-helm.sh $(BIN)
	@COREDNS_VERSION=$(COREDNS_VERSION) hack/build-coredns.sh $(BIN)
	@hack/fetch-crds.sh $(BIN)

.PHONY: test
test: verify bin ## run every test: unit, golden, fuzz seeds, and end to end on a real kube-apiserver
	INZONE_E2E_REQUIRED=1 $(GO) test -count=1 -timeout 30m ./...

.PHONY: test-image
test-image: ## build the capture image from Debian's packages (fetched with apt) and run its own iptables in a network namespace (root)
	INZONE_IMAGE_TEST=1 INZONE_E2E_REQUIRED=1 $(GO) test -count=1 -run 'CaptureImage' -v -timeout 20m ./hack/image

.PHONY: unit
unit: ## run the tests that need no control plane
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /test/e2e)

.PHONY: e2e
e2e: bin ## run the end-to-end tests on a real kube-apiserver and etcd
	INZONE_E2E_REQUIRED=1 $(GO) test -count=1 -timeout 30m -v ./test/...

.PHONY: verify
verify: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './bin/*')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

.PHONY: golden
golden: ## rewrite golden files under testdata/ from the current code
	$(GO) test ./mutate/... ./webhook/... ./lint/... ./report/... ./inject/... ./capture/... ./xds/... -update

.PHONY: docs
docs: ## regenerate the rule pages: policies/<rule>/README.md from METADATA and testdata, docs/rules/<rule>.md from report/rules.go
	$(GO) test ./lint/rego ./report -run 'TestRuleDocsAreCurrent|TestGoRuleDocsAreCurrent' -update

.PHONY: verify-policies
verify-policies: ## run the policies' Rego unit tests through inzone lint verify
	$(GO) run ./cmd/inzone lint verify

.PHONY: bench
bench: ## run the benchmarks (figures in README.md)
	$(GO) test -run '^$$' -bench . -benchmem ./mutate/... ./elb/... ./webhook/... ./lint/...

.PHONY: bench-lint
bench-lint: ## whole-binary inzone lint on ../shared/corpus 1x/4x/16x, beside conftest when installed
	hack/bench-lint.sh

.PHONY: bench-audit
bench-audit: bin ## kubectl inzone audit on 10,000 pods and 2,000 Services, then on 9,000 injected pods, in the test API server: wall time and peak RSS
	INZONE_E2E_REQUIRED=1 $(GO) test -run '^$$' -bench AuditLargeCluster -benchtime 1x -timeout 20m ./test/audit

.PHONY: bench-xds
bench-xds: bin ## inzone-xds on 1,000 Services and 2,000 ADS streams (every Service, then 10 declared callees), then go-control-plane alone on the same streams (hack/bench/barexds): RSS, per stream, push latency
	INZONE_E2E_REQUIRED=1 $(GO) test -run '^$$' -bench BenchmarkXDS -benchtime 1x -timeout 40m ./test/xds
	INZONE_E2E_REQUIRED=1 INZONE_BENCH_CALLS=10 $(GO) test -run '^$$' -bench BenchmarkXDS -benchtime 1x -timeout 40m ./test/xds
	INZONE_BENCH_BARE=1 $(GO) test -run '^$$' -bench BenchmarkXDS -benchtime 1x -timeout 40m ./test/xds
	INZONE_BENCH_BARE=1 INZONE_BENCH_SERVICES=10 $(GO) test -run '^$$' -bench BenchmarkXDS -benchtime 1x -timeout 40m ./test/xds

.PHONY: bench-placement
bench-placement: bin ## 1,000 pods placed through webhook and scheduler on the test API server, and the placement table (INZONE_PLACEMENT_OUT=FILE writes it as JSON)
	INZONE_E2E_REQUIRED=1 $(GO) test -run '^TestCrossZone$$' -bench Place1000Pods -benchtime 1x -timeout 20m -v ./test/placement

.PHONY: fuzz
fuzz: ## fuzz every target (each func Fuzz... in a _test.go file, found from the tree) for FUZZTIME (default 30s)
	@set -e; for f in $$(git ls-files '*_test.go' | xargs grep -l '^func Fuzz'); do \
		for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
			echo "== $$t ./$$(dirname $$f)"; \
			$(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) ./$$(dirname $$f); \
		done; \
	done

.PHONY: demo
demo: bin ## install the chart on a throwaway control plane, run inzone-webhook and inzone-xds, show what was injected and what inzone-xds serves
	$(GO) run ./hack/demo
