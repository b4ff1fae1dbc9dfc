#!/usr/bin/env bash
# portcullis import / export / secret set end to end on a scratch database: the seed with its
# secrets from a secrets file, masked export, dry-run re-import without changes, JSON report,
# stdin, --strict refusing a bad config without touching the stored one. No network needed.
set -euo pipefail
: "${PORTCULLIS:?}" "${PORTCULLIS_SOURCE_DIR:?}"
work=$(mktemp -d /tmp/pc-pixcli-XXXXXX)
trap 'rm -rf "$work"' EXIT
db=$work/p.db
seed=$PORTCULLIS_SOURCE_DIR/tests/data/pix/pix-6.3.3-running-config.cfg
fail() { echo "pix_cli_test: $*" >&2; exit 1; }

cat > "$work/secrets" <<'S'
# the seed's secrets (SEED.md)
isakmp-key:0.0.0.0/0.0.0.0=cisco1234
vpngroup:vpn3000=vpnsecret
S
out=$("$PORTCULLIS" --db "$db" import "$seed" --apply --strict --secrets-file "$work/secrets")
grep -q '^99 lines: 95 mapped, 0 warnings, 0 unsupported (kept verbatim), 0 errors' <<<"$out" ||
	fail "seed import: $out"
grep -q '^applied: ' <<<"$out" || fail "seed not applied: $out"
grep -q 'secrets not set' <<<"$out" && fail "secrets reported missing: $out"

"$PORTCULLIS" --db "$db" export > "$work/masked.cfg"
grep -q 'cisco1234\|vpnsecret\|secretkey' "$work/masked.cfg" && fail "export shows a secret"
grep -qx 'isakmp key \*\*\*\*\*\*\*\* address 0.0.0.0 netmask 0.0.0.0' "$work/masked.cfg" ||
	fail "masked isakmp key missing"
"$PORTCULLIS" --db "$db" export --show-secrets > "$work/clear.cfg"
grep -qx 'isakmp key cisco1234 address 0.0.0.0 netmask 0.0.0.0' "$work/clear.cfg" ||
	fail "isakmp key not stored"
grep -qx 'vpngroup vpn3000 password vpnsecret' "$work/clear.cfg" || fail "group password not stored"

# the masked export re-imported from stdin: nothing changes, the stored secrets stay
out=$("$PORTCULLIS" --db "$db" import - < "$work/masked.cfg")
grep -q '^dry run (nothing written; use --apply): 0 added, 0 changed, 0 removed' <<<"$out" ||
	fail "re-import not a fixed point: $out"

# JSON report
"$PORTCULLIS" --db "$db" --json import "$seed" > "$work/report.json"
python3 - "$work/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
c = r["counts"]
assert c["lines"] == 99 and c["unsupported"] == 0 and c["errors"] == 0, c
assert r["applied"] is False
assert all(e["kind"] in ("mapped", "ignored") for e in r["entries"]), r["entries"]
PY

# secret set later
"$PORTCULLIS" --db "$db" secret set 'aaa-server:AuthInbound/10.89.129.134=other' >/dev/null
"$PORTCULLIS" --db "$db" export --show-secrets | grep -q 'host 10.89.129.134 other timeout 10' ||
	fail "secret set did not change the key"
if "$PORTCULLIS" --db "$db" secret set 'vpngroup:nosuch=x' 2>/dev/null; then
	fail "secret set on an unknown object succeeded"
fi

# --strict with an invalid config: exit 1, stored configuration unchanged
"$PORTCULLIS" --db "$db" export --show-secrets > "$work/before.cfg"
if "$PORTCULLIS" --db "$db" import "$PORTCULLIS_SOURCE_DIR/tests/data/pix/own/invalid.cfg" \
	--strict --apply > "$work/strict.txt" 2>&1; then
	fail "strict import of an invalid config succeeded"
fi
grep -q 'line 5: error: ip address outside 192.0.2.1 255.255.0.255' "$work/strict.txt" ||
	fail "strict report lacks the line: $(cat "$work/strict.txt")"
"$PORTCULLIS" --db "$db" export --show-secrets > "$work/after.cfg"
cmp -s "$work/before.cfg" "$work/after.cfg" || fail "strict failure changed the stored config"
echo "pix_cli_test: ok"
