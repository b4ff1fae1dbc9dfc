/* The responder driven in-process by the test initiator (tests/peers/ike_initiator.c, built from
 * the same codec): Aggressive Mode + Xauth + Mode Config + Quick Mode on loopback, with the
 * seed configuration plus a split-tunnel ACL, DNS, domain and banner on vpngroup vpn3000. Checks
 * that both ends derive the same ESP keys, Unity attributes only for Unity peers, Xauth retries,
 * lease reuse, PFS, DPD, DELETE and malformed input. The responder's loop runs in a thread;
 * the test talks to it over UDP and inspects it through loop_call(). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "gateway/core/log.h"
#include "gateway/core/loop.h"
#include "gateway/ike/ike.h"
#include "gateway/ike/ike_int.h"
#include "peers/ike_initiator.c"
#include "unit/ike_seed.h"

#define EXTRA_SQL                                                                                  \
	"INSERT INTO access_list (id, name) VALUES (1, '101');"                                    \
	"INSERT INTO access_list_entry (acl_id, position, action, protocol, src_kind, "            \
	"src_address, src_netmask, dst_kind, dst_address, dst_netmask) VALUES (1, 1, 'permit', "   \
	"'ip', 'network', '10.89.129.128', '255.255.255.240', 'network', '10.89.129.192', "        \
	"'255.255.255.240');"                                                                      \
	"UPDATE vpngroup SET split_tunnel_acl_id = 1, dns_server1 = '10.89.129.131', "             \
	"default_domain = 'example.com', banner = 'Authorized use only' WHERE name = 'vpn3000';"   \
	"INSERT INTO transform_set (id, name, esp_encryption, esp_authentication) VALUES (2, "     \
	"'aesset', 'esp-aes', 'esp-sha-hmac'), (3, 'tdesset', 'esp-3des', 'esp-md5-hmac');"        \
	"INSERT INTO crypto_map_transform VALUES (1, 2, 2), (1, 3, 3);"

/* ---- responder side: fake backend and AAA, like ike_responder_test.c ---- */

struct rec_sa {
	struct ipsec_sa_params p;
	bool live;
};

static struct {
	struct loop *loop;
	struct db *db;
	struct ike *ike;
	pthread_t thread;
	struct ipsec_backend be;
	struct rec_sa sas[16];
	int nsas;
	int ups, downs;
	int udp_inputs;
	size_t udp_last_len;
	int stats_calls; /* be_stats calls */
	bool esp_active; /* be_stats reports inbound ESP now */
	char last_down_reason[64];
	struct loop_timer *auth_t[8];
	aaa_auth_fn auth_fn[8];
	void *auth_arg[8];
	bool auth_ok[8];
	uint16_t port;
	char dbpath[64];
	bool add_fails; /* be_add refuses */
} R;

static int
be_add(struct ipsec_backend *be, const struct ipsec_sa_params *p, uint64_t *handle)
{
	if (R.add_fails)
		return -EPERM;
	for (int i = 0; i < 16; i++) {
		if (R.sas[i].live)
			continue;
		R.sas[i].p = *p;
		R.sas[i].live = true;
		*handle = (uint64_t)i;
		if (i >= R.nsas)
			R.nsas = i + 1;
		return 0;
	}
	return -ENOSPC;
}

static int
be_del(struct ipsec_backend *be, uint64_t handle)
{
	if (handle < 16)
		R.sas[handle].live = false;
	return 0;
}

static int
be_stats(struct ipsec_backend *be, uint64_t handle, struct ipsec_sa_stats *out)
{
	memset(out, 0, sizeof(*out));
	R.stats_calls++;
	if (R.esp_active)
		out->last_in_ms = loop_now_ms();
	return 0;
}

static void
be_udp_input(struct ipsec_backend *be, const uint8_t *pkt, size_t len,
             const struct sockaddr_in *from, const struct sockaddr_in *to)
{
	R.udp_inputs++;
	R.udp_last_len = len;
}

static const struct ipsec_backend_ops be_ops = {.name = "record",
                                                .sa_add = be_add,
                                                .sa_del = be_del,
                                                .sa_stats = be_stats,
                                                .udp_input = be_udp_input};

static void
auth_fire(struct loop *loop, void *arg)
{
	int i = (int)(intptr_t)arg;
	struct aaa_auth_result res = {.result = R.auth_ok[i] ? AAA_ACCEPT : AAA_REJECT};

	R.auth_t[i] = NULL;
	snprintf(res.reason, sizeof(res.reason), "%s", R.auth_ok[i] ? "ok" : "bad password");
	R.auth_fn[i](R.auth_arg[i], &res);
}

static int
fake_auth(void *arg, const struct aaa_auth_req *req, aaa_auth_fn fn, void *fn_arg, uint64_t *req_id)
{
	for (int i = 0; i < 8; i++) {
		if (R.auth_t[i] != NULL)
			continue;
		R.auth_fn[i] = fn;
		R.auth_arg[i] = fn_arg;
		R.auth_ok[i] = strcmp(req->group, "AuthInbound") == 0 &&
		               strcmp(req->password, "cisco") == 0 &&
		               (strcmp(req->user, "cisco_customer") == 0 ||
		                strcmp(req->user, "other_user") == 0 ||
		                strcmp(req->user, "third_user") == 0);
		R.auth_t[i] = loop_timer_add(R.loop, 5, auth_fire, (void *)(intptr_t)i);
		*req_id = (uint64_t)i;
		return 0;
	}
	return -EBUSY;
}

static void
fake_cancel(void *arg, uint64_t id)
{
	if (id < 8 && R.auth_t[id] != NULL) {
		loop_timer_cancel(R.loop, R.auth_t[id]);
		R.auth_t[id] = NULL;
	}
}

static void
on_up(void *arg, const struct ike_tunnel_info *t, const char *reason)
{
	R.ups++;
}

static void
on_down(void *arg, const struct ike_tunnel_info *t, const char *reason)
{
	R.downs++;
	snprintf(R.last_down_reason, sizeof(R.last_down_reason), "%s", reason);
}

static void *
loop_thread(void *arg)
{
	loop_run(R.loop);
	return NULL;
}

static int
setup(void **state)
{
	static const struct ike_hooks hooks = {.authenticate = fake_auth,
	                                       .cancel = fake_cancel,
	                                       .tunnel_up = on_up,
	                                       .tunnel_down = on_down};
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct ike_sa_info info;
	struct pc_err err = {0};
	int fd;

	memset(&R, 0, sizeof(R));
	snprintf(R.dbpath, sizeof(R.dbpath), "/tmp/pc-ike-exch-XXXXXX");
	fd = mkstemp(R.dbpath);
	if (fd < 0)
		return -1;
	close(fd);
	unlink(R.dbpath);
	if (db_open(R.dbpath, &R.db, &err) < 0 || db_exec(R.db, IKE_SEED_SQL EXTRA_SQL, &err) < 0) {
		fprintf(stderr, "seed: %s\n", err.msg);
		return -1;
	}
	if (loop_new(&R.loop) < 0 || ike_new(R.loop, R.db, &hooks, &R.ike) < 0)
		return -1;
	R.be.ops = &be_ops;
	R.be.loop = R.loop;
	ike_set_backend(R.ike, &R.be);
	/* port 0: the kernel picks free ports (no root needed) */
	if (ike_listen_ports(R.ike, &sin, 0, 0) < 0)
		return -1;
	(void)info;
	{
		struct sockaddr_in a;
		socklen_t l = sizeof(a);

		if (getsockname(R.ike->fd500, (struct sockaddr *)&a, &l) < 0)
			return -1;
		R.port = ntohs(a.sin_port);
	}
	return pthread_create(&R.thread, NULL, loop_thread, NULL) == 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	char p[96];

	loop_stop(R.loop);
	pthread_join(R.thread, NULL);
	for (int i = 0; i < 8; i++)
		if (R.auth_t[i] != NULL)
			loop_timer_cancel(R.loop, R.auth_t[i]);
	ike_free(R.ike);
	loop_free(R.loop);
	db_close(R.db);
	unlink(R.dbpath);
	snprintf(p, sizeof(p), "%s-wal", R.dbpath);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", R.dbpath);
	unlink(p);
	return 0;
}

/* ---- helpers run on the loop thread ---- */

static int
cmd_count_sas(struct loop *loop, void *arg)
{
	struct ike_sa_info info[8];

	return ike_list_sas(R.ike, info, 8);
}

/* Handshake scratch still held by the engine's SAs: bit 0 phase 1 block, 1 Quick Mode block,
 * 2 exchange IV slots, 3 retransmission copy, 4 reply cache; 8 when the half-open count is off. */
static int
cmd_scratch(struct loop *loop, void *arg)
{
	int bits = 0, half_open = 0;

	for (struct ike_sa *sa = R.ike->sas; sa != NULL; sa = sa->next) {
		bits |= (sa->p1 != NULL) | (sa->qm != NULL) << 1 | (sa->xchg != NULL) << 2 |
		        (sa->rtx != NULL) << 3 | (sa->last_out != NULL) << 4;
		half_open += ike_sa_half_open(sa);
	}
	if (half_open != R.ike->n_half_open)
		bits |= 1 << 8;
	return bits;
}

static int
cmd_half_open(struct loop *loop, void *arg)
{
	return R.ike->n_half_open;
}

static int
cmd_count_live(struct loop *loop, void *arg)
{
	int n = 0;

	for (int i = 0; i < R.nsas; i++)
		n += R.sas[i].live;
	return n;
}

static int
cmd_active_leases(struct loop *loop, void *arg)
{
	sqlite3_stmt *st;
	int n = -1;

	/* the table, once what the engine holds is written; it must agree with the memory */
	if (ike_lease_sync(R.ike) < 0)
		return -1;
	if (db_prepare(R.db, "SELECT count(*) FROM ip_lease WHERE state = 'active'", &st, NULL) < 0)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n == (int)ike_lease_active(R.ike) ? n : -2;
}

static int
cmd_clear(struct loop *loop, void *arg)
{
	return ike_clear_sa(R.ike, NULL);
}

/* Polls fn on the loop thread until it returns want (the responder handles packets
 * asynchronously). */
static int
wait_for(loop_cmd_fn fn, int want)
{
	int v = -1;

	uint64_t end = loop_now_ms() + 3000;

	while (loop_now_ms() < end) {
		v = loop_call(R.loop, fn, NULL, 1000);
		if (v == want)
			return v;
		usleep(500);
	}
	return v;
}

static int
cmd_dpd_on(struct loop *loop, void *arg)
{
	ike_set_dpd(R.ike, 1, 2);
	return 0;
}

static int
cmd_fast_rtx(struct loop *loop, void *arg)
{
	R.ike->rtx_base_ms = 100;
	return 0;
}

static int
cmd_udp_inputs(struct loop *loop, void *arg)
{
	return R.udp_inputs;
}

static int
cmd_short_idle(struct loop *loop, void *arg)
{
	R.ike->conf.grp[0].idle_s = 1;
	return 0;
}

static int
cmd_stats_calls(struct loop *loop, void *arg)
{
	return R.stats_calls;
}

static int
cmd_esp_active(struct loop *loop, void *arg)
{
	R.esp_active = arg != NULL;
	return 0;
}

static int
cmd_short_max(struct loop *loop, void *arg)
{
	R.ike->conf.grp[0].idle_s = 0;
	R.ike->conf.grp[0].max_s = 2;
	return 0;
}

static int
cmd_expire_first(struct loop *loop, void *arg)
{
	/* the backend reports the hard lifetime of the first pair (it removed it itself) */
	R.sas[0].live = false;
	R.be.on_event(R.be.event_arg, R.sas[0].p.owner, 0, IPSEC_EV_HARD_EXPIRE);
	return 0;
}

static struct ike_sa_info listed[4];

/* 1 when the one IKE SA found the peer behind a NAT (NAT-D), 0 when not, -1 without an SA */
static int
cmd_nat_detected(struct loop *loop, void *arg)
{
	return R.ike->sas == NULL ? -1 : R.ike->sas->nat_detected;
}

static int
cmd_list(struct loop *loop, void *arg)
{
	return ike_list_sas(R.ike, listed, 4);
}

static void
cfg_init(struct ike_init_cfg *c, bool unity, const char *user, const char *pw)
{
	memset(c, 0, sizeof(*c));
	c->server.sin_family = AF_INET;
	c->server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->server.sin_port = htons(R.port);
	c->group = "vpn3000";
	c->psk = "vpnsecret";
	c->user = user;
	c->password = pw;
	c->unity = unity;
}

static void
connect_full(struct ike_init *in, struct ike_init_result *res, bool unity, const char *user)
{
	struct ike_init_cfg c;

	cfg_init(&c, unity, user, "cisco");
	memset(res, 0, sizeof(*res));
	assert_int_equal(ike_init_open(in, &c), 0);
	if (ike_init_phase1(in) < 0)
		fail_msg("phase 1: %s", in->err);
	if (ike_init_xauth(in, res) < 0)
		fail_msg("xauth: %s", in->err);
	assert_int_equal(res->xauth_status, 1);
	if (ike_init_modecfg(in, res) < 0)
		fail_msg("modecfg: %s", in->err);
	if (ike_init_quick(in, res) < 0)
		fail_msg("quick: %s", in->err);
}

/* ---- tests ---- */

static void
test_full_tunnel_keys_match(void **state)
{
	struct ike_init in;
	struct ike_init_result res;
	const struct ipsec_sa_params *p;

	connect_full(&in, &res, true, "cisco_customer");
	assert_int_equal(res.addr, 0x0a5981c8); /* 10.89.129.200 */
	assert_int_equal(res.dns, 0x0a598183);  /* 10.89.129.131 */
	assert_int_equal(res.xauth_rounds, 1);
	assert_false(res.pushed); /* Unity clients pull */
	/* Unity peer: split include from ACL 101, banner, domain */
	assert_true(res.got_split);
	assert_int_equal(res.nsplit, 1);
	assert_int_equal(res.split[0].addr, 0x0a598180);
	assert_int_equal(res.split[0].plen, 28);
	assert_true(res.got_banner);
	assert_true(res.got_domain);
	/* the client proposed 2147483 s; the crypto map allows 28800 */
	assert_int_equal(res.responder_life_s, 28800);
	assert_int_equal(wait_for(cmd_count_live, 1), 1);
	p = &R.sas[0].p;
	assert_int_equal(p->enc, IPSEC_ENC_DES);
	assert_int_equal(p->auth, IPSEC_AUTH_HMAC_MD5_96);
	/* gateway inbound = what the client sends (the gateway's SPI) */
	assert_int_equal(p->in.spi, res.spi_out);
	assert_int_equal(p->out.spi, res.spi_in);
	assert_int_equal(p->in.enc_key_len, 8);
	assert_int_equal(p->in.auth_key_len, 16);
	assert_memory_equal(p->in.enc_key, res.keymat_out, 8);
	assert_memory_equal(p->in.auth_key, res.keymat_out + 8, 16);
	assert_memory_equal(p->out.enc_key, res.keymat_in, 8);
	assert_memory_equal(p->out.auth_key, res.keymat_in + 8, 16);
	assert_int_equal(p->remote_ts[0].addr, 0x0a5981c8);
	assert_int_equal(p->remote_ts[0].plen, 32);
	/* IDcr 0.0.0.0/0 narrowed to the split-tunnel network of ACL 101 */
	assert_int_equal(p->n_local_ts, 1);
	assert_int_equal(p->local_ts[0].addr, 0x0a598180);
	assert_int_equal(p->local_ts[0].plen, 28);
	assert_int_equal(p->hard_lifetime_s, 28800);
	assert_int_equal(R.ups, 1);
	/* what show crypto isakmp sa / ipsec sa get */
	assert_int_equal(loop_call(R.loop, cmd_list, NULL, 1000), 1);
	assert_string_equal(listed[0].state, "QM_IDLE");
	assert_string_equal(listed[0].user, "cisco_customer");
	assert_string_equal(listed[0].group, "vpn3000");
	assert_int_equal(listed[0].assigned_addr, 0x0a5981c8);
	assert_int_equal(listed[0].enc, IKE_ENC_DES);
	assert_int_equal(listed[0].hash, IKE_HASH_MD5);
	assert_int_equal(listed[0].dh_group, 2);
	assert_int_equal(listed[0].auth_method, IKE_AUTH_XAUTH_INIT_PSK);
	assert_int_equal(listed[0].lifetime_s, 86400);
	assert_int_equal(listed[0].n_ipsec, 1);
	assert_int_equal(listed[0].spi_in[0], res.spi_out);
	assert_string_equal(listed[0].mode, "aggressive");
	assert_string_equal(listed[0].transform[0], "esp-des esp-md5-hmac");
	/* the established tunnel keeps no handshake scratch */
	assert_int_equal(loop_call(R.loop, cmd_scratch, NULL, 1000), 0);
	/* DPD from the client is answered */
	if (ike_init_dpd(&in, 4242) < 0)
		fail_msg("dpd: %s", in.err);
	assert_int_equal(loop_call(R.loop, cmd_scratch, NULL, 1000), 0);
	/* DELETE tears everything down and releases the lease */
	assert_int_equal(loop_call(R.loop, cmd_active_leases, NULL, 1000), 1);
	assert_int_equal(ike_init_delete(&in), 0);
	assert_int_equal(wait_for(cmd_count_sas, 0), 0);
	assert_int_equal(wait_for(cmd_count_live, 0), 0);
	assert_int_equal(loop_call(R.loop, cmd_active_leases, NULL, 1000), 0);
	assert_int_equal(R.downs, 1);
	assert_string_equal(R.last_down_reason, "peer delete");
	ike_init_close(&in);
}

static void
test_non_unity_gets_no_unity_attrs_and_leases(void **state)
{
	struct ike_init a, b, c;
	struct ike_init_result ra, rb, rc;

	connect_full(&a, &ra, false, "cisco_customer");
	/* no Unity VID: the gateway pushed the address (client configuration address
	 * initiate), then served our pull as well */
	assert_true(ra.pushed);
	assert_false(ra.got_split);
	assert_false(ra.got_banner);
	assert_false(ra.got_domain);
	assert_int_equal(ra.addr, 0x0a5981c8);
	/* another user while the first is connected: the next address */
	connect_full(&b, &rb, false, "other_user");
	assert_int_equal(rb.addr, 0x0a5981c9);
	assert_int_equal(ike_init_delete(&a), 0);
	assert_int_equal(ike_init_delete(&b), 0);
	assert_int_equal(wait_for(cmd_count_sas, 0), 0);
	/* other_user comes back first, and still gets its own address, not the first free one */
	connect_full(&c, &rc, false, "other_user");
	assert_int_equal(rc.addr, 0x0a5981c9);
	assert_int_equal(ike_init_delete(&c), 0);
	assert_int_equal(wait_for(cmd_count_sas, 0), 0);
	ike_init_close(&a);
	ike_init_close(&b);
	ike_init_close(&c);
}

static int
cmd_lease_201_taken(struct loop *loop, void *arg)
{
	/* a lease the engine did not hand out itself, on the address it would take next, found by
	 * the reload of the configuration (the engine reads ip_lease then) */
	struct pc_err err = {0};

	if (ike_lease_sync(R.ike) < 0 ||
	    db_exec(R.db,
	            "INSERT INTO ip_lease (pool_id, address, username, state) SELECT pool_id, "
	            "'10.89.129.201', 'someone_else', 'active' FROM ip_lease LIMIT 1",
	            NULL) < 0)
		return -1;
	return ike_reload(R.ike, &err);
}

static void
test_lease_order_with_taken_address(void **state)
{
	struct ike_init a, b, c;
	struct ike_init_result ra, rb, rc;

	/* the first address of the pool; .201 is then taken in the table and the configuration
	 * reloaded: the next client gets .202, the one after .203 */
	connect_full(&a, &ra, true, "cisco_customer");
	assert_int_equal(ra.addr, 0x0a5981c8);
	assert_int_equal(loop_call(R.loop, cmd_lease_201_taken, NULL, 1000), 0);
	connect_full(&b, &rb, true, "other_user");
	assert_int_equal(rb.addr, 0x0a5981ca);
	connect_full(&c, &rc, true, "third_user");
	assert_int_equal(rc.addr, 0x0a5981cb);
	/* each client's INITIAL_CONTACT (all from 127.0.0.1) ended the one before: c's lease and
	 * the foreign one are active; the released .200 and .202 were not handed out again */
	assert_int_equal(loop_call(R.loop, cmd_active_leases, NULL, 1000), 2);
	ike_init_close(&a);
	ike_init_close(&b);
	ike_init_close(&c);
}

static void
test_backend_refuses_sa(void **state)
{
	struct ike_init in;
	struct ike_init_result res;
	uint32_t spi = 0;

	/* the backend cannot install the pair after QM3: the client is told with a DELETE of the
	 * SPI it sends on, and no tunnel goes up (the IKE SA stays: the client may try again) */
	R.add_fails = true;
	connect_full(&in, &res, true, "cisco_customer");
	if (ike_init_expect_delete_esp(&in, &spi) < 0)
		fail_msg("no DELETE: %s", in.err);
	assert_int_equal(spi, res.spi_out);
	assert_int_equal(R.ups, 0);
	assert_int_equal(loop_call(R.loop, cmd_count_live, NULL, 1000), 0);
	ike_init_close(&in);
}

static void
test_delete_with_message_id_zero(void **state)
{
	struct ike_init in;
	struct ike_init_result res;

	/* vpnc's DELETE carries a one-byte random message ID: 0 must work like any other */
	connect_full(&in, &res, true, "cisco_customer");
	assert_int_equal(loop_call(R.loop, cmd_count_sas, NULL, 1000), 1);
	assert_int_equal(ike_init_delete_mid(&in, 0), 0);
	assert_int_equal(wait_for(cmd_count_sas, 0), 0);
	assert_int_equal(loop_call(R.loop, cmd_active_leases, NULL, 1000), 0);
	ike_init_close(&in);
}

static void
test_pfs(void **state)
{
	struct ike_init in;
	struct ike_init_result res = {0};
	struct ike_init_cfg c;

	cfg_init(&c, true, "cisco_customer", "cisco");
	c.pfs_group = 2;
	assert_int_equal(ike_init_open(&in, &c), 0);
	assert_int_equal(ike_init_phase1(&in), 0);
	assert_int_equal(ike_init_xauth(&in, &res), 0);
	assert_int_equal(ike_init_modecfg(&in, &res), 0);
	if (ike_init_quick(&in, &res) < 0)
		fail_msg("quick with PFS: %s", in.err);
	assert_int_equal(wait_for(cmd_count_live, 1), 1);
	assert_memory_equal(R.sas[0].p.in.enc_key, res.keymat_out, 8);
	assert_memory_equal(R.sas[0].p.out.auth_key, res.keymat_in + 8, 16);
	ike_init_close(&in);
}

static void
test_xauth_retries_then_fail(void **state)
{
	struct ike_init in;
	struct ike_init_result res = {0};
	struct ike_init_cfg c;

	cfg_init(&c, true, "cisco_customer", "wrong");
	assert_int_equal(ike_init_open(&in, &c), 0);
	assert_int_equal(ike_init_phase1(&in), 0);
	if (ike_init_xauth(&in, &res) < 0)
		fail_msg("xauth: %s", in.err);
	assert_int_equal(res.xauth_rounds, IKE_XAUTH_TRIES);
	assert_int_equal(res.xauth_status, 0);
	/* after the ACK of the FAIL status the responder drops the SA */
	assert_int_equal(wait_for(cmd_count_sas, 0), 0);
	assert_int_equal(loop_call(R.loop, cmd_active_leases, NULL, 1000), 0);
	ike_init_close(&in);
}

static void
test_wrong_group_password(void **state)
{
	struct ike_init in;
	struct ike_init_cfg c;

	cfg_init(&c, true, "cisco_customer", "cisco");
	c.psk = "not-the-secret";
	assert_int_equal(ike_init_open(&in, &c), 0);
	assert_int_not_equal(ike_init_phase1(&in), 0);
	assert_non_null(strstr(in.err, "HASH_R does not verify"));
	ike_init_close(&in);
	/* unknown group: no key, refused with a notify */
	cfg_init(&c, true, "cisco_customer", "cisco");
	c.group = "nosuchgroup";
	assert_int_equal(ike_init_open(&in, &c), 0);
	assert_int_not_equal(ike_init_phase1(&in), 0);
	ike_init_close(&in);
	assert_int_equal(wait_for(cmd_count_sas, 1), 1); /* the half-open one from the bad PSK */
}

static void
test_malformed_am1_gets_notify(void **state)
{
	struct ike_init in;
	struct ike_init_cfg c;
	uint8_t pkt[64], out[512];
	struct ike_hdr h;
	struct ike_msg *m = malloc(sizeof(*m));
	struct ike_notify nt;
	struct ike_perr e = {0};
	int n;

	cfg_init(&c, true, "cisco_customer", "cisco");
	assert_int_equal(ike_init_open(&in, &c), 0);
	memset(pkt, 0, sizeof(pkt));
	memset(pkt, 0x42, 8);
	pkt[16] = IKE_PL_SA;
	pkt[17] = 0x10;
	pkt[18] = IKE_EX_AGGR;
	pkt[27] = 40;
	/* an SA payload that claims 200 bytes in a 12-byte body */
	pkt[28] = 0;
	pkt[30] = 0;
	pkt[31] = 200;
	n = ike_init_raw(&in, pkt, 40, out, sizeof(out));
	assert_true(n > 0);
	assert_int_equal(ike_pld_validate_hdr(out, (size_t)n, &h, &e), 0);
	assert_int_equal(h.exch, IKE_EX_INFO);
	assert_int_equal(ike_pld_validate_chain(h.np, out + IKE_HDR_LEN, (size_t)n - IKE_HDR_LEN,
	                                        false, m, &e),
	                 0);
	assert_int_equal(ike_pld_parse_notify(m->pl[0].body, m->pl[0].len, &nt, &e), 0);
	assert_int_equal(nt.type, IKE_N_PAYLOAD_MALFORMED);
	assert_int_equal(loop_call(R.loop, cmd_count_sas, NULL, 1000), 0);
	free(m);
	ike_init_close(&in);
}

static void
test_clear_sa(void **state)
{
	struct ike_init in;
	struct ike_init_result res;

	connect_full(&in, &res, true, "cisco_customer");
	assert_int_equal(wait_for(cmd_count_live, 1), 1);
	assert_int_equal(loop_call(R.loop, cmd_clear, NULL, 1000), 1);
	assert_int_equal(loop_call(R.loop, cmd_count_sas, NULL, 1000), 0);
	assert_int_equal(loop_call(R.loop, cmd_count_live, NULL, 1000), 0);
	assert_string_equal(R.last_down_reason, "clear");
	/* the client is told: DELETE for the ESP SA (the gateway's inbound SPI), then the IKE SA,
	 * each an encrypted informational whose HASH verifies */
	{
		uint8_t *buf = malloc(IKE_MAX_DATAGRAM);
		struct ike_msg *m = malloc(sizeof(*m));
		struct ike_delete d;
		struct ike_perr e = {0};

		if (recv_enc(&in, buf, IKE_MAX_DATAGRAM, m) < 0)
			fail_msg("ESP delete: %s", in.err);
		assert_int_equal(m->hdr.exch, IKE_EX_INFO);
		assert_int_equal(m->pl[1].type, IKE_PL_D);
		assert_int_equal(ike_pld_parse_delete(m->pl[1].body, m->pl[1].len, &d, &e), 0);
		assert_int_equal(d.proto, 3);
		assert_int_equal(d.nspi, 1);
		assert_int_equal((uint32_t)d.spis[0] << 24 | (uint32_t)d.spis[1] << 16 |
		                         (uint32_t)d.spis[2] << 8 | d.spis[3],
		                 res.spi_out);
		if (recv_enc(&in, buf, IKE_MAX_DATAGRAM, m) < 0)
			fail_msg("IKE delete: %s", in.err);
		assert_int_equal(ike_pld_parse_delete(m->pl[1].body, m->pl[1].len, &d, &e), 0);
		assert_int_equal(d.proto, 1);
		assert_int_equal(d.spi_size, 16);
		assert_memory_equal(d.spis, in.sa.ci, 8);
		free(m);
		free(buf);
	}
	ike_init_close(&in);
}

static void
test_gateway_dpd_dead_peer(void **state)
{
	struct ike_init in;
	struct ike_init_result res;
	uint32_t s1 = 0, s2 = 0, s3 = 0;
	int n = -1;

	connect_full(&in, &res, true, "cisco_customer");
	assert_int_equal(wait_for(cmd_count_live, 1), 1);
	assert_int_equal(loop_call(R.loop, cmd_dpd_on, NULL, 1000), 0);
	/* an answered R-U-THERE keeps the tunnel */
	if (ike_init_expect_dpd(&in, true, &s1) < 0)
		fail_msg("dpd: %s", in.err);
	if (ike_init_expect_dpd(&in, false, &s2) < 0)
		fail_msg("dpd: %s", in.err);
	assert_int_equal(s2, s1 + 1);
	assert_int_equal(loop_call(R.loop, cmd_count_sas, NULL, 1000), 1);
	/* unanswered ones: the peer is declared dead after the retries */
	if (ike_init_expect_dpd(&in, false, &s3) < 0)
		fail_msg("dpd: %s", in.err);
	for (int i = 0; i < 100 && n != 0; i++) {
		n = loop_call(R.loop, cmd_count_sas, NULL, 1000);
		usleep(50000);
	}
	assert_int_equal(n, 0);
	assert_string_equal(R.last_down_reason, "dpd: peer dead");
	assert_int_equal(loop_call(R.loop, cmd_active_leases, NULL, 1000), 0);
	ike_init_close(&in);
}

static void
test_retransmission_then_giveup(void **state)
{
	struct ike_init in;
	struct ike_init_cfg c;
	uint8_t *a = malloc(IKE_MAX_DATAGRAM), *b = malloc(IKE_MAX_DATAGRAM);
	int na, nb, n = -1;

	assert_int_equal(loop_call(R.loop, cmd_fast_rtx, NULL, 1000), 0);
	cfg_init(&c, true, "cisco_customer", "cisco");
	assert_int_equal(ike_init_open(&in, &c), 0);
	assert_int_equal(ike_init_phase1(&in), 0);
	/* the Xauth REQUEST, then the same bytes again: we never answer */
	na = recv_raw(&in, a, IKE_MAX_DATAGRAM);
	nb = recv_raw(&in, b, IKE_MAX_DATAGRAM);
	assert_true(na > IKE_HDR_LEN);
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, (size_t)na);
	for (int i = 0; i < 200 && n != 0; i++) {
		n = loop_call(R.loop, cmd_count_sas, NULL, 1000);
		usleep(50000);
	}
	assert_int_equal(n, 0);
	free(a);
	free(b);
	ike_init_close(&in);
}

static void
test_phase1_rekey_keeps_tunnel(void **state)
{
	struct ike_init a, b;
	struct ike_init_result ra, rb = {0};
	struct ike_init_cfg c;

	connect_full(&a, &ra, true, "cisco_customer");
	assert_int_equal(wait_for(cmd_count_live, 1), 1);
	/* the same user negotiates a new IKE SA (what vpnc does before phase 1 expires) */
	cfg_init(&c, true, "cisco_customer", "cisco");
	c.rekey = true;
	assert_int_equal(ike_init_open(&b, &c), 0);
	assert_int_equal(ike_init_phase1(&b), 0);
	if (ike_init_xauth(&b, &rb) < 0)
		fail_msg("xauth: %s", b.err);
	assert_int_equal(rb.xauth_status, 1);
	assert_int_equal(wait_for(cmd_count_sas, 1), 1);
	/* the IPsec SA pair lives on under the new IKE SA, with its lease */
	assert_int_equal(loop_call(R.loop, cmd_count_live, NULL, 1000), 1);
	assert_int_equal(R.downs, 0);
	assert_int_equal(loop_call(R.loop, cmd_active_leases, NULL, 1000), 1);
	/* and goes when the new IKE SA is deleted */
	assert_int_equal(ike_init_delete(&b), 0);
	assert_int_equal(wait_for(cmd_count_live, 0), 0);
	assert_int_equal(R.downs, 1);
	assert_int_equal(loop_call(R.loop, cmd_active_leases, NULL, 1000), 0);
	ike_init_close(&a);
	ike_init_close(&b);
}

static void
test_initial_contact_clears_old_sas(void **state)
{
	struct ike_init a, b;
	struct ike_init_cfg c;

	struct ike_init_result ra;

	connect_full(&a, &ra, true, "cisco_customer");
	assert_int_equal(wait_for(cmd_count_live, 1), 1);
	/* the client restarted: a fresh phase 1 with INITIAL_CONTACT from the same address */
	cfg_init(&c, true, "cisco_customer", "cisco");
	assert_int_equal(ike_init_open(&b, &c), 0);
	assert_int_equal(ike_init_phase1(&b), 0);
	assert_int_equal(wait_for(cmd_count_live, 0), 0);
	assert_int_equal(wait_for(cmd_count_sas, 1), 1);
	assert_string_equal(R.last_down_reason, "INITIAL_CONTACT from the same peer");
	ike_init_close(&a);
	ike_init_close(&b);
}

/* IKE_BENCH=N: N sequential full tunnels (AM + Xauth + Mode Config + QM + DELETE) against the
 * in-process responder; prints the rate. Used by bench/ike_bench.sh. */
static int
bench(int n)
{
	uint64_t t0, t1;
	int ok = 0;

	if (setup(NULL) < 0)
		return 1;
	t0 = loop_now_ms();
	for (int i = 0; i < n; i++) {
		struct ike_init in;
		struct ike_init_cfg c;
		struct ike_init_result res = {0};

		cfg_init(&c, true, "cisco_customer", "cisco");
		if (ike_init_open(&in, &c) == 0 && ike_init_phase1(&in) == 0 &&
		    ike_init_xauth(&in, &res) == 0 && res.xauth_status == 1 &&
		    ike_init_modecfg(&in, &res) == 0 && ike_init_quick(&in, &res) == 0 &&
		    wait_for(cmd_count_live, 1) == 1 && ike_init_delete(&in) == 0)
			ok++;
		else
			fprintf(stderr, "tunnel %d: %s\n", i, in.err);
		ike_init_close(&in);
		wait_for(cmd_count_sas, 0);
	}
	t1 = loop_now_ms();
	printf("ike_bench: %d/%d tunnels in %llu ms (%.1f tunnels/s)\n", ok, n,
	       (unsigned long long)(t1 - t0), t1 > t0 ? ok * 1000.0 / (double)(t1 - t0) : 0.0);
	teardown(NULL);
	return ok == n ? 0 : 1;
}

static void
test_natt_port_esp_goes_to_backend(void **state)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);
	uint8_t esp[40] = {0x11, 0x22, 0x33, 0x44, 0, 0, 0, 1}, ka = 0xff;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(getsockname(R.ike->fd4500, (struct sockaddr *)&a, &l), 0);
	/* a NAT-T keepalive is swallowed; a datagram with a non-zero SPI is ESP-in-UDP */
	assert_int_equal(sendto(fd, &ka, 1, 0, (struct sockaddr *)&a, sizeof(a)), 1);
	assert_int_equal(sendto(fd, esp, sizeof(esp), 0, (struct sockaddr *)&a, sizeof(a)),
	                 (ssize_t)sizeof(esp));
	assert_int_equal(wait_for(cmd_udp_inputs, 1), 1);
	assert_int_equal(R.udp_last_len, sizeof(esp));
	close(fd);
}

/* NAT-T forced as vpnc --natt-mode force-natt does it: the responder answers the NAT-T vendor ID
 * with its NAT-D payloads, finds the initiator behind a NAT from AM3's NAT-D, takes AM3 and
 * everything after it on its NAT-T port with the non-ESP marker, and grants UDP-encapsulated
 * tunnel mode; the SA it installs is UDP-encapsulated from its NAT-T port, with the keys the
 * initiator derived for the transform it asked for. */
static void
natt_tunnel(int esp_id, int esp_auth, enum ipsec_enc enc, enum ipsec_auth auth, size_t ek,
            size_t ak, const char *tname, bool draft)
{
	struct ike_init in;
	struct ike_init_result res = {0};
	struct ike_init_cfg c;
	struct sockaddr_in a;
	socklen_t l = sizeof(a);
	const struct ipsec_sa_params *p;

	assert_int_equal(getsockname(R.ike->fd4500, (struct sockaddr *)&a, &l), 0);
	cfg_init(&c, true, "cisco_customer", "cisco");
	c.natt = true;
	c.natt_port = ntohs(a.sin_port);
	c.esp_id = esp_id;
	c.esp_auth = esp_auth;
	c.natt_draft = draft;
	assert_int_equal(ike_init_open(&in, &c), 0);
	if (ike_init_phase1(&in) < 0)
		fail_msg("phase 1: %s", in.err);
	assert_true(in.floated);
	/* RFC 3947 preferred over the drafts; without it, a draft (NAT-D payload type 130) */
	assert_int_equal(in.natt_vid, draft ? 2 : 1);
	if (ike_init_xauth(&in, &res) < 0)
		fail_msg("xauth: %s", in.err);
	assert_int_equal(res.xauth_status, 1);
	if (ike_init_modecfg(&in, &res) < 0)
		fail_msg("modecfg: %s", in.err);
	if (ike_init_quick(&in, &res) < 0)
		fail_msg("quick: %s", in.err);
	assert_int_equal(res.encap, draft ? ENCAP_UDP_TUNNEL_DRAFT : ENCAP_UDP_TUNNEL);
	assert_int_equal(loop_call(R.loop, cmd_list, NULL, 1000), 1);
	assert_true(listed[0].natt);
	assert_int_equal(loop_call(R.loop, cmd_nat_detected, NULL, 1000), 1);
	assert_string_equal(listed[0].transform[0], tname);
	assert_int_equal(wait_for(cmd_count_live, 1), 1);
	p = &R.sas[0].p;
	assert_true(p->udp_encap);
	/* from the engine's NAT-T port as configured (0 here: the test listens on kernel-chosen
	 * ports, and the engine keeps the configured number) */
	assert_int_equal(p->local.sin_port, htons(R.ike->natt_port));
	assert_int_equal(p->enc, enc);
	assert_int_equal(p->auth, auth);
	assert_int_equal(res.keymat_len, ek + ak);
	assert_int_equal(res.esp_enc_keylen, ek);
	assert_int_equal(p->in.spi, res.spi_out);
	assert_int_equal(p->out.spi, res.spi_in);
	assert_int_equal(p->in.enc_key_len, ek);
	assert_int_equal(p->in.auth_key_len, ak);
	assert_memory_equal(p->in.enc_key, res.keymat_out, ek);
	assert_memory_equal(p->in.auth_key, res.keymat_out + ek, ak);
	assert_memory_equal(p->out.enc_key, res.keymat_in, ek);
	assert_memory_equal(p->out.auth_key, res.keymat_in + ek, ak);
	/* the informational exchanges go over the NAT-T port too */
	if (ike_init_dpd(&in, 7) < 0)
		fail_msg("dpd: %s", in.err);
	assert_int_equal(ike_init_delete(&in), 0);
	assert_int_equal(wait_for(cmd_count_sas, 0), 0);
	assert_int_equal(wait_for(cmd_count_live, 0), 0);
	ike_init_close(&in);
}

static void
test_natt_forced_default_transform(void **state)
{
	natt_tunnel(0, 0, IPSEC_ENC_DES, IPSEC_AUTH_HMAC_MD5_96, 8, 16, "esp-des esp-md5-hmac",
	            false);
}

/* Only the draft vendor IDs: NAT-D payloads of type 130, encapsulation mode 61443. */
static void
test_natt_forced_draft(void **state)
{
	natt_tunnel(0, 0, IPSEC_ENC_DES, IPSEC_AUTH_HMAC_MD5_96, 8, 16, "esp-des esp-md5-hmac",
	            true);
}

static void
test_natt_forced_aes128_sha1(void **state)
{
	natt_tunnel(ESP_AES, 2, IPSEC_ENC_AES_CBC, IPSEC_AUTH_HMAC_SHA1_96, 16, 20,
	            "esp-aes esp-sha-hmac", false);
}

static void
test_natt_forced_3des_md5(void **state)
{
	natt_tunnel(ESP_3DES, 1, IPSEC_ENC_3DES, IPSEC_AUTH_HMAC_MD5_96, 24, 16,
	            "esp-3des esp-md5-hmac", false);
}

/* Without NAT-T the same transform choice works on the IKE port, in plain tunnel mode. */
static void
test_chosen_transform_without_natt(void **state)
{
	struct ike_init in;
	struct ike_init_result res = {0};
	struct ike_init_cfg c;

	cfg_init(&c, true, "cisco_customer", "cisco");
	c.esp_id = ESP_AES;
	c.esp_auth = 2;
	assert_int_equal(ike_init_open(&in, &c), 0);
	if (ike_init_phase1(&in) < 0 || ike_init_xauth(&in, &res) < 0 ||
	    ike_init_modecfg(&in, &res) < 0 || ike_init_quick(&in, &res) < 0)
		fail_msg("handshake: %s", in.err);
	assert_false(in.floated);
	assert_int_equal(res.encap, ENCAP_TUNNEL);
	assert_int_equal(wait_for(cmd_count_live, 1), 1);
	assert_false(R.sas[0].p.udp_encap);
	assert_int_equal(loop_call(R.loop, cmd_nat_detected, NULL, 1000), 0);
	assert_int_equal(R.sas[0].p.enc, IPSEC_ENC_AES_CBC);
	assert_memory_equal(R.sas[0].p.in.auth_key, res.keymat_out + 16, 20);
	ike_init_close(&in);
}

static void
test_idle_and_max_time(void **state)
{
	struct ike_init a, b;
	struct ike_init_result ra, rb;
	int n = -1, calls;

	connect_full(&a, &ra, true, "cisco_customer");
	assert_int_equal(wait_for(cmd_count_live, 1), 1);
	/* idle-time 1800 s, no DPD: the once-a-second tick has no reason to ask the backend */
	calls = loop_call(R.loop, cmd_stats_calls, NULL, 1000);
	usleep(2200000);
	assert_int_equal(loop_call(R.loop, cmd_stats_calls, NULL, 1000), calls);
	/* idle-time 1 s while the backend sees inbound ESP: asked, and the tunnel stays */
	assert_int_equal(loop_call(R.loop, cmd_esp_active, (void *)1, 1000), 0);
	assert_int_equal(loop_call(R.loop, cmd_short_idle, NULL, 1000), 0);
	usleep(2200000);
	assert_true(loop_call(R.loop, cmd_stats_calls, NULL, 1000) > calls);
	assert_int_equal(loop_call(R.loop, cmd_count_sas, NULL, 1000), 1);
	/* the traffic stops: idle-time ends the tunnel */
	assert_int_equal(loop_call(R.loop, cmd_esp_active, NULL, 1000), 0);
	for (int i = 0; i < 100 && n != 0; i++) {
		n = loop_call(R.loop, cmd_count_sas, NULL, 1000);
		usleep(50000);
	}
	assert_int_equal(n, 0);
	assert_string_equal(R.last_down_reason, "idle-time");
	ike_init_close(&a);
	connect_full(&b, &rb, true, "cisco_customer");
	assert_int_equal(wait_for(cmd_count_live, 1), 1);
	assert_int_equal(loop_call(R.loop, cmd_short_max, NULL, 1000), 0);
	/* max-time ends the session regardless of activity */
	n = -1;
	for (int i = 0; i < 100 && n != 0; i++) {
		n = loop_call(R.loop, cmd_count_sas, NULL, 1000);
		usleep(50000);
	}
	assert_int_equal(n, 0);
	assert_string_equal(R.last_down_reason, "max-time");
	ike_init_close(&b);
}

static void
test_quick_mode_rekey(void **state)
{
	struct ike_init in;
	struct ike_init_result res, res2;

	connect_full(&in, &res, true, "cisco_customer");
	assert_int_equal(wait_for(cmd_count_live, 1), 1);
	/* the client rekeys phase 2 on the same IKE SA: a second pair, the tunnel stays "up" once */
	res2 = res;
	if (ike_init_quick(&in, &res2) < 0)
		fail_msg("rekey: %s", in.err);
	assert_int_equal(wait_for(cmd_count_live, 2), 2);
	/* the rekey's Quick Mode block and exchange slots are gone once the pair is installed */
	assert_int_equal(loop_call(R.loop, cmd_scratch, NULL, 1000), 0);
	assert_int_not_equal(res2.spi_out, res.spi_out);
	assert_memory_equal(R.sas[1].p.in.enc_key, res2.keymat_out, 8);
	assert_int_equal(R.ups, 1);
	/* the old pair reaches its hard lifetime in the backend: no tunnel-down yet */
	assert_int_equal(loop_call(R.loop, cmd_expire_first, NULL, 1000), 0);
	assert_int_equal(loop_call(R.loop, cmd_count_live, NULL, 1000), 1);
	assert_int_equal(R.downs, 0);
	assert_int_equal(loop_call(R.loop, cmd_count_sas, NULL, 1000), 1);
	/* deleting the IKE SA takes the last pair and reports the tunnel down once */
	assert_int_equal(ike_init_delete(&in), 0);
	assert_int_equal(wait_for(cmd_count_live, 0), 0);
	assert_int_equal(R.downs, 1);
	ike_init_close(&in);
}

static void
test_half_open_limit(void **state)
{
	uint8_t pkt[IKE_MAX_DATAGRAM];
	char path[512];
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	size_t len;
	FILE *f;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	/* vpnc's real AM1, replayed with fresh initiator cookies and never completed */
	snprintf(path, sizeof(path), "%s/tests/data/ike/vpnc_am1.bin", PORTCULLIS_SOURCE_DIR);
	f = fopen(path, "rb");
	assert_non_null(f);
	len = fread(pkt, 1, sizeof(pkt), f);
	fclose(f);
	a.sin_port = htons(R.port);
	for (int i = 0; i < IKE_MAX_HALF_OPEN + 10; i++) {
		memcpy(pkt, &i, sizeof(i));
		pkt[7] = 0x5a;
		assert_int_equal(sendto(fd, pkt, len, 0, (struct sockaddr *)&a, sizeof(a)),
		                 (ssize_t)len);
		/* one at a time, so the socket buffer never overflows */
		assert_int_equal(
		        wait_for(cmd_count_sas, i < IKE_MAX_HALF_OPEN ? i + 1 : IKE_MAX_HALF_OPEN),
		        i < IKE_MAX_HALF_OPEN ? i + 1 : IKE_MAX_HALF_OPEN);
	}
	usleep(200000);
	assert_int_equal(loop_call(R.loop, cmd_count_sas, NULL, 1000), IKE_MAX_HALF_OPEN);
	/* every one holds its phase 1 block (bit 0), the count matches (no bit 8) */
	assert_int_equal(loop_call(R.loop, cmd_scratch, NULL, 1000) & ~0x18, 1);
	assert_int_equal(loop_call(R.loop, cmd_half_open, NULL, 1000), IKE_MAX_HALF_OPEN);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_full_tunnel_keys_match, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_non_unity_gets_no_unity_attrs_and_leases,
	                                        setup, teardown),
	        cmocka_unit_test_setup_teardown(test_lease_order_with_taken_address, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_pfs, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_backend_refuses_sa, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_delete_with_message_id_zero, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_xauth_retries_then_fail, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_wrong_group_password, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_malformed_am1_gets_notify, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_clear_sa, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_gateway_dpd_dead_peer, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_retransmission_then_giveup, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_phase1_rekey_keeps_tunnel, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_initial_contact_clears_old_sas, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_natt_port_esp_goes_to_backend, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_natt_forced_default_transform, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_natt_forced_draft, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_natt_forced_aes128_sha1, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_natt_forced_3des_md5, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_chosen_transform_without_natt, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_idle_and_max_time, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_quick_mode_rekey, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_half_open_limit, setup, teardown),
	};

	log_set_all_levels(getenv("IKE_TEST_DEBUG") != NULL ? LOG_LVL_DEBUG : LOG_LVL_ERROR);
	if (getenv("IKE_BENCH") != NULL)
		return bench(atoi(getenv("IKE_BENCH")));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
