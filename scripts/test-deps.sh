#!/usr/bin/env bash
# Installs what make test needs beyond Go, make and git, when it is missing:
# a C compiler (go test -race needs cgo) and Chromium (the viewer's
# browser tests). As root it installs them with apt-get; otherwise it
# prints one line saying exactly what to install and fails, before any
# test runs. RAFTCHECK_NO_BROWSER=1 skips the browser tests (and Chromium).
set -euo pipefail

missing=()
if ! command -v "${CC:-gcc}" >/dev/null 2>&1 && ! command -v cc >/dev/null 2>&1; then
	missing+=(gcc libc6-dev)
fi
if [ "${RAFTCHECK_NO_BROWSER:-}" != 1 ] &&
	! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1 &&
	! command -v google-chrome >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
	missing+=(chromium)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
skip=""
case " ${missing[*]} " in *" chromium "*) skip=" (or set RAFTCHECK_NO_BROWSER=1 to skip the browser tests)" ;; esac

if command -v apt-get >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ]; then
		sudo=""
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		sudo="sudo"
	else
		echo "make test needs ${missing[*]}: run 'sudo apt-get install -y ${missing[*]}'$skip" >&2
		exit 1
	fi
	echo "make test: installing ${missing[*]} with apt-get" >&2
	$sudo apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
	exit 0
fi
echo "make test needs ${missing[*]} (a C compiler for go test -race, Chromium for the viewer's browser tests): install them with your package manager$skip" >&2
exit 1
