/* The engine: starts the subsystems in order, connects their hooks (IKE -> AAA, uauth, accounting;
 * uauth -> nftables set and AAA), and answers the API's requests on the loop thread. */
#include "gateway/core/engine.h"
#include "db/db.h"
#include "gateway/aaa/aaa.h"
#include "gateway/aaa/acct_ct.h"
#include "gateway/core/events.h"
#include "gateway/core/log.h"
#include "gateway/ike/ike.h"
#include "gateway/ike/ike_crypto.h"
#include "gateway/ipsec/backend.h"
#include "gateway/ipsec/xfrm.h"
#include "gateway/nat/nat.h"
#include "gateway/uauth/uauth.h"
#include "gateway/uauth/uauth_engine.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- small helpers ---- */

static const char *
ip4str(uint32_t host_order, char buf[16])
{
	struct in_addr a = {.s_addr = htonl(host_order)};

	inet_ntop(AF_INET, &a, buf, 16);
	return buf;
}

static void
publish(const char *type, json_t *data)
{
	char *text = json_dumps(data, JSON_COMPACT);

	if (text != NULL)
		events_publish(type, text);
	free(text);
	json_decref(data);
}

/* The aaa-server group that authenticates and accounts VPN users: the crypto map's
 * `client authentication GROUP`, else the group of the first accounting rule, else "". */
static void
vpn_aaa_group(struct engine *eng, char *out, size_t outlen, bool accounting)
{
	sqlite3_stmt *st = NULL;
	const char *sql = accounting ? "SELECT g.name FROM aaa_rule r JOIN aaa_server_group g ON "
	                               "g.id = r.group_id "
	                               "WHERE r.kind = 'accounting' AND r.action = 'include' ORDER "
	                               "BY r.position "
	                               "LIMIT 1"
	                             : "SELECT g.name FROM crypto_map_option o JOIN "
	                               "aaa_server_group g ON g.id = "
	                               "o.client_auth_group_id ORDER BY o.position LIMIT 1";

	out[0] = '\0';
	if (db_prepare(eng->db, sql, &st, NULL) < 0)
		return;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
		snprintf(out, outlen, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

/* ---- IKE hooks ---- */

static int
hook_authenticate(void *arg, const struct aaa_auth_req *req, aaa_auth_fn fn, void *fn_arg,
                  uint64_t *req_id)
{
	struct engine *eng = arg;

	if (eng->aaa == NULL)
		return -ENOTCONN;
	return aaa_authenticate(eng->aaa, req, fn, fn_arg, req_id);
}

static void
hook_cancel(void *arg, uint64_t req_id)
{
	struct engine *eng = arg;

	if (eng->aaa != NULL)
		aaa_cancel(eng->aaa, req_id);
}

static void
account_tunnel(struct engine *eng, const struct ike_tunnel_info *t, enum aaa_acct_type type,
               const char *cause)
{
	struct aaa_acct_event ev = {.type = type};
	struct pc_err err = {0};

	if (eng->aaa == NULL || t->user[0] == '\0')
		return;
	if (!eng->acct_group_known) {
		vpn_aaa_group(eng, eng->acct_group, sizeof(eng->acct_group), true);
		eng->acct_group_known = true;
	}
	snprintf(ev.group, sizeof(ev.group), "%s", eng->acct_group);
	if (ev.group[0] == '\0')
		return; /* no accounting configured */
	snprintf(ev.session_id, sizeof(ev.session_id), "%08" PRIx64 "-%08x",
	         (uint64_t)eng->started_epoch, (uint32_t)t->ike_sa_id);
	ev.task_id = (uint32_t)t->ike_sa_id;
	snprintf(ev.user, sizeof(ev.user), "%s", t->user);
	snprintf(ev.user_group, sizeof(ev.user_group), "%s", t->group);
	ev.caller_addr = t->assigned_addr;
	ev.peer_addr = ntohl(t->peer.sin_addr.s_addr);
	snprintf(ev.service, sizeof(ev.service), "ipsec");
	snprintf(ev.protocol, sizeof(ev.protocol), "ip");
	if (type == AAA_ACCT_STOP) {
		uint64_t now = loop_now_ms();

		ev.elapsed_s = t->stats.added_ms != 0 && now > t->stats.added_ms
		                       ? (now - t->stats.added_ms) / 1000
		                       : 0;
		ev.bytes_in = t->stats.bytes_in;
		ev.bytes_out = t->stats.bytes_out;
		ev.packets_in = t->stats.packets_in;
		ev.packets_out = t->stats.packets_out;
		snprintf(ev.terminate_cause, sizeof(ev.terminate_cause), "%s",
		         cause != NULL ? cause : "");
	}
	if (aaa_account(eng->aaa, &ev, &err) < 0)
		log_error(LOG_AAA, "accounting %s for %s: %s",
		          type == AAA_ACCT_START ? "start" : "stop", t->user, err.msg);
}

/* Events in the last minute, from a ring of their times (saturates at the ring size). */
static int
per_minute(const uint64_t *ring, uint64_t count)
{
	uint64_t now = loop_now_ms();
	int n = 0;

	for (uint64_t i = 0; i < count && i < ENGINE_RATE_RING; i++)
		if (now - ring[(count - 1 - i) % ENGINE_RATE_RING] <= 60000)
			n++;
		else
			break;
	return n;
}

static void
hook_failure(void *arg, const char *reason)
{
	struct engine *eng = arg;

	eng->fail_ring[eng->fail_count++ % ENGINE_RATE_RING] = loop_now_ms();
}

static void
hook_tunnel_up(void *arg, const struct ike_tunnel_info *t, const char *reason)
{
	struct engine *eng = arg;
	char a[16], p[16];

	eng->tunnels_up++;
	eng->hs_ring[eng->hs_count++ % ENGINE_RATE_RING] = loop_now_ms();
	if (t->user[0] != '\0' && t->assigned_addr != 0 && eng->uauth != NULL)
		uauth_add_ipsec(eng->uauth, t->user, t->assigned_addr, t->group);
	account_tunnel(eng, t, AAA_ACCT_START, NULL);
	publish("tunnel-up", json_pack("{s:I, s:s, s:s, s:s, s:s}", "ike_sa_id",
	                               (json_int_t)t->ike_sa_id, "user", t->user, "group", t->group,
	                               "assigned_address", ip4str(t->assigned_addr, a), "peer",
	                               ip4str(ntohl(t->peer.sin_addr.s_addr), p)));
}

static void
hook_tunnel_down(void *arg, const struct ike_tunnel_info *t, const char *reason)
{
	struct engine *eng = arg;
	char a[16], p[16];

	eng->tunnels_down++;
	eng->bytes_in_closed += t->stats.bytes_in;
	eng->bytes_out_closed += t->stats.bytes_out;
	if (t->assigned_addr != 0 && eng->uauth != NULL)
		uauth_remove_ipsec(eng->uauth, t->assigned_addr);
	account_tunnel(eng, t, AAA_ACCT_STOP, reason);
	publish("tunnel-down",
	        json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "ike_sa_id",
	                  (json_int_t)t->ike_sa_id, "user", t->user, "group", t->group,
	                  "assigned_address", ip4str(t->assigned_addr, a), "peer",
	                  ip4str(ntohl(t->peer.sin_addr.s_addr), p), "reason",
	                  reason != NULL ? reason : "", "bytes_in", (json_int_t)t->stats.bytes_in,
	                  "bytes_out", (json_int_t)t->stats.bytes_out));
}

/* ---- API operations (engine thread) ---- */

static int
op_apply(struct engine *eng, struct db *txn, struct pc_err *err)
{
	if (!eng->data_plane_ok || eng->nat == NULL)
		return 0; /* nothing programmed in this namespace: stored only */
	return nat_apply(eng->nat, txn, err);
}

static int
op_committed(struct engine *eng)
{
	return engine_reload(eng, NULL);
}

static json_t *
sa_stats_json(const struct ipsec_sa_stats *s)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "bytes_in", (json_int_t)s->bytes_in,
	                 "bytes_out", (json_int_t)s->bytes_out, "packets_in",
	                 (json_int_t)s->packets_in, "packets_out", (json_int_t)s->packets_out,
	                 "replay_drops", (json_int_t)s->replay_drops, "auth_failures",
	                 (json_int_t)s->auth_failures);
}

/* Every IKE SA's row (malloc'd, *n of them; NULL and 0 without an IKE engine or memory). */
static struct ike_sa_info *
sa_rows(struct engine *eng, int *n)
{
	struct ike_sa_info *rows = NULL;
	int want;

	*n = 0;
	if (eng->ike == NULL)
		return NULL;
	want = ike_list_sas(eng->ike, NULL, 0);
	if (want <= 0)
		return NULL;
	rows = calloc((size_t)want, sizeof(*rows));
	if (rows == NULL)
		return NULL;
	*n = ike_list_sas(eng->ike, rows, want); /* same loop turn: the same SAs */
	if (*n > want)
		*n = want;
	return rows;
}

static int
list_sas(struct engine *eng, json_t **out, bool ipsec)
{
	json_t *arr = json_array();
	int n;
	struct ike_sa_info *rows = sa_rows(eng, &n);

	*out = arr;
	for (int i = 0; i < n; i++) {
		const struct ike_sa_info *r = &rows[i];
		char peer[16], local[16], addr[16];
		time_t created = time(NULL) - (time_t)r->age_s;
		char when[32];

		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&created));
		ip4str(ntohl(r->peer.sin_addr.s_addr), peer);
		ip4str(ntohl(r->local.sin_addr.s_addr), local);
		ip4str(r->assigned_addr, addr);
		if (!ipsec) {
			json_array_append_new(
			        arr,
			        json_pack("{s:I, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, "
			                  "s:s, s:i, s:I, s:b, s:i, s:s, s:s}",
			                  "id", (json_int_t)r->id, "peer", peer, "peer_port",
			                  ntohs(r->peer.sin_port), "local", local, "user", r->user,
			                  "group", r->group, "assigned_address", addr, "state",
			                  r->state, "encryption", ike_enc_name(r->enc), "hash_id",
			                  r->hash, "dh_group", r->dh_group, "hash",
			                  ike_hash_name(r->hash), "auth", r->auth_method, "age_s",
			                  (json_int_t)r->age_s, "natt", r->natt, "lifetime_s",
			                  (int)r->lifetime_s, "created", when, "mode", r->mode));
			continue;
		}
		for (int k = 0; k < r->n_ipsec && k < 4; k++) {
			json_t *o = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:b, s:s}", "id",
			                      "", "ike_id", (json_int_t)r->id, "user", r->user,
			                      "assigned_address", addr, "peer", peer, "spi_in", "",
			                      "spi_out", "", "natt", r->natt, "created", when);
			char id[40], si[12], so[12];

			snprintf(id, sizeof(id), "%" PRIu64 ".%d", r->id, k);
			snprintf(si, sizeof(si), "0x%08x", r->spi_in[k]);
			snprintf(so, sizeof(so), "0x%08x", r->spi_out[k]);
			json_object_set_new(o, "id", json_string(id));
			json_object_set_new(o, "spi_in", json_string(si));
			json_object_set_new(o, "spi_out", json_string(so));
			json_object_set_new(o, "transform", json_string(r->transform[k]));
			{
				/* json_object_update() copies the members: the stats object is
				 * ours to drop */
				json_t *st = sa_stats_json(&r->stats[k]);

				json_object_update(o, st);
				json_decref(st);
			}
			json_array_append_new(arr, o);
		}
	}
	free(rows);
	return 0;
}

static int
op_list_ike(struct engine *eng, json_t **out)
{
	return list_sas(eng, out, false);
}

static int
op_list_ipsec(struct engine *eng, json_t **out)
{
	return list_sas(eng, out, true);
}

static int
op_clear_sa(struct engine *eng, uint64_t id, struct pc_err *err)
{
	struct ike_sa_info *rows;
	int n;

	if (eng->ike == NULL)
		return pc_err_set(err, PC_ERR_NOTFOUND, "id", "no IKE engine running");
	rows = sa_rows(eng, &n);
	for (int i = 0; i < n; i++) {
		if (rows[i].id != id)
			continue;
		ike_clear_sa(eng->ike, &rows[i].peer.sin_addr);
		free(rows);
		return 0;
	}
	free(rows);
	return pc_err_set(err, PC_ERR_NOTFOUND, "id", "no IKE SA %" PRIu64, id);
}

static int
op_aaa_health(struct engine *eng, json_t **out)
{
	struct aaa_server_health h[64];
	json_t *arr = json_array();
	int n = eng->aaa != NULL ? aaa_server_health(eng->aaa, h, 64) : 0;

	for (int i = 0; i < n && i < 64; i++)
		json_array_append_new(
		        arr, json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:I, s:I, s:s}", "group",
		                       h[i].group, "protocol", h[i].protocol, "server", h[i].host,
		                       "state", h[i].dead ? "dead" : "up", "latency_ms",
		                       (int)h[i].last_latency_ms, "consecutive_failures",
		                       h[i].consecutive_failures, "requests",
		                       (json_int_t)h[i].requests, "failures",
		                       (json_int_t)h[i].failures, "last_error", h[i].last_error));
	*out = arr;
	return 0;
}

/* One row per configured interface: its Linux device's counters from /proc/thread-self/net/dev
 * (this thread's namespace: the data plane's) and its state from the device flags. */
static json_t *
interface_counters(struct engine *eng)
{
	json_t *arr = json_array();
	sqlite3_stmt *st = NULL;
	char line[512];
	FILE *f;
	int sock;

	if (db_prepare(eng->db,
	               "SELECT hw_name, nameif, coalesce(linux_name, 'eth' || substr(hw_name, 9)), "
	               "address, shutdown FROM interface WHERE nameif IS NOT NULL ORDER BY "
	               "position, id",
	               &st, NULL) < 0)
		return arr;
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *hw = (const char *)sqlite3_column_text(st, 0);
		const char *nameif = (const char *)sqlite3_column_text(st, 1);
		const char *dev = (const char *)sqlite3_column_text(st, 2);
		const char *addr = (const char *)sqlite3_column_text(st, 3);
		unsigned long long c[16] = {0};
		const char *state = "missing";
		struct ifreq ifr = {0};

		f = fopen("/proc/thread-self/net/dev", "r");
		while (f != NULL && dev != NULL && fgets(line, sizeof(line), f) != NULL) {
			char *colon = strchr(line, ':'), *name = line;

			if (colon == NULL)
				continue;
			*colon = '\0';
			while (*name == ' ')
				name++;
			if (strcmp(name, dev) != 0)
				continue;
			sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
			       &c[0], &c[1], &c[2], &c[3], &c[4], &c[5], &c[6], &c[7], &c[8], &c[9],
			       &c[10]);
			state = "down";
			break;
		}
		if (f != NULL)
			fclose(f);
		if (sock >= 0 && dev != NULL && strcmp(state, "down") == 0) {
			snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
			if (ioctl(sock, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP))
				state = "up";
		}
		json_array_append_new(
		        arr,
		        json_pack("{s:s, s:s, s:s, s:s?, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I}",
		                  "hw_name", hw != NULL ? hw : "", "nameif", nameif, "linux_name",
		                  dev != NULL ? dev : "", "address", addr, "state", state,
		                  "shutdown", sqlite3_column_int(st, 4) != 0, "rx_bytes",
		                  (json_int_t)c[0], "rx_packets", (json_int_t)c[1], "rx_errors",
		                  (json_int_t)c[2], "tx_bytes", (json_int_t)c[8], "tx_packets",
		                  (json_int_t)c[9], "tx_errors", (json_int_t)c[10]));
	}
	if (sock >= 0)
		close(sock);
	sqlite3_finalize(st);
	return arr;
}

static int
acct_last_minute(struct engine *eng)
{
	sqlite3_stmt *st = NULL;
	int n = 0;

	if (db_prepare(eng->db,
	               "SELECT count(*) FROM acct_record WHERE created_at_ms >= "
	               "CAST(strftime('%s','now') AS INTEGER) * 1000 - 60000",
	               &st, NULL) < 0)
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

static int
op_stats(struct engine *eng, json_t **out)
{
	struct uauth_counts uc = {0};
	uint64_t bin = eng->bytes_in_closed, bout = eng->bytes_out_closed;
	int n, tunnels = 0;
	struct ike_sa_info *rows = sa_rows(eng, &n);
	int backlog = eng->aaa != NULL ? aaa_outbox_pending(eng->aaa) : 0;

	for (int i = 0; i < n; i++) {
		if (rows[i].n_ipsec > 0)
			tunnels++;
		for (int k = 0; k < rows[i].n_ipsec && k < 4; k++) {
			bin += rows[i].stats[k].bytes_in;
			bout += rows[i].stats[k].bytes_out;
		}
	}
	free(rows);
	if (eng->uauth != NULL)
		uauth_get_counts(eng->uauth, &uc);
	*out = json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:I, s:I, s:I, s:I, s:i, s:s, s:b}",
	                 "tunnels", tunnels, "ike_sas", n, "uauth_current", (int)uc.current,
	                 "uauth_most_seen", (int)uc.most_seen, "auth_in_progress",
	                 (int)uc.in_progress, "auth_in_progress_most_seen",
	                 (int)uc.in_progress_most_seen, "tunnels_up_total",
	                 (json_int_t)eng->tunnels_up, "tunnels_down_total",
	                 (json_int_t)eng->tunnels_down, "bytes_in", (json_int_t)bin, "bytes_out",
	                 (json_int_t)bout, "acct_backlog", backlog < 0 ? 0 : backlog, "sa_backend",
	                 eng->ipsec != NULL ? eng->ipsec->ops->name : "none", "data_plane",
	                 eng->data_plane_ok);
	json_object_set_new(*out, "interfaces", interface_counters(eng));
	json_object_set_new(*out, "handshakes_per_min",
	                    json_integer(per_minute(eng->hs_ring, eng->hs_count)));
	json_object_set_new(*out, "failures_per_min",
	                    json_integer(per_minute(eng->fail_ring, eng->fail_count)));
	json_object_set_new(*out, "acct_per_min", json_integer(acct_last_minute(eng)));
	return 0;
}

static int
op_acl_counters(struct engine *eng, json_t **out)
{
	if (eng->nat == NULL) {
		*out = json_array();
		return 0;
	}
	return nat_engine_acl_counters(eng, out);
}

/* ---- start, reload, stop ---- */

/* The address IKE listens on: the first `isakmp enable` interface's static address. */
static int
ike_bind_address(struct engine *eng, struct sockaddr_in *sa)
{
	sqlite3_stmt *st = NULL;
	int rc = -ENOENT;

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	if (db_prepare(eng->db,
	               "SELECT i.address FROM isakmp_interface k JOIN interface i ON i.id = "
	               "k.interface_id WHERE i.address IS NOT NULL ORDER BY i.position LIMIT 1",
	               &st, NULL) < 0)
		return -EIO;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL &&
	    inet_pton(AF_INET, (const char *)sqlite3_column_text(st, 0), &sa->sin_addr) == 1)
		rc = 0;
	sqlite3_finalize(st);
	return rc;
}

static void
start_ike_listener(struct engine *eng)
{
	struct sockaddr_in sa;
	char a[16];

	if (eng->ike == NULL || eng->ike_listening)
		return;
	if (ike_bind_address(eng, &sa) < 0) {
		log_info(LOG_IKE, "IKE not listening: no `isakmp enable` interface with an address "
		                  "in the configuration yet");
		return;
	}
	if (ike_listen(eng->ike, &sa) < 0) {
		log_error(LOG_IKE, "IKE cannot listen on %s:500/4500",
		          ip4str(ntohl(sa.sin_addr.s_addr), a));
		return;
	}
	eng->ike_listening = true;
	if (eng->ipsec != NULL && strcmp(eng->ipsec->ops->name, "xfrm") == 0 &&
	    eng->ipsec->natt_fd >= 0)
		ipsec_xfrm_setup_natt_socket(eng->ipsec->natt_fd);
	log_info(LOG_IKE, "IKE listening on %s:500 and :4500",
	         ip4str(ntohl(sa.sin_addr.s_addr), a));
}

/* Dead peer detection from the `isakmp keepalive SECONDS [RETRY]` setting (PIX: R-U-THERE after
 * SECONDS of silence, RETRY seconds between unanswered ones); default 30 s, retry min(30, 5) s;
 * teardown (lease released, stop record written) after 3 unanswered. */
static void
apply_dpd(struct engine *eng)
{
	sqlite3_stmt *st = NULL;
	unsigned idle_s = 30, retry_s = 0;

	if (eng->ike == NULL)
		return;
	if (db_prepare(eng->db, "SELECT value FROM setting WHERE name = 'isakmp-keepalive'", &st,
	               NULL) == 0) {
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL) {
			const char *v = (const char *)sqlite3_column_text(st, 0);
			unsigned a = 0, b = 0;
			int n = sscanf(v, "%u %u", &a, &b);

			if (n >= 1 && a >= 10 && a <= 3600 && (n == 1 || (b >= 2 && b <= 10))) {
				idle_s = a;
				retry_s = n == 2 ? b : 0;
			} else {
				log_warn(LOG_IKE,
				         "isakmp keepalive '%.40s': expected 'SECONDS(10-3600) "
				         "[RETRY(2-10)]'; using 30",
				         v);
			}
		}
		sqlite3_finalize(st);
	}
	ike_set_dpd(eng->ike, idle_s, 3);
	ike_set_dpd_retry_interval(eng->ike, retry_s);
	log_info(LOG_IKE, "DPD: R-U-THERE after %u s idle, every %u s, teardown after 3 unanswered",
	         idle_s, retry_s > 0 ? retry_s : (idle_s < 5 ? idle_s : 5));
}

static int
op_sync_leases(struct engine *eng)
{
	return eng->ike != NULL ? ike_lease_sync(eng->ike) : 0;
}

int
engine_reload(struct engine *eng, struct pc_err *err)
{
	struct pc_err local = {0};
	int rc = 0;

	if (err == NULL)
		err = &local;
	eng->acct_group_known = false; /* the accounting rules may have changed */
	if (eng->aaa != NULL && aaa_reload(eng->aaa, err) < 0) {
		log_error(LOG_AAA, "reload: %s", err->msg);
		rc = -EINVAL;
	}
	if (eng->ike != NULL && ike_reload(eng->ike, err) < 0) {
		log_error(LOG_IKE, "reload: %s", err->msg);
		rc = -EINVAL;
	}
	if (eng->uauth != NULL) {
		if (uauth_engine_apply(eng, eng->db, err) < 0) {
			log_error(LOG_UAUTH, "reload: %s", err->msg);
			rc = -EINVAL;
		}
	}
	if (eng->acct_ct != NULL && acct_ct_reload(eng->acct_ct, eng->db, err) < 0) {
		log_error(LOG_AAA, "reload of the accounting rules: %s", err->msg);
		rc = -EINVAL;
	}
	apply_dpd(eng);
	start_ike_listener(eng);
	return rc;
}

/* Applies the stored configuration to the kernel (start and SIGHUP). */
int
engine_apply_stored(struct engine *eng, struct pc_err *err)
{
	if (!eng->data_plane_ok || eng->nat == NULL)
		return 0;
	return nat_apply(eng->nat, eng->db, err);
}

int
engine_start(struct engine *eng, struct pc_err *err)
{
	struct ike_hooks ih = {
	        .authenticate = hook_authenticate,
	        .cancel = hook_cancel,
	        .auth_arg = eng,
	        .tunnel_up = hook_tunnel_up,
	        .tunnel_down = hook_tunnel_down,
	        .failure = hook_failure,
	        .arg = eng,
	};
	char why[256] = "";
	int rc;

	eng->ops = (struct engine_ops){
	        .apply_config = op_apply,
	        .config_committed = op_committed,
	        .list_ike_sas = op_list_ike,
	        .list_ipsec_sas = op_list_ipsec,
	        .clear_sa = op_clear_sa,
	        .list_uauth = uauth_engine_list,
	        .clear_uauth = uauth_engine_clear,
	        .stats = op_stats,
	        .acl_counters = op_acl_counters,
	        .aaa_health = op_aaa_health,
	        .sync_leases = op_sync_leases,
	};
	events_init();

	rc = aaa_new(eng->loop, eng->db_path, &eng->aaa);
	if (rc < 0)
		return pc_err_set(err, PC_ERR_INTERNAL, "", "AAA: cannot start (%s)",
		                  strerror(-rc));

	if (!eng->data_plane_ok) {
		log_warn(LOG_CORE,
		         "data plane off: no SA backend, nftables, interfaces or IKE in this "
		         "namespace; the API and stored configuration work");
		return 0;
	}

	{
		struct ipsec_tun_config tcfg = {.esp_threads = eng->esp_threads};

		rc = ipsec_backend_new(eng->sa_backend_kind, eng->loop, &tcfg, &eng->ipsec, why,
		                       sizeof(why));
	}
	if (rc < 0)
		return pc_err_set(err, PC_ERR_INTERNAL, "sa_backend", "SA backend %s: %s",
		                  ipsec_backend_kind_name(eng->sa_backend_kind), why);
	log_info(LOG_IPSEC, "SA backend: %s (%s)", eng->ipsec->ops->name, why);

	{
		struct nat_config nc = {
		        .tun_ifname = strcmp(eng->ipsec->ops->name, "tun") == 0
		                              ? IPSEC_TUN_DEFAULT_IFNAME
		                              : NULL,
		        .uauth_port = UAUTH_PORT,
		        .manage_net = true,
		};

		rc = nat_new(&nc, &eng->nat);
		if (rc < 0)
			return pc_err_set(err, PC_ERR_INTERNAL, "", "nftables: cannot start (%s)",
			                  strerror(-rc));
	}
	rc = engine_apply_stored(eng, err);
	if (rc < 0) {
		char msg[sizeof(err->msg)];

		snprintf(msg, sizeof(msg), "%s", err->msg);
		return pc_err_set(err, PC_ERR_APPLY, "",
		                  "applying the stored configuration failed: %s", msg);
	}

	rc = uauth_engine_start(eng, err);
	if (rc < 0)
		return rc;

	/* per-connection accounting: without it the gateway still works, the log says why */
	{
		struct pc_err aerr = {0};

		if (acct_ct_new(eng->loop, eng->db, eng->aaa, eng->uauth, eng->started_epoch,
		                &eng->acct_ct, &aerr) < 0)
			log_error(LOG_AAA, "connection accounting not started: %s", aerr.msg);
	}

	rc = ike_new(eng->loop, eng->db, &ih, &eng->ike);
	if (rc < 0)
		return pc_err_set(err, PC_ERR_INTERNAL, "", "IKE: cannot start (%s)",
		                  strerror(-rc));
	ike_set_backend(eng->ike, eng->ipsec);
	apply_dpd(eng); /* for clients that announce DPD */
	start_ike_listener(eng);
	return 0;
}

void
engine_stop(struct engine *eng)
{
	ike_free(eng->ike); /* DELETEs to peers, tunnel-down hooks (stop records) */
	eng->ike = NULL;
	acct_ct_free(eng->acct_ct);
	eng->acct_ct = NULL;
	uauth_engine_stop(eng);
	aaa_free(eng->aaa);
	eng->aaa = NULL;
	if (eng->nat != NULL) {
		struct pc_err err = {0};

		if (nat_flush(eng->nat, &err) < 0)
			log_warn(LOG_NAT, "removing the nftables table: %s", err.msg);
	}
	nat_free(eng->nat);
	eng->nat = NULL;
	ipsec_backend_free(eng->ipsec);
	eng->ipsec = NULL;
	events_shutdown();
}
