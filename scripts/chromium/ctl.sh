#!/usr/bin/env bash
# ctl.sh — the headless Chromium the web console's browser tests drive (internal/console, chromedp).
#   ctl.sh install   installs Debian's chromium package with apt-get when no chromium is on PATH
#   ctl.sh path      prints the browser's path (exit 1 when there is none)
# scripts/test.sh runs `install` and exports SLUICE_REQUIRE_BROWSER=1, so that the browser tests fail
# instead of skipping when the browser is missing.
set -euo pipefail

find_browser() {
	for b in chromium chromium-browser google-chrome; do
		if command -v "$b" >/dev/null 2>&1; then command -v "$b"; return 0; fi
	done
	return 1
}

case "${1:-}" in
install)
	if find_browser >/dev/null; then exit 0; fi
	sudo=""
	if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
	find_browser >/dev/null
	;;
path)
	find_browser
	;;
*)
	echo "usage: $0 install|path" >&2
	exit 2
	;;
esac
