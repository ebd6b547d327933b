#!/usr/bin/env bash
# Install what the demo and the tests need on a Debian machine (run as root).
# Only missing packages are installed, so a second run costs nothing.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    echo "error: run as root: network namespaces, veth pairs and the kernel's multicast" >&2
    echo "       routing socket all need CAP_NET_ADMIN (try: sudo $0)" >&2
    exit 1
fi

# command -> Debian package
need=()
command -v ip      >/dev/null 2>&1 || need+=(iproute2)
command -v nft     >/dev/null 2>&1 || need+=(nftables)
command -v ethtool >/dev/null 2>&1 || need+=(ethtool)
command -v tshark  >/dev/null 2>&1 || need+=(tshark)
command -v pgrep   >/dev/null 2>&1 || need+=(procps)
command -v ping    >/dev/null 2>&1 || need+=(iputils-ping)
[ -x /usr/lib/frr/pimd ]             || need+=(frr)
/usr/bin/python3 -c 'import scapy' >/dev/null 2>&1 || need+=(python3-scapy)

if [ "${#need[@]}" -gt 0 ]; then
    echo "installing: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # tshark asks whether non-root users may capture; the answer does not matter here.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${need[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo not found: install a Rust toolchain >= 1.85 (edition 2024), e.g. with rustup" >&2
    exit 1
fi
