#!/usr/bin/env bash
# Interoperability of the tun backend's ESP with an independent implementation: strongSwan's
# userspace ESP (charon + kernel-libipsec, the Debian packages).
#
#   host (10.89.129.131) --veth-- gw (10.89.129.129 | 192.168.1.1) --veth-- client (192.168.1.5,
#   inner 10.89.129.200)
#
# charon runs in gw and client and negotiates an IKEv2 CHILD_SA (PSK, ESP-in-UDP forced with
# encap=yes). Before any ESP flows, the gw's charon is killed and tests/unit/esp_peer_test.c
# (serve mode, a Portcullis tun backend) takes over the gw end with the same SPIs and keys, taken
# from `swanctl --list-sas` and charon's key dump (debug level 4, test keys only). A ping from host
# to the client's inner address then only works if strongSwan decrypts what we encrypt and we
# decrypt what strongSwan encrypts. Run once per ESP algorithm pair.
set -euo pipefail

BUILD=${PORTCULLIS_BUILD_DIR:-build/dev}
PEER=$BUILD/esp_peer_test
CHARON=/usr/lib/ipsec/charon
[ -x "$PEER" ] || { echo "esp_interop_test: $PEER not built" >&2; exit 1; }
[ -x "$CHARON" ] || { echo "esp_interop_test: $CHARON missing (strongswan-charon)" >&2; exit 1; }
for t in ip swanctl nsenter unshare ping python3; do
	command -v "$t" >/dev/null || { echo "esp_interop_test: $t missing" >&2; exit 1; }
done

P=pc-espi-$$
NS_H=$P-host NS_G=$P-gw NS_C=$P-cli
WORK=$(mktemp -d /tmp/esp_interop_test.XXXXXX)
PIDS=()

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	for ns in "$NS_H" "$NS_G" "$NS_C"; do ip netns del "$ns" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
	echo "esp_interop_test: FAIL: $*" >&2
	for f in "$WORK"/*.log "$WORK"/*/charon.log; do
		[ -f "$f" ] && { echo "--- $f" >&2; grep -v -i 'key\|   [0-9]*: ' "$f" | tail -n 15 >&2; }
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

charon_conf() { # dir local remote myid peerid local_ts remote_ts esp_proposal
	local d=$1
	mkdir -p "$d"
	cat >"$d/strongswan.conf" <<EOC
charon {
	load = random nonce openssl kdf hmac pem pkcs1 pubkey kernel-libipsec kernel-netlink socket-default vici
	install_virtual_ip = no
	filelog {
		log {
			path = $d/charon.log
			flush_line = yes
			default = 1
			chd = 4
		}
	}
}
EOC
	cat >"$d/swanctl.conf" <<EOC
connections {
	interop {
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
			interop {
				local_ts = $6
				remote_ts = $7
				esp_proposals = $8
			}
		}
	}
}
secrets {
	ike-interop {
		id-1 = gw
		id-2 = cli
		secret = "interop-test-only-psk"
	}
}
EOC
}

# charon in its namespace with a private /run (pid file, vici socket); the shell execs charon,
# so the pid it writes is charon's.
start_charon() { # ns dir
	ip netns exec "$1" unshare -m --propagation private sh -c "mount -t tmpfs none /run && \
		echo \$\$ >$2/charon.pid && STRONGSWAN_CONF=$2/strongswan.conf exec $CHARON" \
		>"$2/stdout.log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 1 100); do
		[ -s "$2/charon.pid" ] && [ -S "/proc/$(cat "$2/charon.pid")/root/run/charon.vici" ] &&
			return 0
		sleep 0.1
	done
	fail "charon in $1 did not start"
}

swan() { # dir args...
	local d=$1
	shift
	nsenter -t "$(cat "$d/charon.pid")" -m -n swanctl "$@"
}

# The key charon dumped as "<what> => N bytes @ ..." followed by hex lines, as one hex string.
charon_key() { # log what
	python3 - "$1" "$2" <<'EOP'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
for i, l in enumerate(lines):
    m = re.search(re.escape(sys.argv[2]) + r" => (\d+) bytes", l)
    if not m:
        continue
    n, out = int(m.group(1)), ""
    for h in lines[i + 1:]:
        hm = re.search(r"\]\s+\d+: ((?:[0-9A-F]{2} ?)+)", h)
        if not hm:
            break
        out += hm.group(1).replace(" ", "")
    print(out[: 2 * n].lower())
    break
EOP
}

run_pair() { # esp_proposal our_enc our_auth
	local prop=$1 enc=$2 auth=$3 d
	echo "== $prop"
	rm -rf "$WORK/gw" "$WORK/cli" "$WORK"/*.log "$WORK"/*.stats "$WORK"/*.ready
	setup_net
	charon_conf "$WORK/gw" 192.168.1.1 192.168.1.5 gw cli 10.89.129.128/28 10.89.129.200/32 "$prop"
	charon_conf "$WORK/cli" 192.168.1.5 192.168.1.1 cli gw 10.89.129.200/32 10.89.129.128/28 "$prop"
	start_charon "$NS_G" "$WORK/gw"
	start_charon "$NS_C" "$WORK/cli"
	for d in gw cli; do
		swan "$WORK/$d" --load-all --file "$WORK/$d/swanctl.conf" >"$WORK/load-$d.log" 2>&1 ||
			fail "swanctl --load-all ($d)"
	done
	swan "$WORK/cli" --initiate --child interop >"$WORK/initiate.log" 2>&1 ||
		fail "$prop: IKE negotiation between the two charons"
	swan "$WORK/gw" --list-sas >"$WORK/gw-sas.log"

	local spi_in spi_out ke_i ke_r ka_i ka_r
	spi_in=$(sed -n 's/^ *in  *\([0-9a-f]\{8\}\),.*/\1/p' "$WORK/gw-sas.log" | head -1)
	spi_out=$(sed -n 's/^ *out  *\([0-9a-f]\{8\}\),.*/\1/p' "$WORK/gw-sas.log" | head -1)
	# The client initiated: "initiator" keys protect client -> gw, "responder" keys gw -> client.
	ke_i=$(charon_key "$WORK/gw/charon.log" "encryption initiator key")
	ke_r=$(charon_key "$WORK/gw/charon.log" "encryption responder key")
	ka_i=$(charon_key "$WORK/gw/charon.log" "integrity initiator key")
	ka_r=$(charon_key "$WORK/gw/charon.log" "integrity responder key")
	[ -n "$spi_in" ] && [ -n "$spi_out" ] || fail "$prop: no SPIs in swanctl --list-sas"
	[ -n "$ke_i" ] && [ -n "$ke_r" ] && [ -n "$ka_i" ] && [ -n "$ka_r" ] ||
		fail "$prop: no keys in charon's log"

	# Hand the gw end over: charon goes (without a DELETE), Portcullis takes its SA.
	kill -KILL "$(cat "$WORK/gw/charon.pid")"
	for _ in $(seq 1 50); do
		ip -n "$NS_G" link show 2>/dev/null | grep -q ipsec0 || break
		sleep 0.1
	done
	env ESP_PEER_SERVE=1 ESP_PEER_IFNAME=pci-gw ESP_PEER_UDP=1 ESP_PEER_LOCAL=192.168.1.1 \
		ESP_PEER_REMOTE=192.168.1.5 ESP_PEER_ENC="$enc" ESP_PEER_AUTH="$auth" \
		ESP_PEER_SPI_IN="$spi_in" ESP_PEER_SPI_OUT="$spi_out" \
		ESP_PEER_KEY_IN="$ke_i" ESP_PEER_KEY_OUT="$ke_r" \
		ESP_PEER_AUTHKEY_IN="$ka_i" ESP_PEER_AUTHKEY_OUT="$ka_r" \
		ESP_PEER_REMOTE_TS=10.89.129.200/32 ESP_PEER_LOCAL_TS=10.89.129.128/28 \
		ESP_PEER_READY="$WORK/gw.ready" ESP_PEER_STATS="$WORK/gw.stats" \
		ip netns exec "$NS_G" "$PEER" >"$WORK/gw-peer.log" 2>&1 &
	local peer=$!
	PIDS+=($peer)
	for _ in $(seq 1 100); do
		[ -e "$WORK/gw.ready" ] && break
		sleep 0.05
	done
	[ -e "$WORK/gw.ready" ] || fail "$prop: Portcullis gw peer did not come up"

	ip netns exec "$NS_H" ping -c 4 -i 0.2 -W 2 10.89.129.200 >"$WORK/ping.log" 2>&1 ||
		fail "$prop: ping host -> client through Portcullis (gw) and strongSwan (client)"
	ip netns exec "$NS_C" ping -c 2 -i 0.2 -W 2 -I 10.89.129.200 10.89.129.131 \
		>>"$WORK/ping.log" 2>&1 || fail "$prop: ping client -> host"
	swan "$WORK/cli" --list-sas >"$WORK/cli-sas.log"

	kill -TERM "$peer"
	wait "$peer" || fail "$prop: Portcullis peer exited with an error"
	local k v
	for k in packets_in packets_out; do
		v=$(sed -n "s/^$k=//p" "$WORK/gw.stats")
		[ "${v:-0}" -ge 6 ] || fail "$prop: Portcullis $k is ${v:-missing}, expected >= 6"
	done
	for k in auth_failures replay_drops other_drops; do
		v=$(sed -n "s/^$k=//p" "$WORK/gw.stats")
		[ "$v" = 0 ] || fail "$prop: Portcullis $k is $v"
	done
	echo "   ok: SPIs in $spi_in out $spi_out; Portcullis in/out" \
		"$(sed -n 's/^packets_in=//p' "$WORK/gw.stats")/$(sed -n 's/^packets_out=//p' "$WORK/gw.stats")"
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	PIDS=()
	for ns in "$NS_H" "$NS_G" "$NS_C"; do ip netns del "$ns" 2>/dev/null || true; done
}

run_pair aes128-sha1 aes128 sha1
run_pair aes256-sha256 aes256 sha256
run_pair aes192-md5 aes192 md5
run_pair 3des-sha1 3des sha1
run_pair des-md5 des md5
echo "esp_interop_test: PASS"
