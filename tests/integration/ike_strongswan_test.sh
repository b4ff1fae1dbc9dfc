#!/usr/bin/env bash
# Real-peer test of the IKE responder with strongSwan's charon (IKEv1 Aggressive Mode, PSK +
# XAuth, Mode Config pull, Quick Mode; kernel-libipsec) as the client. Unlike vpnc, charon checks
# HASH_R, the transaction exchange hashes and HASH(2), so this proves those are right. Gateway
# 192.168.1.1 runs tests/unit/ike_responder_test.c in serve mode with the seed configuration.
set -euo pipefail

BUILD=${PORTCULLIS_BUILD_DIR:-build/dev}
RESP="$BUILD/ike_responder_test"
CHARON=/usr/lib/ipsec/charon
[ "$(id -u)" -eq 0 ] || { echo "ike_strongswan_test: needs root" >&2; exit 1; }
command -v tcpdump >/dev/null && command -v tshark >/dev/null || { echo "ike_strongswan_test: tshark and tcpdump needed" >&2; exit 1; }
[ -x "$CHARON" ] || { echo "ike_strongswan_test: strongswan-charon not installed" >&2; exit 1; }
command -v swanctl >/dev/null || { echo "ike_strongswan_test: strongswan-swanctl not installed" >&2; exit 1; }
[ -e /usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so ] ||
	{ echo "ike_strongswan_test: libcharon-extra-plugins (kernel-libipsec) not installed" >&2; exit 1; }
[ -x "$RESP" ] || { echo "ike_strongswan_test: $RESP not built" >&2; exit 1; }

NS_GW="pc-ike-$$-sgw"
NS_CL="pc-ike-$$-scl"
WORK=$(mktemp -d /tmp/pc-ike-swan.XXXXXX)
RESP_PID=""
CHARON_PID=""
CAP_PID=""

cleanup() {
	set +e
	[ -n "$CAP_PID" ] && kill "$CAP_PID" 2>/dev/null && wait "$CAP_PID" 2>/dev/null
	[ -n "$CHARON_PID" ] && kill "$CHARON_PID" 2>/dev/null && wait "$CHARON_PID" 2>/dev/null
	[ -n "$RESP_PID" ] && kill "$RESP_PID" 2>/dev/null && wait "$RESP_PID" 2>/dev/null
	ip netns del "$NS_CL" 2>/dev/null
	ip netns del "$NS_GW" 2>/dev/null
	if [ -n "${KEEP_WORK:-}" ]; then echo "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	echo "---- responder log" >&2; cat "$WORK/resp.log" >&2 || true
	echo "---- record" >&2; cat "$WORK/record" >&2 || true
	echo "---- charon log" >&2; tail -80 "$WORK/charon.log" >&2 || true
	echo "---- swanctl" >&2; cat "$WORK/swanctl.out" >&2 || true
	exit 1
}

ip netns add "$NS_GW"
ip netns add "$NS_CL"
ip link add pcike-sgw netns "$NS_GW" type veth peer name pcike-scl netns "$NS_CL"
ip -n "$NS_GW" addr add 192.168.1.1/24 dev pcike-sgw
ip -n "$NS_CL" addr add 192.168.1.2/24 dev pcike-scl
for ns in "$NS_GW" "$NS_CL"; do ip -n "$ns" link set lo up; done
ip -n "$NS_GW" link set pcike-sgw up
ip -n "$NS_CL" link set pcike-scl up


IKE_RESPONDER_SERVE=1 IKE_RESPONDER_ADDR=192.168.1.1 IKE_RESPONDER_DB="$WORK/db.sqlite" \
	IKE_RESPONDER_RECORD="$WORK/record" ip netns exec "$NS_GW" "$RESP" >"$WORK/resp.log" 2>&1 &
RESP_PID=$!
for _ in $(seq 50); do grep -q "serving on" "$WORK/resp.log" 2>/dev/null && break; sleep 0.1; done
grep -q "serving on" "$WORK/resp.log" || fail "responder did not start"

cat >"$WORK/strongswan.conf" <<EOC
charon {
	i_dont_care_about_security_and_use_aggressive_mode_psk = yes
	load_modular = no
	load = random nonce openssl hmac md5 sha1 sha2 kernel-libipsec kernel-netlink socket-default vici xauth-generic attr
	install_virtual_ip = yes
	plugins {
		vici {
			socket = unix://$WORK/charon.vici
		}
	}
	filelog {
		log {
			path = $WORK/charon.log
			flush_line = yes
			default = 1
			ike = 2
			cfg = 2
		}
	}
}
EOC
cat >"$WORK/swanctl.conf" <<'EOC'
connections {
	pix {
		version = 1
		aggressive = yes
		local_addrs = 192.168.1.2
		remote_addrs = 192.168.1.1
		vips = 0.0.0.0
		proposals = des-md5-modp1024
		local-1 {
			auth = psk
			id = keyid:vpn3000
		}
		local-2 {
			auth = xauth
			xauth_id = cisco_customer
		}
		remote {
			auth = psk
			id = 192.168.1.1
		}
		children {
			pix {
				remote_ts = 0.0.0.0/0
				esp_proposals = des-md5
				start_action = none
			}
		}
	}
	pixmm {
		version = 1
		aggressive = no
		local_addrs = 192.168.1.2
		remote_addrs = 192.168.1.1
		vips = 0.0.0.0
		proposals = des-md5-modp768
		local-1 {
			auth = psk
			id = 192.168.1.2
		}
		local-2 {
			auth = xauth
			xauth_id = cisco_customer
		}
		remote {
			auth = psk
			id = 192.168.1.1
		}
		children {
			pixmm {
				remote_ts = 0.0.0.0/0
				esp_proposals = des-md5
				start_action = none
			}
		}
	}
}
secrets {
	ike-2 {
		id-1 = 192.168.1.2
		id-2 = 192.168.1.1
		secret = cisco1234
	}
	ike-1 {
		id-1 = keyid:vpn3000
		id-2 = 192.168.1.1
		secret = vpnsecret
	}
	xauth-1 {
		id = cisco_customer
		secret = cisco
	}
}
EOC

# charon writes /run/charon.pid: give it a private /run in its own mount namespace.
STRONGSWAN_CONF="$WORK/strongswan.conf" ip netns exec "$NS_CL" unshare -m sh -c \
	"mount -t tmpfs pc-ike-run /run && exec $CHARON" >"$WORK/charon.stdout" 2>&1 &
CHARON_PID=$!
for _ in $(seq 50); do [ -S "$WORK/charon.vici" ] && break; sleep 0.1; done
[ -S "$WORK/charon.vici" ] || fail "charon did not start"

# capture everything between the peers on the gateway side
# tcpdump writes each packet as it comes (-U); tshark decodes the file afterwards
ip netns exec "$NS_GW" tcpdump -U --immediate-mode -n -i pcike-sgw -w "$WORK/cap.pcap" "udp port 500 or udp port 4500" \
	>"$WORK/tcpdump.log" 2>&1 &
CAP_PID=$!
for _ in $(seq 100); do grep -q "listening on" "$WORK/tcpdump.log" 2>/dev/null && break; sleep 0.1; done
sleep 1
URI="unix://$WORK/charon.vici"
swanctl --load-all --uri "$URI" --file "$WORK/swanctl.conf" >"$WORK/swanctl.out" 2>&1 || fail "swanctl --load-all failed"
timeout 30 swanctl --initiate --uri "$URI" --child pix --timeout 20 >>"$WORK/swanctl.out" 2>&1 ||
	fail "swanctl --initiate failed"
grep -q "CHILD_SA pix{1} established" "$WORK/swanctl.out" || fail "CHILD_SA not established"
grep -q "installing new virtual IP 10.89.129.200" "$WORK/swanctl.out" ||
	fail "charon did not get 10.89.129.200"
grep -Eq "SA_ADD .*enc=DES auth=MD5 .*remote=10.89.129.200/32" "$WORK/record" ||
	fail "backend did not record the DES/MD5 SA pair"
grep -q "AUTH user=cisco_customer group=AuthInbound result=accept" "$WORK/record" ||
	fail "Xauth did not reach the AAA hook"

# The responder answers a DPD R-U-THERE and deletes cleanly when the client terminates.
swanctl --terminate --uri "$URI" --ike pix --timeout 10 >>"$WORK/swanctl.out" 2>&1 || fail "terminate failed"
for _ in $(seq 50); do grep -q "TUNNEL_DOWN" "$WORK/record" && break; sleep 0.1; done
grep -q "TUNNEL_DOWN user=cisco_customer reason=peer delete" "$WORK/record" ||
	fail "peer DELETE did not tear the tunnel down"
grep -q "lease 10.89.129.200 released" "$WORK/resp.log" || fail "lease not released"

# Main Mode with the wildcard isakmp key (policy 20: DES/MD5/group 1), Xauth, the same user
# gets the same pool address back (its lease was released above).
timeout 30 swanctl --initiate --uri "$URI" --child pixmm --timeout 20 >>"$WORK/swanctl.out" 2>&1 ||
	fail "swanctl --initiate pixmm (Main Mode) failed"
grep -q "CHILD_SA pixmm{2} established" "$WORK/swanctl.out" || fail "Main Mode CHILD_SA not established"
grep -q "has been authenticated (Main Mode)" "$WORK/resp.log" || fail "Main Mode not authenticated"
grep -q "Checking ISAKMP transform 1 against priority 20 policy" "$WORK/resp.log" ||
	fail "policy 20 not checked"
[ "$(grep -c 'TUNNEL_UP user=cisco_customer .*addr=10.89.129.200' "$WORK/record")" -eq 2 ] ||
	fail "the second tunnel of cisco_customer did not get 10.89.129.200 again"
swanctl --terminate --uri "$URI" --ike pixmm --timeout 10 >>"$WORK/swanctl.out" 2>&1 ||
	fail "terminate pixmm failed"

sleep 1 # let tcpdump drain its buffer
kill "$CAP_PID"; wait "$CAP_PID" 2>/dev/null || true; CAP_PID=""
n=$(tshark -r "$WORK/cap.pcap" 2>/dev/null | wc -l)
[ "$n" -ge 8 ] || fail "tshark captured only $n packets"
if tshark -r "$WORK/cap.pcap" -V 2>/dev/null | grep -qi "malformed"; then
	fail "tshark reports a malformed packet"
fi
grep -q "ERROR: AddressSanitizer\|runtime error" "$WORK/resp.log" && fail "sanitizer report in the responder"
echo "ike_strongswan_test: OK ($n packets decoded)"
