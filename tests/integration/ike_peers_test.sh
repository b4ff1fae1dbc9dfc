#!/usr/bin/env bash
# Real peers against the real daemon with the seed config (a private copy of the demo lab):
#  - ike-scan: each isakmp policy (10: DES/MD5/group 2, 20: DES/MD5/group 1) accepts its transform
#    in Main and Aggressive Mode, every other transform gets NO-PROPOSAL-CHOSEN;
#  - a second vpnc client from another address gets the next pool address while the first holds
#    .200, passes traffic, and gets the same address back after disconnecting and reconnecting;
#  - a wrong group password, a wrong Xauth password and a DH group no policy allows fail, each
#    with a gateway log line that says why, and no secret in the log.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/ike_lab_lib.sh"

ike_lab_up
out1=${IKE_P}out1
out2=${IKE_P}out2

# ---- failures first: the wrong group password is only noticed by the client (it cannot verify
# HASH_R and leaves), so the gateway's word on it comes with the half-open timeout (30 s) ----
mark=$(ike_log_mark)
ike_vpnc badgroup "$out2" not-the-group-password cisco_customer cisco
rc=$(ike_vpnc_exited badgroup)
t_check "wrong group password: vpnc gives up (exit $rc)" test "$rc" -ne 0
t_check "wrong group password: vpnc cannot verify the gateway's HASH_R" \
	grep -q 'hash comparison failed' "$T_DIR/vpnc-badgroup/vpnc.log"
badgroup_start=$SECONDS
badgroup_mark=$mark

mark=$(ike_log_mark)
ike_vpnc badxauth "$out2" vpn3000secret cisco_customer not-the-password
rc=$(ike_vpnc_exited badxauth)
t_check "wrong Xauth password: vpnc gets no tunnel (exit $rc)" bash -c "[ '$rc' -ne 0 ] && [ ! -f '$T_DIR/vpnc-badxauth/env-connect' ]"
xauth_logged() {
	ike_log_since "$mark" |
		grep -q "192.168.1.3:500: Xauth: user 'cisco_customer' rejected by AuthInbound: 10.89.129.134:49: FAIL"
}
t_check "wrong Xauth password: the gateway log says TACACS+ rejected the user" ike_wait 5 xauth_logged
t_check "wrong Xauth password: no lease for 192.168.1.3" \
	ike_py 'not any(i["peer_address"] == "192.168.1.3" and i["state"] == "active" for i in items)' leases

mark=$(ike_log_mark)
ike_vpnc dh5 "$out2" vpn3000secret cisco_customer cisco --dh dh5
rc=$(ike_vpnc_exited dh5)
t_check "DH group 5: vpnc gets no tunnel (exit $rc)" bash -c "[ '$rc' -ne 0 ] && [ ! -f '$T_DIR/vpnc-dh5/env-connect' ]"
ike_log_since "$mark" >"$T_DIR/dh5.log"
t_check "DH group 5: the gateway log says no policy matches and NO_PROPOSAL_CHOSEN was sent" bash -c "
	grep -q '192.168.1.3:500: Aggressive Mode rejected: no transform of [0-9]* matches any of 2 isakmp policies' '$T_DIR/dh5.log' &&
	grep -q '192.168.1.3:500: sending notify NO_PROPOSAL_CHOSEN (14)' '$T_DIR/dh5.log' &&
	grep -q 'atts are not acceptable (DH group)' '$T_DIR/dh5.log'"

# ---- ike-scan against each policy (random source port: vpnc may hold 500 later) ----
scan() { # NAME ike-scan-options...: output in $T_DIR/scan-NAME
	local n=$1
	shift
	ip netns exec "$out2" ike-scan --sport=0 --retry=2 "$@" 192.168.1.1 >"$T_DIR/scan-$n" 2>&1 || true
}
accepted() { # NAME MODE SA-TEXT: ike-scan saw MODE's handshake returned with this SA
	grep -q "$2 Handshake returned.*SA=($3" "$T_DIR/scan-$1" || {
		cat "$T_DIR/scan-$1" >&2
		return 1
	}
}
refused() { # NAME: ike-scan got NO-PROPOSAL-CHOSEN and no handshake
	if grep -q 'Notify message 14 (NO-PROPOSAL-CHOSEN)' "$T_DIR/scan-$1" &&
		! grep -q 'Handshake returned' "$T_DIR/scan-$1"; then
		return 0
	fi
	cat "$T_DIR/scan-$1" >&2
	return 1
}
# The seed's crypto map asks for Xauth (client authentication AuthInbound), so the pre-share
# policies are offered as XAUTHInitPreShared (65001), as the Cisco VPN Client does.
scan mm10 --trans=1,1,65001,2
t_check "ike-scan Main Mode DES/MD5/Xauth-PSK/group 2: policy 10 accepts" \
	accepted mm10 "Main Mode" "Enc=DES Hash=MD5 Auth=XAUTH_PSK Group=2:modp1024"
scan mm20 --trans=1,1,65001,1
t_check "ike-scan Main Mode DES/MD5/Xauth-PSK/group 1: policy 20 accepts" \
	accepted mm20 "Main Mode" "Enc=DES Hash=MD5 Auth=XAUTH_PSK Group=1:modp768"
scan mm3des --trans=5,2,65001,2
t_check "ike-scan Main Mode 3DES/SHA1/group 2: NO-PROPOSAL-CHOSEN" refused mm3des
scan mmsha --trans=1,2,65001,1
t_check "ike-scan Main Mode DES/SHA1/group 1: NO-PROPOSAL-CHOSEN" refused mmsha
scan mmg5 --trans=1,1,65001,5
t_check "ike-scan Main Mode DES/MD5/group 5: NO-PROPOSAL-CHOSEN" refused mmg5
scan mmpsk --trans=1,1,1,2
t_check "ike-scan Main Mode plain pre-share (no Xauth) while the crypto map requires Xauth: NO-PROPOSAL-CHOSEN" \
	refused mmpsk
scan am10 --aggressive --id=vpn3000 --trans=1,1,65001,2
t_check "ike-scan Aggressive Mode group vpn3000 DES/MD5/Xauth-PSK/group 2: policy 10 accepts" \
	accepted am10 "Aggressive Mode" "Enc=DES Hash=MD5 Auth=XAUTH_PSK Group=2:modp1024"
scan am20 --aggressive --id=vpn3000 --dhgroup=1 --trans=1,1,65001,1
t_check "ike-scan Aggressive Mode group vpn3000 DES/MD5/Xauth-PSK/group 1: policy 20 accepts" \
	accepted am20 "Aggressive Mode" "Enc=DES Hash=MD5 Auth=XAUTH_PSK Group=1:modp768"
scan am3des --aggressive --id=vpn3000 --trans=5,2,65001,2
t_check "ike-scan Aggressive Mode 3DES/SHA1: NO-PROPOSAL-CHOSEN" refused am3des
t_check "the gateway logged policy 20's acceptance of group 1" \
	grep -q 'Checking ISAKMP transform 1 against priority 20 policy' "$IKE_LOG"

# ---- a second client: the next pool address, then the same one back ----
ike_vpnc second "$out2" vpn3000secret cisco_customer cisco
addr=$(ike_vpnc_connected second) || addr=none
t_check "second vpnc client (192.168.1.3) gets 10.89.129.201 (got $addr)" test "$addr" = 10.89.129.201
t_check "leases: .200 for 192.168.1.2 and .201 for 192.168.1.3, both active" ike_py \
	'{(i["address"], i["peer_address"]) for i in items if i["state"] == "active"} == {("10.89.129.200", "192.168.1.2"), ("10.89.129.201", "192.168.1.3")}' leases
t_check "second client passes traffic through its tunnel" \
	ip netns exec "$out2" ping -c 2 -i 0.3 -W 2 -I 10.89.129.201 10.89.129.131
t_check "first client still passes traffic" \
	ip netns exec "$out1" ping -c 2 -i 0.3 -W 2 10.89.129.131
kill -TERM "$(cat "$T_DIR/vpnc-second/pid")"
ike_vpnc_exited second >/dev/null
second_gone() {
	ike_py 'not any(i["address"] == "10.89.129.201" and i["state"] == "active" for i in items)' leases &&
		ike_py 'not any(i["peer"] == "192.168.1.3" and i["state"] == "QM_IDLE" for i in items)' sa/ike
}
t_check "second client disconnected: its lease released, its IKE SA gone" ike_wait 10 second_gone
ike_vpnc second "$out2" vpn3000secret cisco_customer cisco
addr=$(ike_vpnc_connected second) || addr=none
t_check "second client reconnects and gets 10.89.129.201 back (got $addr)" test "$addr" = 10.89.129.201
t_check "first client kept 10.89.129.200 throughout" ike_py \
	'any(i["address"] == "10.89.129.200" and i["peer_address"] == "192.168.1.2" and i["state"] == "active" and i["id"] == 1 for i in items)' leases

# ---- the wrong group password's log line (half-open timeout, 30 s after its attempt) ----
badgroup_logged() {
	ike_log_since "$badgroup_mark" | grep -q '192.168.1.3:500: SA [0-9]* (vpn3000) deleted: half-open timeout: no Aggressive Mode message 3 (the peer probably rejected HASH_R: wrong pre-shared key or group password?)'
}
t_check "wrong group password: the gateway log says the peer probably rejected HASH_R" \
	ike_wait $((45 - (SECONDS - badgroup_start))) badgroup_logged
t_check "no secret in the gateway log" bash -c \
	"! grep -q -e vpn3000secret -e not-the-group-password -e not-the-password -e cisco1234 -e secretkey '$IKE_LOG'"
t_done
