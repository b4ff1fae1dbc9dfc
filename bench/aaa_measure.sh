#!/usr/bin/env bash
# AAA benchmark: authentication latency (sequential, one CLI process for N requests) against the
# test TACACS+ server and FreeRADIUS, LOCAL hash cost, and accounting outbox throughput (N records
# queued durably, then delivered 16 at a time). Runs in its own network namespace, as root.
# usage: PORTCULLIS=build/rel/portcullis bench/aaa_measure.sh [N]
set -euo pipefail
N=${1:-200}
export PORTCULLIS=${PORTCULLIS:-build/dev/portcullis}
PORTCULLIS=$(realpath "$PORTCULLIS")
export PORTCULLIS_SOURCE_DIR=$(cd "$(dirname "$0")/.." && pwd)
AAA_TEST_NAME=bench
source "$PORTCULLIS_SOURCE_DIR/tests/integration/aaa_lib.sh"
TAC_KEY=benchkey
RAD_SECRET=benchsecret

"$PORTCULLIS" --db "$DB" db-init >/dev/null
pbk=$(printf 'p4ss\n' | "$PORTCULLIS" --db "$DB" aaa hash --pbkdf2)
dbconf "INSERT INTO aaa_server_group(id, name, protocol) VALUES (1, 'TAC', 'tacacs+'),
		(2, 'RAD', 'radius');
	INSERT INTO aaa_server_host(group_id, address, key_secret, timeout_s, auth_port, acct_port)
		VALUES (1, '127.0.0.1', '$TAC_KEY', 5, 49, 49),
		(2, '127.0.0.1', '$RAD_SECRET', 5, 18120, 18130);
	INSERT INTO local_user(name, password_hash, hash_kind) VALUES ('user', 'A5XOy94YKDPXCo7U', 'pix-md5'),
		('pbk', '$pbk', 'pbkdf2-sha256');"
start_tacacs main 49 normal
bash "$PEERS/freeradius_conf.sh" "$TMP/fr" 127.0.0.1 18120 18130 "$RAD_SECRET" "$TMP/fr/detail" alice:wonder
ip netns exec "$NS" freeradius -f -d "$TMP/fr" >"$TMP/fr.out" 2>&1 &
PIDS+=("$!")
sleep 2

ms() { date +%s%3N; }
bench_auth() { # LABEL GROUP USER PASSWORD [opts]
	local t0 t1 ok
	t0=$(ms)
	ok=$(printf '%s\n' "$4" | pc aaa test --repeat "$N" "${@:5}" "$2" "$3" 2>/dev/null | grep -c '^accept' || true)
	t1=$(ms)
	printf '%-28s %5d/%d accepted  %8.2f ms/auth\n' "$1" "$ok" "$N" "$(echo "($t1 - $t0) / $N" | bc -l)"
}
echo "== authentication, $N sequential requests in one process (includes one process start)"
bench_auth "TACACS+ ASCII login" TAC alice wonder
bench_auth "TACACS+ PAP" TAC alice wonder --pap
bench_auth "RADIUS PAP (FreeRADIUS)" RAD alice wonder
bench_auth "LOCAL pix-md5" LOCAL user password
bench_auth "LOCAL pbkdf2 (100k iter)" LOCAL pbk p4ss

echo "== accounting outbox: $((N * 5)) records queued (fsync each), then delivered"
for g in TAC RAD; do
	out=$(pc aaa account-test "$g" alice --type start --session "B$g" --count $((N * 5)) --wait 120000)
	echo "$g: $(echo "$out" | tr '\n' ' ')"
done
