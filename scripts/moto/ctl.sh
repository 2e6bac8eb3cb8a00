#!/usr/bin/env bash
# ctl.sh — the AWS emulator for Sluice's tests: moto's server mode in a Python venv, with every
# service's dependencies (SQS, SNS, Kinesis, Firehose, S3, EventBridge, CloudWatch Logs, Lambda, Step
# Functions, STS, IAM, ECS, Batch, Redshift Data, SageMaker, Secrets Manager, ...) on one port.
#
#   ctl.sh install   create the venv under the cache and install moto's server (once)
#   ctl.sh start     start the server on 127.0.0.1:$SLUICE_MOTO_PORT (idempotent) and wait until it answers
#   ctl.sh stop      stop it
#   ctl.sh status    exit 0 when it runs
#   ctl.sh env       print the exports: eval "$(scripts/moto/ctl.sh env)"
#   ctl.sh free-port print a free port: 5055 when it is, else one between 15055 and 16054
#
# Any access key works against it (access key "test" is account 123456789012); use region us-east-1.
# State lives in memory only: a restart forgets every queue, stream and secret.
set -euo pipefail

MOTO_VERSION=${SLUICE_MOTO_VERSION:-5.2.5}
# moto[server]: the server mode plus every service's dependencies, so that all the AWS targets'
# services answer (about 30 s to install). flask and flask-cors stay pinned as before.
MOTO_PIP=${SLUICE_MOTO_PIP:-moto[server]==$MOTO_VERSION flask==3.1.3 flask-cors==6.0.5}
CACHE=${SLUICE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice}
# One venv per requirement list, so changing it installs afresh.
VENV=$CACHE/moto-$MOTO_VERSION-$(printf '%s' "$MOTO_PIP" | cksum | cut -d' ' -f1)
RUN=$CACHE/run/moto
PIDFILE=$RUN/moto.pid
LOG=$RUN/moto.log
# `start` records the port in $RUN/port, so `env` without SLUICE_MOTO_PORT finds the running server.
PORT=${SLUICE_MOTO_PORT:-$(cat "$RUN/port" 2>/dev/null || echo 5055)}

say() { printf 'moto: %s\n' "$*" >&2; }
die() {
	say "error: $*"
	exit 1
}

lock() {
	mkdir -p "$RUN"
	exec 9>"$RUN/ctl.lock"
	flock -w 300 9 || die "another ctl.sh has held $RUN/ctl.lock for 5 minutes"
}

install() {
	if [ -f "$VENV/.complete" ]; then return 0; fi
	command -v python3 >/dev/null || die "python3 is needed for the AWS emulator (moto)"
	say "installing $MOTO_PIP into $VENV (first run only)"
	local t0=$SECONDS
	rm -rf "$VENV"
	python3 -m venv "$VENV" || die "python3 -m venv failed (is the venv module installed?)"
	# shellcheck disable=SC2086 # a list of requirements
	if ! "$VENV/bin/pip" install -q --disable-pip-version-check $MOTO_PIP >"$CACHE/moto-install.log" 2>&1; then
		tail -20 "$CACHE/moto-install.log" >&2
		die "pip could not install $MOTO_PIP"
	fi
	touch "$VENV/.complete"
	say "installed in $((SECONDS - t0))s"
}

running() {
	[ -f "$PIDFILE" ] || return 1
	local pid
	pid=$(cat "$PIDFILE")
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q moto "/proc/$pid/cmdline" 2>/dev/null
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port prints 5055 when free, else a free port between 15055 and 16054 (random start, so two
# test runs at once rarely pick the same).
free_port() {
	if ! port_open 5055; then
		echo 5055
		return 0
	fi
	local i p start=$((RANDOM % 1000))
	for i in $(seq 0 999); do
		p=$((15055 + (start + i) % 1000))
		if ! port_open "$p"; then
			echo "$p"
			return 0
		fi
	done
	die "no free port between 15055 and 16054"
}

answers() {
	"$VENV/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
		"http://127.0.0.1:$PORT/moto-api/" 2>/dev/null
}

start() {
	install
	if running; then
		say "already running (pid $(cat "$PIDFILE"))"
		return 0
	fi
	if port_open "$PORT"; then
		die "port $PORT is in use by a process that is not this emulator (set SLUICE_MOTO_PORT)"
	fi
	setsid "$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >"$LOG" 2>&1 </dev/null 9>&- &
	echo $! >"$PIDFILE"
	echo "$PORT" >"$RUN/port"
	local deadline=$((SECONDS + 60))
	until answers; do
		kill -0 "$(cat "$PIDFILE")" 2>/dev/null || { cat "$LOG" >&2; die "moto_server exited while starting"; }
		[ $SECONDS -lt $deadline ] || die "moto_server did not answer within 60s (log: $LOG)"
		sleep 0.2
	done
	# The settings every test expects, set once here because they are global to the server (tests also set
	# them, idempotently): Lambda functions answer without Docker (moto echoes the event or a queued
	# response), and Step Functions state machines really run their definitions.
	curl -fsS -X POST -H 'Content-Type: application/json' \
		-d '{"lambda": {"use_docker": false}, "stepfunctions": {"execute_state_machine": true}}' \
		"http://127.0.0.1:$PORT/moto-api/config" >/dev/null || die "could not configure moto"
	say "started (pid $(cat "$PIDFILE")) on http://127.0.0.1:$PORT"
}

stop() {
	if ! running; then
		rm -f "$PIDFILE"
		say "not running"
		return 0
	fi
	local pid
	pid=$(cat "$PIDFILE")
	kill -TERM "$pid"
	for _ in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$PIDFILE"
	say "stopped (pid $pid)"
}

case ${1:-} in
install) install ;;
start) lock && start ;;
stop) lock && stop ;;
status)
	if running; then say "running (pid $(cat "$PIDFILE"))"; else
		say "not running"
		exit 1
	fi
	;;
env) echo "export SLUICE_AWS_ENDPOINT=http://127.0.0.1:$PORT" ;;
free-port) free_port ;;
*)
	sed -n '2,15p' "$0" >&2
	exit 2
	;;
esac
