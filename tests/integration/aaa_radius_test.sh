#!/usr/bin/env bash
# AAA against FreeRADIUS (Debian freeradius, two instances in a network namespace):
# PAP authentication with Message-Authenticator (the server requires it), wrong password refused,
# accounting Start/Stop in the detail file with the right Acct-Session-Time, octets (with
# Gigawords) and Framed-IP-Address; records wait in the outbox while the server is down and
# arrive after it restarts; the second host of a group takes over when the first is down.
AAA_TEST_NAME=rad
source "$(dirname "$0")/aaa_lib.sh"
RAD_SECRET=radsecret-$$

"$PORTCULLIS" --db "$DB" db-init >/dev/null
dbconf "INSERT INTO aaa_server_group(id, name, protocol, max_failed_attempts, deadtime_min)
		VALUES (1, 'RAD', 'radius', 1, 0), (2, 'RAD2', 'radius', 1, 10);
	INSERT INTO aaa_server_host(group_id, address, key_secret, timeout_s, retries, auth_port,
		acct_port, position) VALUES
		(1, '127.0.0.1', '$RAD_SECRET', 2, 1, 18120, 18130, 0),
		(2, '127.0.0.1', '$RAD_SECRET', 1, 0, 18120, 18130, 0),
		(2, '127.0.0.2', '$RAD_SECRET', 2, 1, 18121, 18131, 1);"

start_radius one 127.0.0.1 18120 18130
DET1=$TMP/radius-one/detail

# --- authentication
expect_auth accept RAD alice wonder --peer 192.168.1.50 --framed 10.89.129.200
expect_auth reject RAD alice wrong
expect_auth reject RAD mallory wonder
grep -q 'Message-Authenticator = 0x' "$TMP/radius-one/out.log" &&
	grep -q 'Calling-Station-Id = "192.168.1.50"' "$TMP/radius-one/out.log" &&
	grep -q 'Framed-IP-Address = 10.89.129.200' "$TMP/radius-one/out.log" &&
	grep -q 'NAS-Port-Type = Virtual' "$TMP/radius-one/out.log" &&
	pass "Access-Request carries Message-Authenticator, Calling-Station-Id, Framed-IP-Address, NAS-Port-Type" ||
	fail "Access-Request attributes missing in FreeRADIUS debug output"
if grep -q 'invalid Message-Authenticator\|Shared secret is incorrect' "$TMP/radius-one/out.log"; then
	fail "FreeRADIUS refused a Message-Authenticator"
fi

# --- accounting Start/Stop
pc aaa account-test RAD alice --type start --session S-$$-1 --task 11 --caller 10.89.129.200 \
	--peer 192.168.1.50 --service ipsec >/dev/null
pc aaa account-test RAD alice --type interim --session S-$$-1 --task 11 --caller 10.89.129.200 \
	--peer 192.168.1.50 --service ipsec --elapsed 1800 --bytes-in 300 --bytes-out 400 >/dev/null
pc aaa account-test RAD alice --type stop --session S-$$-1 --task 11 --caller 10.89.129.200 \
	--peer 192.168.1.50 --service ipsec --elapsed 3725 --bytes-in 4294967396 --bytes-out 5000 \
	--packets-in 40 --packets-out 50 --cause user-request >/dev/null
python3 - "$DET1" "S-$$-1" <<'PY' && pass "Start, Interim-Update and Stop in the detail file with the right values" || fail "detail file content"
import sys
recs = open(sys.argv[1]).read().strip().split("\n\n")
mine = [r for r in recs if 'Acct-Session-Id = "%s"' % sys.argv[2] in r]
assert len(mine) == 3, "want 3 records, got %d" % len(mine)
start, interim, stop = mine
for want in ["Acct-Status-Type = Interim-Update", "Acct-Session-Time = 1800",
             "Acct-Input-Octets = 300", "Acct-Output-Octets = 400"]:
    assert want in interim, "missing %s in\n%s" % (want, interim)
assert "Acct-Terminate-Cause" not in interim, interim
assert "Acct-Status-Type = Start" in start, start
assert "Framed-IP-Address = 10.89.129.200" in start, start
for want in ["Acct-Status-Type = Stop", "Acct-Session-Time = 3725", "Acct-Input-Octets = 100",
             "Acct-Input-Gigawords = 1", "Acct-Output-Octets = 5000", "Acct-Input-Packets = 40",
             "Acct-Output-Packets = 50", "Framed-IP-Address = 10.89.129.200",
             "Acct-Terminate-Cause = User-Request", 'Calling-Station-Id = "192.168.1.50"',
             'User-Name = "alice"']:
    assert want in stop, "missing %s in\n%s" % (want, stop)
PY

# --- server down: records wait in the outbox, arrive after a restart
stop_pid "$RAD_PID_one"
out=$(pc aaa account-test RAD bob --type start --session S-$$-2 --task 12 --caller 10.89.129.201 \
	--wait 3000 --backoff 200 || true)
echo "$out" | grep -q 'outbox: 1 pending' && pass "record waits in the outbox while FreeRADIUS is down" ||
	fail "expected 1 pending record, got: $out"
pc aaa account-test RAD bob --type stop --session S-$$-2 --task 12 --caller 10.89.129.201 \
	--elapsed 60 --bytes-in 10 --bytes-out 20 --wait 1000 --backoff 200 >/dev/null || true
pc aaa outbox | grep "session=S-$$-2" | grep -q 'state=pending attempts=[1-9]' &&
	pass "pending records show their attempts and last error" || fail "outbox state: $(pc aaa outbox)"
grep -c "S-$$-2" "$DET1" >/dev/null 2>&1 && fail "record reached the stopped server?" || true
start_radius one 127.0.0.1 18120 18130
sleep 0.5
out=$(pc aaa deliver --wait 20000 --backoff 200 || true)
echo "$out" | grep -q 'outbox: 0 pending' && pass "outbox drained after restart" || fail "deliver: $out"
pc aaa outbox | grep "session=S-$$-2" | grep -c 'state=delivered .*dup=0' | grep -qx 2 &&
	pass "records refused by ICMP port unreachable are not flagged possible_duplicate" ||
	fail "dup flags: $(pc aaa outbox | grep S-$$-2)"
n=$(grep -c "Acct-Session-Id = \"S-$$-2\"" "$DET1" || true)
[ "$n" -ge 2 ] && pass "Start and Stop of S-$$-2 arrived after restart ($n records)" ||
	fail "S-$$-2 records in detail: $n"
python3 - "$DET1" "S-$$-2" <<'PY' && pass "Stop after Start, in order" || fail "order of delayed records"
import sys
recs = [r for r in open(sys.argv[1]).read().strip().split("\n\n") if sys.argv[2] in r]
types = [("Start" if "Acct-Status-Type = Start" in r else "Stop") for r in recs]
assert types[0] == "Start" and types[-1] == "Stop", types
assert "Acct-Session-Time = 60" in recs[-1]
PY

# --- failover: the first host of RAD2 is down, the second answers
start_radius two 127.0.0.2 18121 18131
stop_pid "$RAD_PID_one"
out=$(printf 'wonder\n' | pc aaa test --health RAD2 alice 2>/dev/null || true)
echo "$out" | head -1 | grep -q '^accept: 127.0.0.2:18121' && pass "second host took over: $(echo "$out" | head -1)" ||
	fail "failover auth: $out"
echo "$out" | grep -q 'server RAD2 radius 127.0.0.1:18120: DEAD' && pass "first host marked dead (max_failed_attempts 1)" ||
	fail "health: $out"
pc aaa account-test RAD2 alice --type start --session S-$$-3 --task 13 --caller 10.89.129.202 \
	--wait 15000 >/dev/null || true
pc aaa outbox | grep "session=S-$$-3" | grep -q 'state=delivered .*to=127.0.0.2:18131' &&
	pass "accounting delivered to the second host" || fail "failover acct: $(pc aaa outbox | grep S-$$-3)"
grep -q "S-$$-3" "$TMP/radius-two/detail" && pass "second FreeRADIUS wrote the record" ||
	fail "record not in second detail file"

finish
