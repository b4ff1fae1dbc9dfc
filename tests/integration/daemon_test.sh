#!/usr/bin/env bash
# portcullisd foundation: creates and migrates its database, answers /api/v1/health, runs its data
# plane in --netns, reloads on SIGHUP, stops cleanly on SIGTERM (no sanitizer reports), refuses a
# database from a newer schema, and refuses to program the root namespace without being told.
source "$(dirname "$0")/../lib.sh"

t_netns ns gw
port=$(t_free_port)
db=$T_DIR/pc.db
log=$T_DIR/daemon.log

"$PORTCULLISD" --db "$db" --api "127.0.0.1:$port" --netns "$ns" --log-level info >"$log" 2>&1 &
pid=$!
T_PIDS+=("$pid")
t_wait_http "http://127.0.0.1:$port/api/v1/health"
health=$(curl -s "http://127.0.0.1:$port/api/v1/health")
echo "# health: $health"
t_check "health is JSON with version, schema and uptime" python3 - "$health" <<'PY'
import json, sys
h = json.loads(sys.argv[1])
assert h["status"] == "ok", h
assert h["version"], h
assert h["schema_version"] == 1, h
assert isinstance(h["uptime_s"], int), h
PY
t_check "health reports the data plane namespace" python3 -c "
import json,sys; h=json.loads(sys.argv[1]); assert h['netns']==sys.argv[2] and h['data_plane'] is True, h" "$health" "$ns"
t_check "database was created and migrated" test "$(sqlite3 "$db" 'select max(version) from schema_migrations')" = 1
t_check "unknown route is a JSON 404" test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/api/v1/nope")" = 404

kill -HUP "$pid"
sleep 0.5
t_check "SIGHUP reloads" grep -q "received SIGHUP, reloading" "$log"
t_check "still answering after SIGHUP" curl -sf -o /dev/null "http://127.0.0.1:$port/api/v1/health"

kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
T_PIDS=()
t_check "SIGTERM exits 0" test "$rc" -eq 0
t_check "clean shutdown logged" grep -q "stopped" "$log"
t_check "no sanitizer report" bash -c "! grep -Eq 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' '$log'"

# A database written by a newer schema is refused, naming both versions.
sqlite3 "$db" "insert into schema_migrations(version, name) values (7, 'future')"
rc=0
"$PORTCULLISD" --db "$db" --api "127.0.0.1:$port" --netns "$ns" >"$T_DIR/newer.log" 2>&1 || rc=$?
t_check "newer schema: exit non-zero" test "$rc" -ne 0
t_check "newer schema: message names both versions" grep -q "schema version 7 is newer than this program's schema version 1" "$T_DIR/newer.log"

# In the root namespace without --allow-host-network the data plane stays off, and says why.
db2=$T_DIR/root.db
"$PORTCULLISD" --db "$db2" --api "127.0.0.1:$port" >"$T_DIR/root.log" 2>&1 &
pid=$!
T_PIDS+=("$pid")
t_wait_http "http://127.0.0.1:$port/api/v1/health"
t_check "root namespace: data plane disabled" python3 -c "
import json,sys; h=json.loads(sys.argv[1]); assert h['data_plane'] is False, h" "$(curl -s "http://127.0.0.1:$port/api/v1/health")"
t_check "root namespace: refusal explained" grep -q "refusing to program the host's own network" "$T_DIR/root.log"
kill -TERM "$pid"
wait "$pid" || true
T_PIDS=()

# Bad flags get clear errors.
out=$("$PORTCULLISD" --db "$db2" --api nonsense 2>&1 || true)
t_check "--api without port rejected clearly" grep -q "expected ADDR:PORT" <<<"$out"
out=$("$PORTCULLISD" --db "$db2" --log-level loud 2>&1 || true)
t_check "--log-level rejected clearly" grep -q "got 'loud'" <<<"$out"
out=$("$PORTCULLISD" --db "$db2" --netns pc-no-such-ns-$$ --api "127.0.0.1:$port" 2>&1 || true)
t_check "--netns missing namespace explained" grep -q "ip netns add" <<<"$out"
t_check "--help lists flags" bash -c "'$PORTCULLISD' --help | grep -q -- --netns"

t_done
