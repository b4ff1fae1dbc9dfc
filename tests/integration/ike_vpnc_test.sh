#!/usr/bin/env bash
# Real-peer test of the IKE responder: Debian's vpnc (the Cisco VPN Client profile) against the
# responder serving the seed configuration (tests/unit/ike_responder_test.c in serve mode), in two
# network namespaces: client 192.168.1.2 <-> gateway 192.168.1.1. Checks phase 1 (Aggressive
# Mode, group vpn3000), Xauth, Mode Config (10.89.129.200) and Quick Mode (the fake backend
# records a DES/MD5 SA pair), that a wrong group password and a wrong user password fail with a
# log line saying why, and that tshark decodes every packet without "Malformed".
set -euo pipefail

BUILD=${PORTCULLIS_BUILD_DIR:-build/dev}
RESP="$BUILD/ike_responder_test"
[ "$(id -u)" -eq 0 ] || { echo "ike_vpnc_test: needs root" >&2; exit 1; }
command -v vpnc >/dev/null || { echo "ike_vpnc_test: vpnc not installed (apt-get install vpnc)" >&2; exit 1; }
command -v tshark >/dev/null && command -v tcpdump >/dev/null ||
	{ echo "ike_vpnc_test: tshark and tcpdump needed" >&2; exit 1; }
[ -x "$RESP" ] || { echo "ike_vpnc_test: $RESP not built" >&2; exit 1; }

NS_GW="pc-ike-$$-gw"
NS_CL="pc-ike-$$-cl"
WORK=$(mktemp -d /tmp/pc-ike-vpnc.XXXXXX)
RESP_PID=""
CAP_PID=""

cleanup() {
	set +e
	[ -n "$CAP_PID" ] && kill "$CAP_PID" 2>/dev/null && wait "$CAP_PID" 2>/dev/null
	[ -n "$RESP_PID" ] && kill "$RESP_PID" 2>/dev/null && wait "$RESP_PID" 2>/dev/null
	ip netns pids "$NS_CL" 2>/dev/null | xargs -r kill 2>/dev/null
	ip netns del "$NS_CL" 2>/dev/null
	ip netns del "$NS_GW" 2>/dev/null
	if [ -n "${KEEP_WORK:-}" ]; then echo "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	echo "---- responder log" >&2; cat "$WORK/resp.log" >&2 || true
	echo "---- record" >&2; cat "$WORK/record" >&2 || true
	for f in "$WORK"/vpnc-*.log; do echo "---- $f" >&2; cat "$f" >&2; done
	exit 1
}

ip netns add "$NS_GW"
ip netns add "$NS_CL"
ip link add pcike-gw netns "$NS_GW" type veth peer name pcike-cl netns "$NS_CL"
ip -n "$NS_GW" addr add 192.168.1.1/24 dev pcike-gw
ip -n "$NS_CL" addr add 192.168.1.2/24 dev pcike-cl
ip -n "$NS_GW" link set lo up
ip -n "$NS_CL" link set lo up
ip -n "$NS_GW" link set pcike-gw up
ip -n "$NS_CL" link set pcike-cl up

# tcpdump writes each packet as it comes; tshark decodes the file afterwards
ip netns exec "$NS_GW" tcpdump -U --immediate-mode -n -i pcike-gw -w "$WORK/cap.pcap" \
	"udp port 500 or udp port 4500" >"$WORK/tcpdump.log" 2>&1 &
CAP_PID=$!
for _ in $(seq 100); do grep -q "listening on" "$WORK/tcpdump.log" 2>/dev/null && break; sleep 0.1; done

# Beyond the seed: vpngroup vpn3000 split-tunnel 101 (the seed's NAT-exemption ACL), a DNS
# server, default domain and banner, so vpnc's handling of the Unity attributes is checked too.
EXTRA_SQL="INSERT INTO access_list (id, name) VALUES (1, '101');
INSERT INTO access_list_entry (acl_id, position, action, protocol, src_kind, src_address,
	src_netmask, dst_kind, dst_address, dst_netmask) VALUES (1, 1, 'permit', 'ip', 'network',
	'10.89.129.128', '255.255.255.240', 'network', '10.89.129.192', '255.255.255.240');
UPDATE vpngroup SET split_tunnel_acl_id = 1, dns_server1 = '10.89.129.131',
	default_domain = 'example.com', banner = 'Authorized use only' WHERE name = 'vpn3000';"
IKE_RESPONDER_SERVE=1 IKE_RESPONDER_ADDR=192.168.1.1 IKE_RESPONDER_DB="$WORK/db.sqlite" \
	IKE_RESPONDER_RECORD="$WORK/record" IKE_RESPONDER_HALF_OPEN_S=5 IKE_RESPONDER_DEBUG=1 \
	IKE_RESPONDER_EXTRA_SQL="$EXTRA_SQL" \
	ip netns exec "$NS_GW" "$RESP" >"$WORK/resp.log" 2>&1 &
RESP_PID=$!
for _ in $(seq 50); do grep -q "serving on" "$WORK/resp.log" 2>/dev/null && break; sleep 0.1; done
grep -q "serving on" "$WORK/resp.log" || fail "responder did not start"
sleep 1 # let the capture attach

cat >"$WORK/script.sh" <<'EOS'
#!/bin/sh
# Records what vpnc hands to its script; configures nothing.
env | grep -E '^(reason|INTERNAL_IP4_|CISCO_|VPNGATEWAY|TUNDEV)' | sort >>"$RECORD_ENV"
echo "--" >>"$RECORD_ENV"
exit 0
EOS
chmod +x "$WORK/script.sh"

# run_vpnc NAME GROUP_SECRET XAUTH_PASSWORD SECONDS [EXTRA ARGS]: runs vpnc in the client namespace.
run_vpnc() {
	local name=$1 secret=$2 pass=$3 secs=$4
	shift 4
	cat >"$WORK/vpnc-$name.conf" <<EOC
IPSec gateway 192.168.1.1
IPSec ID vpn3000
IPSec secret $secret
Xauth username cisco_customer
Xauth password $pass
EOC
	RECORD_ENV="$WORK/env-$name" timeout -s TERM "$secs" ip netns exec "$NS_CL" env RECORD_ENV="$WORK/env-$name" \
		vpnc --no-detach --debug 1 --non-inter --enable-weak-encryption --enable-weak-authentication \
		--script "$WORK/script.sh" --pid-file "$WORK/vpnc-$name.pid" --dpd-idle 0 "$@" \
		"$WORK/vpnc-$name.conf" >"$WORK/vpnc-$name.log" 2>&1 || true
}

# 1. The good client: runs until the tunnel is up, then is stopped by timeout.
run_vpnc good vpnsecret cisco 8
grep -q "INTERNAL_IP4_ADDRESS=10.89.129.200" "$WORK/env-good" 2>/dev/null ||
	fail "vpnc did not receive 10.89.129.200 by Mode Config"
grep -q "INTERNAL_IP4_DNS=10.89.129.131" "$WORK/env-good" || fail "vpnc did not get the DNS server"
grep -q "CISCO_DEF_DOMAIN=example.com" "$WORK/env-good" || fail "vpnc did not get the default domain"
grep -q "CISCO_BANNER=Authorized use only" "$WORK/env-good" || fail "vpnc did not get the banner"
grep -q "CISCO_SPLIT_INC=1" "$WORK/env-good" || fail "vpnc did not get one split-include network"
grep -q "CISCO_SPLIT_INC_0_ADDR=10.89.129.128" "$WORK/env-good" &&
	grep -q "CISCO_SPLIT_INC_0_MASKLEN=28" "$WORK/env-good" ||
	fail "vpnc did not parse the split-include entry 10.89.129.128/28"
grep -q "Unsupported Attr: 7" "$WORK/resp.log" || fail "APPLICATION_VERSION not logged as unsupported"
grep -q "AUTH user=cisco_customer group=AuthInbound result=accept" "$WORK/record" ||
	fail "Xauth did not reach the AAA hook"
grep -Eq "SA_ADD .*enc=DES auth=MD5 .*enc_key_len=8 auth_key_len=16 remote=10.89.129.200/32" \
	"$WORK/record" || fail "no DES/MD5 SA pair for 10.89.129.200 recorded by the backend"
grep -q "remote=10.89.129.200/32 local=10.89.129.128/28" "$WORK/record" ||
	fail "IDcr 0.0.0.0/0 was not narrowed to the split-tunnel network"
grep -q "TUNNEL_UP user=cisco_customer group=vpn3000 addr=10.89.129.200" "$WORK/record" ||
	fail "tunnel_up hook not called"
grep -q "Checking ISAKMP transform .* against priority 10 policy" "$WORK/resp.log" ||
	fail "PIX-style transform check log missing"
grep -q "atts are acceptable" "$WORK/resp.log" || fail "no 'atts are acceptable' log"
grep -q "has been authenticated" "$WORK/resp.log" || fail "phase 1 not authenticated"
sleep 1

# 2. Wrong group password: vpnc rejects our HASH_R (computed with the real key); the responder
#    must say why when the half-open SA goes.
run_vpnc badgroup wrongsecret cisco 8
grep -q "check group password" "$WORK/vpnc-badgroup.log" || fail "vpnc did not report a hash mismatch"
for _ in $(seq 100); do
	grep -Eq "half-open timeout.*(pre-shared key|group password)" "$WORK/resp.log" && break
	sleep 0.1
done
grep -Eq "half-open timeout.*(pre-shared key|group password)" "$WORK/resp.log" ||
	fail "responder did not log why the wrong-group-password negotiation failed"

# 3. Wrong user password: the fake AAA rejects; the responder logs the rejection.
run_vpnc baduser vpnsecret wrongpass 8
grep -q "AUTH user=cisco_customer group=AuthInbound result=reject" "$WORK/record" ||
	fail "wrong password did not reach the AAA hook"
grep -q "Xauth: user 'cisco_customer' rejected by AuthInbound" "$WORK/resp.log" ||
	fail "responder did not log the Xauth rejection"
if grep -q "INTERNAL_IP4_ADDRESS" "$WORK/env-baduser" 2>/dev/null; then
	fail "a client with a wrong password got an address"
fi

# 4. NAT-T forced (vpnc pretends to be behind a NAT): phase 1 floats to 4500 with the non-ESP
#    marker, Quick Mode negotiates UDP encapsulation, the same user gets the same address back.
run_vpnc natt vpnsecret cisco 8 --natt-mode force-natt
grep -q "INTERNAL_IP4_ADDRESS=10.89.129.200" "$WORK/env-natt" 2>/dev/null ||
	fail "NAT-T run: vpnc did not receive 10.89.129.200"
grep -q "floated to NAT-T port" "$WORK/resp.log" || fail "NAT-T run: no float to 4500 logged"
grep -q "NAT-D: the peer is behind a NAT" "$WORK/resp.log" || fail "NAT-T run: NAT not detected"
grep -Eq "SA_ADD .*enc=DES auth=MD5 .*remote=10.89.129.200/32 .*udp_encap=1" "$WORK/record" ||
	fail "NAT-T run: no UDP-encapsulated SA pair recorded"

# 5. Every packet decodes in tshark.
sleep 1 # let tcpdump drain its buffer
kill "$CAP_PID"; wait "$CAP_PID" 2>/dev/null || true; CAP_PID=""
n=$(tshark -r "$WORK/cap.pcap" 2>/dev/null | wc -l)
[ "$n" -gt 10 ] || fail "tshark captured only $n packets"
if tshark -r "$WORK/cap.pcap" -V 2>/dev/null | grep -qi "malformed"; then
	tshark -r "$WORK/cap.pcap" -V 2>/dev/null | grep -i -B30 malformed | head -80 >&2
	fail "tshark reports a malformed packet"
fi
grep -q "ERROR: AddressSanitizer\|runtime error" "$WORK/resp.log" && fail "sanitizer report in the responder"
# 6. No secret in the responder's log, even at debug level (group password, wildcard key, Xauth
#    passwords: "cisco" is checked as a whole word, the user name contains it).
if grep -Eq "vpnsecret|wrongsecret|cisco1234|wrongpass|[^_a-z]cisco([^_a-z0-9]|$)" "$WORK/resp.log"; then
	grep -En "vpnsecret|wrongsecret|cisco1234|wrongpass|[^_a-z]cisco([^_a-z0-9]|$)" "$WORK/resp.log" | head >&2
	fail "a secret appears in the responder log"
fi
echo "ike_vpnc_test: OK ($n packets decoded)"
