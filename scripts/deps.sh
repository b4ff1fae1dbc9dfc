#!/usr/bin/env bash
# Install every Debian package Portcullis needs to build, test, benchmark and run its demo lab.
# Idempotent: safe to run again; apt-get update runs once per invocation.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

BUILD_PKGS=(
	build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
	libsqlite3-dev sqlite3 libssl-dev libmicrohttpd-dev libjansson-dev
	libcmocka-dev libmnl-dev libnftnl-dev libgcrypt20-dev
)
TEST_PKGS=(
	iproute2 iputils-ping nftables conntrack procps psmisc curl netcat-openbsd telnet tcpdump
	vpnc strongswan-charon strongswan-swanctl libcharon-extra-plugins libcharon-extauth-plugins libstrongswan-standard-plugins
	libstrongswan-extra-plugins freeradius freeradius-utils ike-scan tshark
	iperf3 libauthen-tacacsplus-perl python3 ethtool
)
WEB_PKGS=(chromium chromium-driver)
VM_PKGS=(qemu-system-x86 busybox-static kmod cpio xz-utils zstd)
BENCH_PKGS=(wrk hyperfine valgrind linux-perf bc time)

# The machine image ships Node.js with npm; Debian's nodejs would conflict with it, so only add it when absent.
command -v node >/dev/null 2>&1 || WEB_PKGS+=(nodejs npm)

want=("${BUILD_PKGS[@]}" "${TEST_PKGS[@]}" "${WEB_PKGS[@]}" "${VM_PKGS[@]}" "${BENCH_PKGS[@]}")

missing=()
for p in "${want[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if [ "${#missing[@]}" -eq 0 ]; then
	echo "deps: all ${#want[@]} packages already installed"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: ${#missing[@]} packages missing (${missing[*]}) and not root; run as root" >&2
	exit 1
fi

echo "deps: installing ${#missing[@]} packages: ${missing[*]}"
echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
# Services installed by the packages are started by our tests on demand, never left to run system-wide.
for svc in freeradius strongswan-starter ipsec; do
	if command -v systemctl >/dev/null 2>&1; then systemctl disable --now "$svc" >/dev/null 2>&1 || true; fi
	pkill -x "$svc" >/dev/null 2>&1 || true
done
pkill -x freeradius >/dev/null 2>&1 || true
pkill -x charon >/dev/null 2>&1 || true
echo "deps: done"
