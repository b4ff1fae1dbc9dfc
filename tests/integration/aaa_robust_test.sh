#!/usr/bin/env bash
# Servers that answer garbage, truncated packets, wrong authenticators/keys/sequence numbers or
# never answer: the user is refused (or the next server is tried), nothing crashes (the CLI runs
# under ASan/UBSan in the sanitizer build), and no accounting record is lost from the outbox; a
# record whose first delivery was sent but never acknowledged is re-sent flagged possible_duplicate.
AAA_TEST_NAME=bad
source "$(dirname "$0")/aaa_lib.sh"
TAC_KEY=robustkey-$$
RAD_SECRET=robustsecret-$$

"$PORTCULLIS" --db "$DB" db-init >/dev/null
start_tacacs good 49 normal
tmodes=(garbage truncated badkey badseq badlen close silent)
rmodes=(garbage short badlen badauth badid badma badattr silent)
sql=""
gid=10
for i in "${!tmodes[@]}"; do
	m=${tmodes[$i]}
	start_tacacs "$m" $((5001 + i)) "$m"
	sql+="INSERT INTO aaa_server_group(id, name, protocol, max_failed_attempts, deadtime_min)
		VALUES ($gid, 'T_$m', 'tacacs+', 5, 0);
	INSERT INTO aaa_server_host(group_id, address, key_secret, timeout_s, auth_port)
		VALUES ($gid, '127.0.0.1', '$TAC_KEY', 1, $((5001 + i)));"
	gid=$((gid + 1))
done
for i in "${!rmodes[@]}"; do
	m=${rmodes[$i]}
	start_badradius "$m" $((6001 + i)) "$m"
	sql+="INSERT INTO aaa_server_group(id, name, protocol, max_failed_attempts, deadtime_min)
		VALUES ($gid, 'R_$m', 'radius', 5, 0);
	INSERT INTO aaa_server_host(group_id, address, key_secret, timeout_s, retries, auth_port,
		acct_port) VALUES ($gid, '127.0.0.1', '$RAD_SECRET', 1, 0, $((6001 + i)), $((6001 + i)));"
	gid=$((gid + 1))
done
# a chain: two broken servers first, then the good one
sql+="INSERT INTO aaa_server_group(id, name, protocol, max_failed_attempts, deadtime_min)
	VALUES (2, 'Chain', 'tacacs+', 1, 10);
INSERT INTO aaa_server_host(group_id, address, key_secret, timeout_s, auth_port, position) VALUES
	(2, '127.0.0.1', '$TAC_KEY', 1, 5001, 0), (2, '127.0.0.3', '$TAC_KEY', 1, 5002, 1),
	(2, '127.0.0.2', '$TAC_KEY', 1, 49, 2);
INSERT INTO aaa_server_group(id, name, protocol, max_failed_attempts, deadtime_min)
	VALUES (3, 'AcctSilent', 'tacacs+', 5, 0);
INSERT INTO aaa_server_host(group_id, address, key_secret, timeout_s, auth_port)
	VALUES (3, '127.0.0.1', '$TAC_KEY', 1, 5007);"
dbconf "$sql"

for m in "${tmodes[@]}"; do
	expect_auth unavailable "T_$m" alice wonder
done
for m in "${rmodes[@]}"; do
	expect_auth unavailable "R_$m" alice wonder
done

# the good server listens on 127.0.0.1 only: 127.0.0.2 must reach it too
stop_pid "$TAC_PID_good"
ip netns exec "$NS" python3 "$PEERS/tacacs_server.py" --listen 0.0.0.0 --port 49 --key "$TAC_KEY" \
	--user alice:wonder --log "$TMP/tac-good2.log" >"$TMP/tac-good2.out" 2>&1 &
PIDS+=("$!")
wait_for "$TMP/tac-good2.out" listening 10
out=$(printf 'wonder\n' | pc aaa test --health Chain alice 2>"$TMP/chain.err" || true)
echo "$out" | head -1 | grep -q '^accept: 127.0.0.2:49' && pass "chain: broken servers skipped, third answered" ||
	fail "chain: $out $(tail -3 "$TMP/chain.err")"
echo "$out" | grep -q '127.0.0.1:5001: DEAD' && echo "$out" | grep -q '127.0.0.3:5002: DEAD' &&
	pass "broken servers marked dead" || fail "chain health: $out"
out=$(printf 'wonder\n' | pc aaa test --repeat 2 --health Chain alice 2>/dev/null || true)
[ "$(echo "$out" | grep -c '^accept: 127.0.0.2:49')" = 2 ] && pass "dead servers not retried within the dead time" ||
	fail "repeat: $out"

# accounting: sent to a server that never acknowledges, and to garbage RADIUS/TACACS+ servers
pc aaa account-test AcctSilent alice --type start --session D-$$-1 --task 1 --caller 10.1.1.1 \
	--wait 4000 --backoff 100 >/dev/null 2>"$TMP/acct.err" || true
pc aaa account-test R_garbage alice --type start --session D-$$-2 --task 2 --wait 4000 --backoff 100 >/dev/null 2>>"$TMP/acct.err" || true
pc aaa account-test R_badauth alice --type start --session D-$$-3 --task 3 --wait 4000 --backoff 100 >/dev/null 2>>"$TMP/acct.err" || true
pc aaa account-test T_garbage alice --type start --session D-$$-4 --task 4 --wait 4000 --backoff 100 >/dev/null 2>>"$TMP/acct.err" || true
grep -q 'Sanitizer\|runtime error' "$TMP/acct.err" && fail "sanitizer: $(grep -m3 Sanitizer "$TMP/acct.err")"
n=$(pc aaa outbox | grep -c 'state=pending attempts=[1-9].*error=sent: ' || true)
[ "$n" = 4 ] && pass "4 undeliverable records kept pending with attempts and error" ||
	fail "outbox: $(pc aaa outbox)"
# the servers get fixed: everything is delivered, the unacknowledged ones flagged
dbconf "UPDATE aaa_server_host SET auth_port = 49 WHERE group_id IN (3, (SELECT id FROM aaa_server_group WHERE name = 'T_garbage'));
	UPDATE aaa_server_group SET protocol = 'tacacs+' WHERE name IN ('R_garbage', 'R_badauth');
	UPDATE aaa_server_host SET auth_port = 49, acct_port = 49, key_secret = '$TAC_KEY'
		WHERE group_id IN (SELECT id FROM aaa_server_group WHERE name IN ('R_garbage', 'R_badauth'));
	UPDATE acct_record SET next_attempt_at_ms = 0;"
out=$(pc aaa deliver --wait 15000 || true)
echo "$out" | grep -q 'outbox: 0 pending' && pass "all kept records delivered once servers work" || fail "deliver: $out"
pc aaa outbox | grep "session=D-$$-1" | grep -q 'state=delivered .*dup=1' &&
	pass "record re-sent after an unacknowledged attempt is flagged possible_duplicate" ||
	fail "dup flag: $(pc aaa outbox | grep D-$$-1)"
[ "$(grep -c '"acct"' "$TMP/tac-good2.log")" -ge 4 ] && pass "server received the 4 records" ||
	fail "server log: $(cat "$TMP/tac-good2.log")"

finish
