#!/usr/bin/env bash
# The tun SA backend end to end, in three network namespaces linked only to each other:
#
#   host (10.89.129.131) --veth-- gw (inside 10.89.129.129, outside 192.168.1.1)
#                                  --veth-- client (outside 192.168.1.5, inner 10.89.129.200 on lo)
#
# gw and client each run tests/unit/esp_peer_test.c in serve mode (ESP_PEER_SERVE=1): a tun
# backend with one SA pair, keys mirrored. A ping from host to the client's inner address (and
# back from the client) must cross the tunnel; dumpcap on the gw's outside veth must show ESP
# (tshark -Y esp) and no ICMP in clear; both ends' counters must move; a captured ESP packet
# sent again is refused as a replay and a modified one as an ICV failure. Runs with raw ESP
# (IP protocol 50) and ESP-in-UDP on port 4500 (four algorithm pairs in all); on 4500, datagrams
# starting with the 4-byte non-ESP marker (IKE) and NAT keepalives must not reach the ESP backend.
set -euo pipefail

BUILD=${PORTCULLIS_BUILD_DIR:-build/dev}
PEER=$BUILD/esp_peer_test
[ -x "$PEER" ] || { echo "esp_tun_test: $PEER not built" >&2; exit 1; }
for t in ip tshark dumpcap ping python3; do
	command -v "$t" >/dev/null || { echo "esp_tun_test: $t missing" >&2; exit 1; }
done

P=pc-esp-$$
NS_H=$P-host NS_G=$P-gw NS_C=$P-cli
WORK=$(mktemp -d /tmp/esp_tun_test.XXXXXX)
chmod 755 "$WORK" # dumpcap may drop privileges
PIDS=()

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	for ns in "$NS_H" "$NS_G" "$NS_C"; do
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
	echo "esp_tun_test: FAIL: $*" >&2
	for f in "$WORK"/*.log; do
		[ -f "$f" ] && { echo "--- $f" >&2; tail -n 30 "$f" >&2; }
	done
	exit 1
}

stat_of() { # file key
	sed -n "s/^$2=//p" "$1"
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
	# Checksums and segmentation in software on the way out of the gateway, so the joined
	# packets' GSO header and checksum seed (tun_gro) are really used and the host checks the
	# result: with offloads on, a veth hands CHECKSUM_PARTIAL packets over unchecked.
	ip netns exec "$NS_G" ethtool -K gi0 tx off tso off gso off >/dev/null
	ip -n "$NS_C" addr add 192.168.1.5/24 dev c0
	ip -n "$NS_C" addr add 10.89.129.200/32 dev lo
	ip -n "$NS_C" link set c0 up
}

# Keys for the run: random, hex, written only to the peers' environment.
rhex() { python3 -c "import os,sys; print(os.urandom(int(sys.argv[1])).hex())" "$1"; }

start_peer() { # ns name udp local remote spi_in spi_out key_in key_out akey_in akey_out rts lts
	local ns=$1 name=$2
	env ESP_PEER_SERVE=1 ESP_PEER_IFNAME="pce-$name" ESP_PEER_UDP="$3" ESP_PEER_LOCAL="$4" \
		ESP_PEER_REMOTE="$5" ESP_PEER_ENC="$ENC" ESP_PEER_AUTH="$AUTH" \
		ESP_PEER_SPI_IN="$6" ESP_PEER_SPI_OUT="$7" ESP_PEER_KEY_IN="$8" ESP_PEER_KEY_OUT="$9" \
		ESP_PEER_AUTHKEY_IN="${10}" ESP_PEER_AUTHKEY_OUT="${11}" \
		ESP_PEER_REMOTE_TS="${12}" ESP_PEER_LOCAL_TS="${13}" \
		ESP_PEER_READY="$WORK/$name.ready" ESP_PEER_STATS="$WORK/$name.stats" \
		ip netns exec "$ns" "$PEER" >"$WORK/$name.log" 2>&1 &
	PIDS+=($!)
	eval "PID_$name=$!"
}

wait_file() {
	local i
	for i in $(seq 1 100); do
		[ -e "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

stop_peer() { # name
	local pid_var=PID_$1
	kill -TERM "${!pid_var}"
	wait "${!pid_var}" || fail "$1 peer exited with an error"
	[ -s "$WORK/$1.stats" ] || fail "$1 peer wrote no counters"
}

run_mode() { # udp(0|1) enc auth enc_key_bytes auth_key_bytes
	local udp=$1 mode
	ENC=$2 AUTH=$3
	mode=$([ "$udp" = 1 ] && echo esp-in-udp || echo raw-esp)
	echo "== $mode $ENC/$AUTH"
	rm -f "$WORK"/*.ready "$WORK"/*.stats "$WORK"/cap.pcapng
	local k1 k2 a1 a2
	k1=$(rhex "$4") k2=$(rhex "$4") a1=$(rhex "$5") a2=$(rhex "$5")
	# gw: in = client->gw (SPI 0x1001, k1/a1), out = gw->client (0x2001, k2/a2); client mirrored.
	start_peer "$NS_G" gw "$udp" 192.168.1.1 192.168.1.5 00001001 00002001 "$k1" "$k2" "$a1" "$a2" \
		10.89.129.200/32 0.0.0.0/0
	start_peer "$NS_C" cli "$udp" 192.168.1.5 192.168.1.1 00002001 00001001 "$k2" "$k1" "$a2" "$a1" \
		10.89.129.128/28 10.89.129.200/32
	wait_file "$WORK/gw.ready" || fail "$mode: gw peer did not come up"
	wait_file "$WORK/cli.ready" || fail "$mode: client peer did not come up"

	ip netns exec "$NS_G" dumpcap -q -i go0 -w "$WORK/cap.pcapng" >"$WORK/dumpcap.log" 2>&1 &
	local cap=$!
	PIDS+=($cap)
	for _ in $(seq 1 100); do
		[ -s "$WORK/cap.pcapng" ] && break
		sleep 0.05
	done
	sleep 0.3

	ip netns exec "$NS_H" ping -c 3 -i 0.2 -W 2 10.89.129.200 >"$WORK/ping.log" 2>&1 ||
		fail "$mode: ping host -> client inner address through the tunnel"
	ip netns exec "$NS_C" ping -c 2 -i 0.2 -W 2 -I 10.89.129.200 10.89.129.131 \
		>>"$WORK/ping.log" 2>&1 || fail "$mode: ping client -> host through the tunnel"
	if [ "$udp" = 1 ]; then
		# An IKE datagram (non-ESP marker) and a NAT keepalive to the gw's port 4500.
		ip netns exec "$NS_C" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.168.1.5", 4501))
s.sendto(b"\0\0\0\0" + b"\x11" * 28, ("192.168.1.1", 4500))
s.sendto(b"\xff", ("192.168.1.1", 4500))'
		sleep 0.2
	fi
	sleep 0.5
	kill -INT "$cap"
	wait "$cap" 2>/dev/null || true

	# Bulk TCP both ways (4 MiB echoed by the host), compared byte for byte: each receiving
	# backend joins the segments of a batch into large packets (tun_gro) that the kernel
	# forwards and delivers; a wrong header or checksum there stalls or corrupts the transfer.
	ip netns exec "$NS_H" python3 -c '
import socket
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("10.89.129.131", 5001)); l.listen(1); l.settimeout(20)
c, _ = l.accept(); c.settimeout(20)
while True:
    d = c.recv(65536)
    if not d:
        break
    c.sendall(d)
c.close()' &
	local echo_pid=$!
	PIDS+=($echo_pid)
	sleep 0.3
	ip netns exec "$NS_C" python3 -c '
import hashlib, os, socket, threading
data = os.urandom(4 << 20)
s = socket.create_connection(("10.89.129.131", 5001), timeout=20, source_address=("10.89.129.200", 0))
got = bytearray()
def rx():
    while len(got) < len(data):
        d = s.recv(65536)
        if not d:
            break
        got.extend(d)
t = threading.Thread(target=rx); t.start()
s.sendall(data); s.shutdown(socket.SHUT_WR); t.join(25)
assert bytes(got) == data, "echo differs: %d of %d bytes back" % (len(got), len(data))' ||
		fail "$mode: 4 MiB TCP echo through the tunnel"
	wait "$echo_pid" || fail "$mode: echo server"

	# From the wire to the gw again: the client's first ESP packet as captured (a replay), and
	# the same packet with its sequence number changed (ICV no longer matches).
	tshark -r "$WORK/cap.pcapng" -Y 'esp && ip.src == 192.168.1.5' -F pcap \
		-w "$WORK/one.pcap" 2>/dev/null || fail "$mode: extracting an ESP packet"
	ip netns exec "$NS_C" python3 - "$WORK/one.pcap" "$udp" <<'EOP' || fail "$mode: re-injecting ESP"
import socket, struct, sys
data = open(sys.argv[1], "rb").read()
incl = struct.unpack_from("<I", data, 24 + 8)[0]
frame = data[24 + 16:24 + 16 + incl]
ip = frame[14:]                      # Ethernet II on the veth
ihl = (ip[0] & 15) * 4
proto = ip[9]
esp = ip[ihl + 8:] if proto == 17 else ip[ihl:]
assert proto in (17, 50), proto
assert struct.unpack_from("!I", esp, 0)[0] == 0x1001, "not the client's SA"
forged = esp[:4] + struct.pack("!I", 0x7fffffff) + esp[8:]
if sys.argv[2] == "1":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dst = ("192.168.1.1", 4500)
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 50)
    dst = ("192.168.1.1", 0)
s.sendto(esp, dst)
s.sendto(forged, dst)
EOP
	sleep 0.3

	stop_peer gw
	stop_peer cli
	local f k v
	for f in gw cli; do
		# 5 echo requests or replies each way, plus the bytes they carried.
		for k in packets_in packets_out; do
			v=$(stat_of "$WORK/$f.stats" "$k")
			[ "${v:-0}" -ge 5 ] || fail "$mode: $f $k is ${v:-missing}, expected >= 5"
		done
		for k in bytes_in bytes_out last_in_ms; do
			v=$(stat_of "$WORK/$f.stats" "$k")
			[ "${v:-0}" -gt 0 ] || fail "$mode: $f $k did not move"
		done
		for k in drop_padding drop_no-sa drop_selector drop_inner-header drop_send drop_tun-write; do
			v=$(stat_of "$WORK/$f.stats" "$k")
			[ "$v" = 0 ] || fail "$mode: $f $k is $v, expected 0"
		done
	done
	# Exactly the two re-injected packets were refused, each for its own reason.
	for k in replay_drops auth_failures drop_replay drop_auth; do
		[ "$(stat_of "$WORK/gw.stats" "$k")" = 1 ] ||
			fail "$mode: gw $k is $(stat_of "$WORK/gw.stats" "$k"), expected 1"
		[ "$(stat_of "$WORK/cli.stats" "$k")" = 0 ] ||
			fail "$mode: client $k is $(stat_of "$WORK/cli.stats" "$k"), expected 0"
	done
	# the bulk transfer arrived in fewer writes than packets on both sides (segments joined)
	for f in gw cli; do
		local w p
		w=$(stat_of "$WORK/$f.stats" tun_writes) p=$(stat_of "$WORK/$f.stats" tun_write_packets)
		[ "${w:-0}" -gt 0 ] && [ "${p:-0}" -gt "$((w + w / 2))" ] ||
			fail "$mode: $f wrote ${p:-?} packets in ${w:-?} writes to the TUN, expected joins"
		echo "   $f: $p packets in $w TUN writes"
	done
	if [ "$udp" = 1 ]; then
		[ "$(stat_of "$WORK/gw.stats" udp_ike)" = 1 ] || fail "$mode: IKE datagram not recognised"
		[ "$(stat_of "$WORK/gw.stats" udp_keepalive)" = 1 ] || fail "$mode: keepalive not recognised"
		[ "$(stat_of "$WORK/gw.stats" udp_esp)" -ge 5 ] || fail "$mode: ESP-in-UDP not dispatched"
	fi

	local n_esp n_icmp n_clear
	n_esp=$(tshark -r "$WORK/cap.pcapng" -Y esp 2>/dev/null | wc -l)
	n_icmp=$(tshark -r "$WORK/cap.pcapng" -Y icmp 2>/dev/null | wc -l)
	[ "$n_esp" -ge 10 ] || fail "$mode: capture shows $n_esp ESP packets, expected >= 10"
	[ "$n_icmp" = 0 ] || fail "$mode: capture shows $n_icmp ICMP packets in clear"
	if [ "$udp" = 1 ]; then
		n_clear=$(tshark -r "$WORK/cap.pcapng" -Y 'esp && udp.port == 4500' 2>/dev/null | wc -l)
		[ "$n_clear" = "$n_esp" ] || fail "$mode: ESP not carried in UDP 4500"
	else
		n_clear=$(tshark -r "$WORK/cap.pcapng" -Y 'esp && !udp' 2>/dev/null | wc -l)
		[ "$n_clear" = "$n_esp" ] || fail "$mode: ESP not raw"
	fi
	# Nothing of the pings' payload on the wire: ping's pattern bytes never appear in clear.
	if tshark -r "$WORK/cap.pcapng" -x 2>/dev/null | grep -q '10 11 12 13 14 15 16 17'; then
		fail "$mode: ping payload visible on the wire"
	fi
	echo "   ok: $n_esp ESP packets, 0 ICMP in clear; gw in/out $(stat_of "$WORK/gw.stats" \
		packets_in)/$(stat_of "$WORK/gw.stats" packets_out)"
}

setup_net
# The operator's view of backend selection in this namespace (no kernel ESP here -> tun).
CLI=${PORTCULLIS:-$BUILD/portcullis}
ip netns exec "$NS_G" "$CLI" ipsec-probe >"$WORK/probe.log" 2>&1 || fail "portcullis ipsec-probe"
grep -q '^auto backend: tun' "$WORK/probe.log" || fail "ipsec-probe: $(cat "$WORK/probe.log")"
ip netns exec "$NS_G" "$CLI" --json ipsec-probe |
	python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["auto"] == "tun" and d["reason"]' ||
	fail "ipsec-probe --json"
run_mode 0 des md5 8 16
run_mode 1 aes256 sha1 32 20
run_mode 0 3des sha256 24 32
run_mode 1 aes128 sha256 16 32
echo "esp_tun_test: PASS"
