#!/usr/bin/env bash
# test.sh — what `make test` (and so CI) runs after lint: installs and starts the real Kafka broker
# (scripts/kafka/ctl.sh) and the Secrets Manager emulator (scripts/moto/ctl.sh), exports the
# SLUICE_* variables with SLUICE_KAFKA_REQUIRED=1 and SLUICE_AWS_REQUIRED=1 (so no real-broker or
# emulator test can pass by skipping), runs every test with the race detector, and always stops
# what it started. A broker or emulator that was already running (a developer's) is reused and
# left running. `make test PKGS=./internal/foo/...` (SLUICE_TEST_PKGS) narrows the packages.
set -euo pipefail
cd "$(dirname "$0")/.."

t0=$SECONDS
step() { printf '==> [%s +%ss] %s\n' "$(date -u +%H:%M:%S)" "$((SECONDS - t0))" "$*"; }

started_kafka=0
started_moto=0
cleanup() {
	local rc=$?
	if [ $started_moto = 1 ]; then step "stopping the Secrets Manager emulator"; scripts/moto/ctl.sh stop || true; fi
	if [ $started_kafka = 1 ]; then step "stopping the Kafka broker"; scripts/kafka/ctl.sh stop || true; fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step "installing the Kafka broker jars and the emulator (cached after the first run)"
scripts/moto/ctl.sh install &
moto_install=$!
scripts/kafka/ctl.sh install
wait $moto_install

if scripts/kafka/ctl.sh status 2>/dev/null; then
	step "reusing the Kafka broker that is already running"
	scripts/kafka/ctl.sh wait
else
	step "starting a fresh Kafka broker"
	started_kafka=1
	scripts/kafka/ctl.sh reset
	scripts/kafka/ctl.sh start
fi
if scripts/moto/ctl.sh status 2>/dev/null; then
	step "reusing the Secrets Manager emulator that is already running"
else
	step "starting the Secrets Manager emulator"
	started_moto=1
	scripts/moto/ctl.sh start
fi

eval "$(scripts/kafka/ctl.sh env)"
eval "$(scripts/moto/ctl.sh env)"
export SLUICE_KAFKA_REQUIRED=1 SLUICE_AWS_REQUIRED=1
step "installing the AWS CLI for the API conformance test (cached after the first run)"
SLUICE_AWS_CLI="$(scripts/awscli.sh)"
export SLUICE_AWS_CLI SLUICE_AWS_CLI_REQUIRED=1
env | grep '^SLUICE_' | sort | sed 's/^/    /'

# Two packages at a time: the machine has two cores, and each real-broker package shares the one
# broker with the other.
pkgs=${SLUICE_TEST_PKGS:-./...}
step "go test -race -count=1 -p 2 -timeout 25m $pkgs"
# shellcheck disable=SC2086 # a list of package patterns
go test -race -count=1 -p 2 -timeout 25m $pkgs
# The race detector makes allocation counts meaningless, so the zero-allocation promises of the hot paths
# are checked once more without it.
step "allocation checks without the race detector"
go test -count=1 -run 'Alloc|Allocate' ./pattern/... ./transform/...
step "all tests passed"
