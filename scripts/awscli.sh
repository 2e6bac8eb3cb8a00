#!/usr/bin/env bash
# Installs the AWS command line (awscli from PyPI) into a private virtual environment under
# ${SLUICE_CACHE:-~/.cache/sluice}/awscli, once, and prints the path of its `aws` binary on stdout.
# The API's CLI conformance test (internal/api) runs that binary against `sluice serve`.
# Everything else goes to stderr so that callers can do: AWS=$(bash scripts/awscli.sh).
set -euo pipefail
cache="${SLUICE_CACHE:-$HOME/.cache/sluice}"
venv="$cache/awscli"
bin="$venv/bin/aws"

if [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; then
	echo "$bin"
	exit 0
fi

# One installer at a time (parallel test runs share the cache); re-check once we hold the lock.
mkdir -p "$cache"
if command -v flock >/dev/null 2>&1; then
	exec 9>"$cache/awscli.lock"
	flock 9
	if [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; then
		echo "$bin"
		exit 0
	fi
fi

py="${PYTHON:-}"
if [ -z "$py" ]; then
	for c in python3 python; do
		if command -v "$c" >/dev/null 2>&1; then py="$c"; break; fi
	done
fi
if [ -z "$py" ]; then
	echo "awscli.sh: no python3 found; install python3 (with venv) first" >&2
	exit 1
fi

rm -rf "$venv"
echo "awscli.sh: creating $venv" >&2
"$py" -m venv "$venv" >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check awscli >&2
if ! "$bin" --version >&2; then
	echo "awscli.sh: $bin does not run after installation" >&2
	exit 1
fi
echo "$bin"
