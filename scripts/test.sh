#!/usr/bin/env bash
# test.sh — what `make test` (and so CI) runs after lint: installs and starts the real Kafka broker
# (scripts/kafka/ctl.sh) and the AWS emulator (moto) (scripts/moto/ctl.sh), exports the
# SLUICE_* variables with SLUICE_KAFKA_REQUIRED=1 and SLUICE_AWS_REQUIRED=1 (so no real-broker or
# emulator test can pass by skipping), runs every test with the race detector, and always stops
# what it started. A broker or emulator that was already running (a developer's) is reused and
# left running, but only when its pid file under $SLUICE_CACHE says it is this cache's own: a
# foreign listener on 9092 (a `sluice dev`, another cache's broker) is never used. Otherwise the
# broker starts on free ports (9092..9096 when free, else SLUICE_KAFKA_PORT_BASE picked by
# `ctl.sh free-port-base`), the emulator on 5055 or a free port, and the tests read the addresses
# from the SLUICE_* exports. Setting SLUICE_KAFKA_PORT_BASE or SLUICE_MOTO_PORT pins them.
# `make test PKGS=./internal/foo/...` (SLUICE_TEST_PKGS) narrows the packages.
set -euo pipefail
cd "$(dirname "$0")/.."

t0=$SECONDS
step() { printf '==> [%s +%ss] %s\n' "$(date -u +%H:%M:%S)" "$((SECONDS - t0))" "$*"; }

started_kafka=0
started_moto=0
cleanup() {
	local rc=$?
	if [ $started_moto = 1 ]; then step "stopping the AWS emulator (moto)"; scripts/moto/ctl.sh stop || true; fi
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
	# ctl.sh status is true only for the broker its pid file names, started with this cache's
	# server.properties; ctl.sh env then prints the ports it was started on.
	step "reusing the Kafka broker of ${SLUICE_CACHE:-~/.cache/sluice} that is already running"
	scripts/kafka/ctl.sh wait
else
	started_kafka=1
	scripts/kafka/ctl.sh reset
	# A port found free can be taken before the broker binds it (another test run picking the same
	# base): ctl.sh start then exits 3, and a new base is picked. A base the caller set is kept.
	for attempt in 1 2 3 4 5; do
		if [ -z "${SLUICE_KAFKA_PORT_BASE:-}" ] || [ "${picked_base:-0}" = 1 ]; then
			SLUICE_KAFKA_PORT_BASE=$(scripts/kafka/ctl.sh free-port-base)
			picked_base=1
		fi
		export SLUICE_KAFKA_PORT_BASE
		step "starting a fresh Kafka broker on ports $SLUICE_KAFKA_PORT_BASE..$((SLUICE_KAFKA_PORT_BASE + 4))"
		rc=0
		scripts/kafka/ctl.sh start || rc=$?
		if [ $rc = 0 ]; then break; fi
		if [ $rc != 3 ] || [ "${picked_base:-0}" != 1 ] || [ $attempt = 5 ]; then exit $rc; fi
	done
fi
if scripts/moto/ctl.sh status 2>/dev/null; then
	step "reusing the AWS emulator (moto) that is already running"
else
	started_moto=1
	if [ -z "${SLUICE_MOTO_PORT:-}" ]; then
		SLUICE_MOTO_PORT=$(scripts/moto/ctl.sh free-port)
		export SLUICE_MOTO_PORT
	fi
	step "starting the AWS emulator (moto) on port $SLUICE_MOTO_PORT"
	scripts/moto/ctl.sh start
fi

step "installing headless Chromium for the web console's browser tests (apt-get, once)"
scripts/chromium/ctl.sh install
export SLUICE_REQUIRE_BROWSER=1

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
