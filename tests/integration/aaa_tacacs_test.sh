#!/usr/bin/env bash
# TACACS+: our test server (tests/peers/tacacs_server.py) is first proved against independent
# implementations: Debian's Authen::TacacsPlus client authenticates through it (ASCII and PAP),
# and tshark's TACACS+ dissector, given the key, decodes every packet our C client sends and
# every reply without a malformed or error mark. Then our client against it: ASCII login and PAP,
# wrong password, authorization, accounting START/STOP with task_id, start_time, elapsed_time,
# bytes_in/out, service, protocol, addr; LOCAL users with the seed's PIX-MD5 hashes; fallback to
# LOCAL when the TACACS+ server is down.
AAA_TEST_NAME=tac
source "$(dirname "$0")/aaa_lib.sh"
TAC_KEY=secretkey-$$

"$PORTCULLIS" --db "$DB" db-init >/dev/null
dbconf "INSERT INTO aaa_server_group(id, name, protocol, max_failed_attempts, deadtime_min,
		fallback_local) VALUES (1, 'AuthInbound', 'tacacs+', 3, 10, 0),
		(2, 'Fallback', 'tacacs+', 1, 10, 1), (3, 'LOCAL', 'local', 3, 10, 0);
	INSERT INTO aaa_server_host(group_id, address, key_secret, timeout_s) VALUES
		(1, '127.0.0.1', '$TAC_KEY', 5), (2, '127.0.0.1', '$TAC_KEY', 1);
	UPDATE aaa_server_host SET auth_port = 4950 WHERE group_id = 2;
	INSERT INTO local_user(name, password_hash, hash_kind) VALUES
		('user', 'A5XOy94YKDPXCo7U', 'pix-md5');"
# "username user password password" hashes to A5XOy94YKDPXCo7U (passlib's cisco_pix vector);
# user accounts salt with the name, so the seed's unsalted passwd hash of "cisco" must not match
pix=$(printf 'cisco\n' | "$PORTCULLIS" --db "$DB" aaa hash --pix pixuser)
dbconf "INSERT INTO local_user(name, password_hash, hash_kind) VALUES ('pixuser', '$pix', 'pix-md5'),
	('seeduser', '2KFQnbNIdI.2KYOU', 'pix-md5');"
pbk=$(printf 'p4ss\n' | "$PORTCULLIS" --db "$DB" aaa hash --pbkdf2)
dbconf "INSERT INTO local_user(name, password_hash, hash_kind) VALUES ('admin2', '$pbk', 'pbkdf2-sha256');"

ip netns exec "$NS" tshark -q -i lo -f 'tcp port 49' -w "$TMP/tac.pcap" >"$TMP/tshark.out" 2>&1 &
TSHARK=$!
PIDS+=("$TSHARK")
wait_for "$TMP/tshark.out" "Capturing on" 15 || fail "tshark did not start"
start_tacacs main 49 normal --deny-author bob

# --- the test server against an independent client (Authen::TacacsPlus)
nsx perl -MAuthen::TacacsPlus -e '
	my ($key) = @ARGV;
	sub one { my ($u, $p, $t) = @_;
		my $c = Authen::TacacsPlus->new(Host => "127.0.0.1", Key => $key, Port => 49,
			Timeout => 5) or die "connect: " . Authen::TacacsPlus::errmsg();
		my $r = defined $t ? $c->authen($u, $p, $t) : $c->authen($u, $p); $c->close(); $r ? 1 : 0 }
	my @r = (one("alice", "wonder"), one("alice", "nope"),
		one("bob", "builder", &Authen::TacacsPlus::TAC_PLUS_AUTHEN_TYPE_PAP),
		one("bob", "nope", &Authen::TacacsPlus::TAC_PLUS_AUTHEN_TYPE_PAP));
	print join(",", @r), "\n"; exit(join(",", @r) eq "1,0,1,0" ? 0 : 1)' "$TAC_KEY" >"$TMP/perl.out" 2>&1 &&
	pass "Authen::TacacsPlus (ASCII and PAP) authenticates through the test server" ||
	fail "Authen::TacacsPlus against the test server: $(cat "$TMP/perl.out")"

# --- our client
expect_auth accept AuthInbound alice wonder --peer 192.168.1.50
expect_auth reject AuthInbound alice wrong
expect_auth accept AuthInbound bob builder --pap
expect_auth reject AuthInbound bob nope --pap
expect_auth accept AuthInbound alice wonder --authorize
expect_auth reject AuthInbound bob builder --authorize
pc aaa account-test AuthInbound alice --type start --session T-$$-1 --task 4711 \
	--caller 10.89.129.200 --peer 192.168.1.50 --service telnet --protocol ip >/dev/null
pc aaa account-test AuthInbound alice --type stop --session T-$$-1 --task 4711 \
	--caller 10.89.129.200 --peer 192.168.1.50 --service telnet --protocol ip --elapsed 93 \
	--bytes-in 1234 --bytes-out 5678 --packets-in 12 --packets-out 13 --cause user-request >/dev/null
pc aaa outbox | grep "session=T-$$-1" | grep -c 'state=delivered' | grep -qx 2 &&
	pass "START and STOP acknowledged" || fail "outbox: $(pc aaa outbox)"
python3 - "$TMP/tac-main.log" <<'PY' && pass "server saw authen types, rem_addr and accounting arguments" || fail "server log"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
auth = [r for r in recs if r["type"] == "authen" and r["port"] == "vty0"]
assert {(r["user"], r["authen_type"], r["result"]) for r in auth} >= {
    ("alice", 1, "pass"), ("alice", 1, "fail"), ("bob", 2, "pass"), ("bob", 2, "fail")}, auth
assert any(r["rem_addr"] == "192.168.1.50" for r in auth), auth
assert any(r["type"] == "author" and r["user"] == "alice" and "service=telnet" in r["args"] for r in recs)
acct = [r for r in recs if r["type"] == "acct"]
start = [r for r in acct if r["flags"] == "start"][-1]
stop = [r for r in acct if r["flags"] == "stop"][-1]
for want in ["task_id=4711", "service=telnet", "protocol=ip", "addr=10.89.129.200"]:
    assert want in start["args"] and want in stop["args"], (want, start, stop)
assert any(a.startswith("start_time=") for a in start["args"]), start
for want in ["elapsed_time=93", "bytes_in=1234", "bytes_out=5678"]:
    assert want in stop["args"], (want, stop)
st = int([a for a in start["args"] if a.startswith("start_time=")][0].split("=")[1])
sp = int([a for a in stop["args"] if a.startswith("start_time=")][0].split("=")[1])
assert abs((sp + 93) - st) <= 93 + 5, (st, sp)
assert stop["user"] == "alice" and stop["rem_addr"] == "192.168.1.50", stop
PY

# --- tshark decodes our packets (key given) without malformed/error marks
sleep 1
kill "$TSHARK" 2>/dev/null || true
wait "$TSHARK" 2>/dev/null || true
tshark -r "$TMP/tac.pcap" -o "tacplus.key:$TAC_KEY" -Y tacplus -T fields -e frame.number \
	-e tacplus.request -e tacplus.type -e tacplus.seqno -e tacplus.user -e tacplus.arg_value \
	>"$TMP/tshark.fields" 2>"$TMP/tshark.err" || fail "tshark read: $(cat "$TMP/tshark.err")"
bad=$(tshark -r "$TMP/tac.pcap" -o "tacplus.key:$TAC_KEY" \
	-Y '_ws.malformed || _ws.expert.severity >= "Error"' 2>"$TMP/tshark.err" | wc -l)
[ -s "$TMP/tshark.err" ] && grep -v '^Running as user' "$TMP/tshark.err" | grep -q . &&
	fail "tshark filter error: $(cat "$TMP/tshark.err")"
# control: the same check with a wrong key must see malformed packets, or it proves nothing
ctl=$(tshark -r "$TMP/tac.pcap" -o "tacplus.key:not-$TAC_KEY" -Y '_ws.malformed' 2>/dev/null | wc -l)
[ "$ctl" -gt 0 ] && pass "control: with a wrong key tshark flags $ctl packets malformed" ||
	fail "control: wrong key decoded cleanly?"
total=$(wc -l <"$TMP/tshark.fields")
requests=$(awk -F'\t' '$2 == "1"' "$TMP/tshark.fields" | wc -l)
[ "$bad" -eq 0 ] && [ "$total" -ge 20 ] &&
	pass "tshark decoded $total TACACS+ packets ($requests from clients), none malformed" ||
	fail "tshark: $bad malformed/error of $total"
tshark -r "$TMP/tac.pcap" -o "tacplus.key:$TAC_KEY" -V -Y tacplus >"$TMP/tshark.txt" 2>/dev/null
grep -q 'task_id=4711' "$TMP/tshark.txt" && grep -q 'bytes_out=5678' "$TMP/tshark.txt" &&
	grep -q 'Authentication type: PAP' "$TMP/tshark.txt" && grep -q 'User: alice' "$TMP/tshark.txt" &&
	pass "tshark's decryption with the key shows users, PAP and accounting arguments" ||
	fail "tshark decode lacks expected fields"
if grep -q 'wonder\|builder' "$TMP/tshark.out"; then fail "password in tshark stdout?"; fi

# --- LOCAL with PIX-MD5 (seed vectors) and pbkdf2
expect_auth accept LOCAL pixuser cisco
expect_auth reject LOCAL pixuser cisco2
expect_auth reject LOCAL seeduser cisco
expect_auth accept LOCAL user password
expect_auth accept LOCAL admin2 p4ss
expect_auth reject LOCAL admin2 p4sS
expect_auth reject LOCAL nobody x

# --- fallback to LOCAL only where configured: nothing listens on 4950
expect_auth accept Fallback user password
expect_auth reject Fallback user wrong
dbconf "UPDATE aaa_server_group SET fallback_local = 0 WHERE name = 'Fallback';"
expect_auth unavailable Fallback user password

finish
