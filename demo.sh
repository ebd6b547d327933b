#!/usr/bin/env bash
# The main job: build a small topology of namespaces, start mrouterd on its routers,
# send multicast and show live delivery per receiver, then tear everything down.
# Needs root. Installs what it needs. Extra arguments go to `testbed demo` (see --help).
set -euo pipefail
cd "$(dirname "$0")"
scripts/deps.sh
cargo build --workspace --locked --bins
exec target/debug/testbed demo "$@"
