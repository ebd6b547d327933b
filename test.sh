#!/usr/bin/env bash
# Run every test: unit, virtual-time, and real network-namespace topologies.
# Needs root (namespaces and the kernel's multicast routing). Installs what it needs.
set -euo pipefail
cd "$(dirname "$0")"
scripts/deps.sh
cargo build --workspace --all-targets --locked
# Namespace tests spend most of their time waiting for packets and timers, so more
# threads than cores is right; each test builds its own uniquely named topology.
cargo test --workspace --locked -- --test-threads="${TEST_THREADS:-6}"
