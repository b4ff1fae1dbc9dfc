#!/usr/bin/env bash
# Real peers against the real daemon with the seed config (a private copy of the demo lab):
#  - NAT-T: a vpnc client behind a masquerading home router (nftables) connects, the gateway sees
#    the NAT, IKE and ESP go over UDP 4500 through the router, traffic passes the tunnel;
#  - DPD: with `isakmp keepalive 10 2` set through the API, a client that goes silent (link down,
#    vpnc stopped) is torn down: IKE SA gone, lease released, accounting stop record written;
#    the client behind the NAT, idle but alive, answers DPD and keeps its tunnel.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/ike_lab_lib.sh"

ike_lab_up
out1=${IKE_P}out1

# ---- a home router on the outside segment (192.168.1.4) masquerading 192.168.77.0/24 ----
t_netns home home
t_netns natc natc
ip link add o-home netns "${IKE_P}osw" type veth peer name eth0 netns "$home"
ip -n "${IKE_P}osw" link set o-home master br0
ip -n "${IKE_P}osw" link set o-home up
ip -n "$home" addr add 192.168.1.4/24 dev eth0
ip -n "$home" link set eth0 up
t_link "$home" eth1 192.168.77.1/24 "$natc" eth0 192.168.77.2/24
ip -n "$natc" route add default via 192.168.77.1
ip netns exec "$home" sysctl -qw net.ipv4.ip_forward=1
ip netns exec "$home" nft -f - <<'EOF'
table ip home {
	counter c500 {
	}
	counter c4500 {
	}
	counter cesp {
	}
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "eth0" masquerade
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
		oifname "eth0" udp dport 500 counter name "c500"
		oifname "eth0" udp dport 4500 counter name "c4500"
		oifname "eth0" ip protocol esp counter name "cesp"
	}
}
EOF
counter() { ip netns exec "$home" nft list counter ip home "$1" | sed -n 's/.*packets \([0-9]*\).*/\1/p'; }

mark=$(ike_log_mark)
ike_vpnc natc "$natc" vpn3000secret cisco_customer cisco
addr=$(ike_vpnc_connected natc) || addr=none
t_check "vpnc behind the NAT connects and gets 10.89.129.201 (got $addr)" test "$addr" = 10.89.129.201
t_check "the gateway's log: NAT-D found the client behind a NAT" bash -c \
	"tail -n +$((mark + 1)) '$IKE_LOG' | grep -q '192.168.1.4:[0-9]*: NAT-D: .*behind a NAT'"
t_check "IKE SA of 192.168.1.4 (the router's address) with natt true; the direct client's natt false" ike_py \
	'any(i["peer"] == "192.168.1.4" and i["natt"] is True and i["assigned_address"] == "10.89.129.201" for i in items) and any(i["peer"] == "192.168.1.2" and i["natt"] is False for i in items)' sa/ike
t_check "traffic through the tunnel from behind the NAT (ping 10.89.129.131)" \
	ip netns exec "$natc" ping -c 3 -i 0.3 -W 2 10.89.129.131
t_check "IPsec SA of 10.89.129.201 is UDP-encapsulated and counted the traffic" ike_py \
	'any(i["assigned_address"] == "10.89.129.201" and i["natt"] is True and i["packets_in"] >= 3 and i["packets_out"] >= 3 for i in items)' sa/ipsec
n4500=$(counter c4500)
nesp=$(counter cesp)
t_check "the home router forwarded UDP 4500 ($n4500 packets) and no bare ESP ($nesp)" \
	bash -c "[ '${n4500:-0}' -ge 4 ] && [ '${nesp:-1}' -eq 0 ]"

# ---- DPD: 10 s idle, R-U-THERE every 2 s, teardown after 3 unanswered ----
code=$(ike_post settings '{"name":"isakmp-keepalive","value":"10 2"}')
t_check "isakmp keepalive 10 2 stored through the API (HTTP $code)" test "$code" = 201
dpd_applied() { grep -q 'DPD: R-U-THERE after 10 s idle, every 2 s' "$IKE_LOG"; }
t_check "the gateway applied it (log)" ike_wait 5 dpd_applied
t_check "the isakmp keepalive is exported as PIX config" bash -c \
	"'$PORTCULLIS' --db '$PORTCULLIS_LAB_DIR/portcullis.db' export 2>/dev/null | grep -qx 'isakmp keepalive 10 2'"

# the first client (192.168.1.2, 10.89.129.200) passes traffic (so its idle time starts now),
# then goes silent: vpnc stopped, its link down
ip netns exec "$out1" ping -c 1 -W 2 10.89.129.131 >/dev/null ||
	t_fail "the first client passes traffic before going silent"
vpnc_pid=$(cat "$PORTCULLIS_LAB_DIR/pids/vpnc")
kill -STOP "$vpnc_pid"
ip -n "$out1" link set eth0 down
silent_at=$SECONDS
mark=$(ike_log_mark)
gone() {
	ike_py 'not any(i["peer"] == "192.168.1.2" for i in items)' sa/ike
}
t_check "DPD: the silent client's IKE SA is torn down" ike_wait 40 gone
took=$((SECONDS - silent_at))
# 10 s idle + 3 x 2 s (+ the 1 s tick and polling) is about 17 s; the retry interval left at its
# default (5 s) would make it 25 s, the default keepalive 45 s
t_check "DPD: torn down in ${took}s (10 s idle + 3 x 2 s)" test "$took" -le 22
ike_log_since "$mark" >"$T_DIR/dpd.log"
t_check "DPD: the gateway log says the peer is dead" \
	grep -q '192.168.1.2:500: SA [0-9]* (vpn3000/cisco_customer) deleted: dpd: peer dead' "$T_DIR/dpd.log"
t_check "DPD: the lease of 10.89.129.200 is released" ike_py \
	'any(i["address"] == "10.89.129.200" and i["peer_address"] == "192.168.1.2" for i in items) and not any(i["address"] == "10.89.129.200" and i["state"] == "active" for i in items)' leases
stop_written() {
	ike_py 'any(i["record_type"] == "stop" and i["caller_address"] == "10.89.129.200" and i["peer_address"] == "192.168.1.2" for i in items)' \
		"accounting?user=cisco_customer&type=stop"
}
t_check "DPD: an accounting stop record for 10.89.129.200" ike_wait 5 stop_written
t_check "DPD: the client behind the NAT (idle too, but answering) keeps its tunnel" ike_py \
	'any(i["peer"] == "192.168.1.4" and i["state"] == "QM_IDLE" for i in items)' sa/ike
t_check "... and still passes traffic" ip netns exec "$natc" ping -c 2 -i 0.3 -W 2 10.89.129.131
kill -CONT "$vpnc_pid" 2>/dev/null || true
t_done
