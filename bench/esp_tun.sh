#!/usr/bin/env bash
# Throughput and latency through a userspace ESP tunnel: Portcullis' tun backend against
# strongSwan's kernel-libipsec (charon, IKEv2 PSK), same topology, same algorithms
# (ESP-in-UDP on 4500, AES-128-CBC + HMAC-SHA1-96), same machine, one run after the other.
#
#   host (10.89.129.131) --veth-- gw (10.89.129.129 | 192.168.1.1) --veth-- client (192.168.1.5,
#   inner 10.89.129.200)
#
# iperf3 TCP client (inner address) -> host for $SECS seconds, then the reverse (-R), and 100
# pings. Besides throughput it reports the CPU time (user + system) both tunnel endpoints spent
# per GB carried, which says more than throughput on a machine shared with other work. Run as root:  bench/esp_tun.sh [portcullis|strongswan|both] [seconds]
# Needs a build of esp_peer_test (PORTCULLIS_BUILD_DIR, default build/rel: a Release build
# without sanitizers gives the numbers that mean something).
set -euo pipefail

WHICH=${1:-both}
SECS=${2:-10}
BUILD=${PORTCULLIS_BUILD_DIR:-build/rel}
PEER=$BUILD/esp_peer_test
P=pc-espb-$$
NS_H=$P-host NS_G=$P-gw NS_C=$P-cli
WORK=$(mktemp -d /tmp/esp_tun_bench.XXXXXX)
PIDS=()
TUN_PIDS=() # the processes doing ESP (both ends), for CPU accounting

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	for ns in "$NS_H" "$NS_G" "$NS_C"; do ip netns del "$ns" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT

die() {
	echo "esp_tun_bench: $*" >&2
	for f in "$WORK"/*.log "$WORK"/*/charon.log; do
		[ -f "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }
	done
	exit 1
}

setup_net() {
	for ns in "$NS_H" "$NS_G" "$NS_C"; do
		ip netns add "$ns"
		ip -n "$ns" link set lo up
	done
	ip link add h0 netns "$NS_H" type veth peer name gi0 netns "$NS_G"
	ip link add go0 netns "$NS_G" type veth peer name c0 netns "$NS_C"
	ip -n "$NS_H" addr add 10.89.129.131/28 dev h0
	ip -n "$NS_H" link set h0 up
	ip -n "$NS_H" route add default via 10.89.129.129
	ip -n "$NS_G" addr add 10.89.129.129/28 dev gi0
	ip -n "$NS_G" addr add 192.168.1.1/24 dev go0
	ip -n "$NS_G" link set gi0 up
	ip -n "$NS_G" link set go0 up
	ip netns exec "$NS_G" sysctl -qw net.ipv4.ip_forward=1
	ip -n "$NS_C" addr add 192.168.1.5/24 dev c0
	ip -n "$NS_C" addr add 10.89.129.200/32 dev lo
	ip -n "$NS_C" link set c0 up
}

rhex() { python3 -c "import os,sys; print(os.urandom(int(sys.argv[1])).hex())" "$1"; }

start_portcullis() {
	local k1 k2 a1 a2
	k1=$(rhex 16) k2=$(rhex 16) a1=$(rhex 20) a2=$(rhex 20)
	peer() { # ns name local remote spi_in spi_out key_in key_out akey_in akey_out rts lts
		env ESP_PEER_SERVE=1 ESP_PEER_IFNAME="pcb-$2" ESP_PEER_UDP=1 ESP_PEER_LOCAL="$3" \
			ESP_PEER_REMOTE="$4" ESP_PEER_ENC=aes128 ESP_PEER_AUTH=sha1 \
			ESP_PEER_SPI_IN="$5" ESP_PEER_SPI_OUT="$6" ESP_PEER_KEY_IN="$7" \
			ESP_PEER_KEY_OUT="$8" ESP_PEER_AUTHKEY_IN="$9" ESP_PEER_AUTHKEY_OUT="${10}" \
			ESP_PEER_REMOTE_TS="${11}" ESP_PEER_LOCAL_TS="${12}" \
			ESP_PEER_READY="$WORK/$2.ready" ESP_PEER_STATS="$WORK/$2.stats" \
			ip netns exec "$1" "$PEER" >"$WORK/$2.log" 2>&1 &
		PIDS+=($!)
		TUN_PIDS+=($!) # env and ip netns exec exec the peer: this is its pid
	}
	peer "$NS_G" gw 192.168.1.1 192.168.1.5 00001001 00002001 "$k1" "$k2" "$a1" "$a2" \
		10.89.129.200/32 0.0.0.0/0
	peer "$NS_C" cli 192.168.1.5 192.168.1.1 00002001 00001001 "$k2" "$k1" "$a2" "$a1" \
		10.89.129.128/28 10.89.129.200/32
	for _ in $(seq 1 100); do
		[ -e "$WORK/gw.ready" ] && [ -e "$WORK/cli.ready" ] && return 0
		sleep 0.05
	done
	die "portcullis peers did not come up"
}

# charon with kernel-libipsec in each namespace, private /run (pid file, vici socket).
charon_conf() { # dir local remote myid peerid local_ts remote_ts
	local d=$1
	mkdir -p "$d"
	cat >"$d/strongswan.conf" <<EOC
charon {
	load = random nonce openssl kdf hmac pem pkcs1 pubkey kernel-libipsec kernel-netlink socket-default vici
	install_virtual_ip = no
	filelog {
		log {
			path = $d/charon.log
			default = 1
		}
	}
}
EOC
	cat >"$d/swanctl.conf" <<EOC
connections {
	bench {
		version = 2
		local_addrs = $2
		remote_addrs = $3
		encap = yes
		proposals = aes128-sha256-modp2048
		local {
			auth = psk
			id = $4
		}
		remote {
			auth = psk
			id = $5
		}
		children {
			bench {
				local_ts = $6
				remote_ts = $7
				esp_proposals = aes128-sha1
			}
		}
	}
}
secrets {
	ike-bench {
		id-1 = gw
		id-2 = cli
		secret = "bench-only-psk"
	}
}
EOC
}

start_charon() { # ns dir
	# The shell writes its pid and execs charon, so the file holds charon's pid.
	ip netns exec "$1" unshare -m --propagation private sh -c "mount -t tmpfs none /run && \
		echo \$\$ >$2/charon.pid && STRONGSWAN_CONF=$2/strongswan.conf exec /usr/lib/ipsec/charon" \
		>"$2/stdout.log" 2>&1 &
	PIDS+=($!)
}

start_strongswan() {
	charon_conf "$WORK/gw" 192.168.1.1 192.168.1.5 gw cli 10.89.129.128/28 10.89.129.200/32
	charon_conf "$WORK/cli" 192.168.1.5 192.168.1.1 cli gw 10.89.129.200/32 10.89.129.128/28
	start_charon "$NS_G" "$WORK/gw"
	start_charon "$NS_C" "$WORK/cli"
	local d
	for d in gw cli; do
		for _ in $(seq 1 100); do
			[ -S "/proc/$(cat "$WORK/$d/charon.pid" 2>/dev/null || echo 0)/root/run/charon.vici" ] && break
			sleep 0.1
		done
		nsenter -t "$(cat "$WORK/$d/charon.pid")" -m -n swanctl --load-all \
			--file "$WORK/$d/swanctl.conf" >"$WORK/$d-swanctl.log" 2>&1 ||
			die "swanctl --load-all ($d)"
	done
	TUN_PIDS=("$(cat "$WORK/gw/charon.pid")" "$(cat "$WORK/cli/charon.pid")")
	nsenter -t "$(cat "$WORK/cli/charon.pid")" -m -n swanctl --initiate --child bench \
		>"$WORK/initiate.log" 2>&1 || die "swanctl --initiate"
}

# CPU time (user + system, ms) the tunnel processes used so far: the implementations' cost
# per byte, which the other load on a shared machine does not distort as much as throughput.
cpu_ms() {
	local pid total=0 t
	for pid in "${TUN_PIDS[@]}"; do
		t=$(awk '{print $14 + $15}' "/proc/$pid/stat")
		total=$((total + t))
	done
	echo $((total * 1000 / $(getconf CLK_TCK)))
}

iperf_run() { # extra iperf3 args -> "Mbit/s bytes"
	ip netns exec "$NS_H" iperf3 -s -1 -D -B 10.89.129.131 --logfile "$WORK/iperf-s.log"
	sleep 0.5
	ip netns exec "$NS_C" iperf3 -c 10.89.129.131 -B 10.89.129.200 -t "$SECS" -J "$@" |
		python3 -c 'import json,sys; e=json.load(sys.stdin)["end"]["sum_received"]; print("%.0f %d" % (e["bits_per_second"]/1e6, e["bytes"]))'
}

measure() { # label
	local label=$1 up down rtt c0 c1 c2 b_up b_down
	ip netns exec "$NS_C" ping -c 3 -W 2 -I 10.89.129.200 10.89.129.131 >/dev/null ||
		die "$label: no connectivity through the tunnel"
	c0=$(cpu_ms)
	read -r up b_up < <(iperf_run)
	c1=$(cpu_ms)
	read -r down b_down < <(iperf_run -R)
	c2=$(cpu_ms)
	rtt=$(ip netns exec "$NS_C" ping -q -c 100 -i 0.01 -I 10.89.129.200 10.89.129.131 |
		sed -n 's|.* = [0-9.]*/\([0-9.]*\)/.*|\1|p')
	printf '%-11s client->host %5s Mbit/s %5s ms CPU/GB | host->client %5s Mbit/s %5s ms CPU/GB | ping %s ms\n' \
		"$label" "$up" "$(((c1 - c0) * 1000000000 / b_up))" "$down" \
		"$(((c2 - c1) * 1000000000 / b_down))" "$rtt"
}

stop_all() {
	local pid
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	PIDS=()
	TUN_PIDS=()
	for ns in "$NS_H" "$NS_G" "$NS_C"; do ip netns del "$ns" 2>/dev/null || true; done
}

echo "esp_tun_bench: $(nproc) CPUs, $(uname -r), ${SECS}s per direction, aes128-cbc/hmac-sha1-96 ESP-in-UDP"
if [ "$WHICH" = portcullis ] || [ "$WHICH" = both ]; then
	[ -x "$PEER" ] || die "$PEER not built"
	setup_net
	start_portcullis
	measure portcullis
	stop_all
fi
if [ "$WHICH" = strongswan ] || [ "$WHICH" = both ]; then
	setup_net
	start_strongswan
	measure strongswan
	stop_all
fi
