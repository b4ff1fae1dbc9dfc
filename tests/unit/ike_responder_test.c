/* The IKE responder on the seed configuration. As a unit test: loads the seed rows into a temp
 * database, starts the engine on loopback and checks the loaded policy. With
 * IKE_RESPONDER_SERVE=1 it serves instead (tests/integration/ike_vpnc_test.sh runs it inside a
 * network namespace against vpnc and strongSwan): IKE_RESPONDER_ADDR is the address to bind,
 * IKE_RESPONDER_RECORD a file where the fake backend and hooks record SA pairs and tunnel
 * events, IKE_RESPONDER_DB the database path, IKE_RESPONDER_EXTRA_SQL optional rows added to the
 * seed. The fake AAA accepts cisco_customer / cisco. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "gateway/core/log.h"
#include "gateway/core/loop.h"
#include "gateway/ike/ike.h"
#include "gateway/ike/ike_int.h"
#include "unit/ike_seed.h"

static FILE *record;

/* ---- recording fake backend ---- */

struct fake_be {
	struct ipsec_backend be;
	uint64_t next;
	int added, deleted;
};

static int
fake_sa_add(struct ipsec_backend *be, const struct ipsec_sa_params *p, uint64_t *handle)
{
	struct fake_be *f = (struct fake_be *)be;
	char rem[INET_ADDRSTRLEN], loc[INET_ADDRSTRLEN];
	struct in_addr r = {htonl(p->remote_ts[0].addr)}, l = {htonl(p->local_ts[0].addr)};

	inet_ntop(AF_INET, &r, rem, sizeof(rem));
	inet_ntop(AF_INET, &l, loc, sizeof(loc));
	*handle = ++f->next;
	f->added++;
	if (record != NULL) {
		fprintf(record,
		        "SA_ADD handle=%llu enc=%s auth=%s spi_in=%08x spi_out=%08x "
		        "enc_key_len=%zu "
		        "auth_key_len=%zu remote=%s/%u local=%s/%u udp_encap=%d life=%llu\n",
		        (unsigned long long)*handle,
		        p->enc == IPSEC_ENC_DES       ? "DES"
		        : p->enc == IPSEC_ENC_3DES    ? "3DES"
		        : p->enc == IPSEC_ENC_AES_CBC ? "AES"
		                                      : "NULL",
		        p->auth == IPSEC_AUTH_HMAC_MD5_96    ? "MD5"
		        : p->auth == IPSEC_AUTH_HMAC_SHA1_96 ? "SHA1"
		                                             : "other",
		        p->in.spi, p->out.spi, p->in.enc_key_len, p->in.auth_key_len, rem,
		        p->remote_ts[0].plen, loc, p->local_ts[0].plen, p->udp_encap,
		        (unsigned long long)p->hard_lifetime_s);
		fflush(record);
	}
	return 0;
}

static int
fake_sa_del(struct ipsec_backend *be, uint64_t handle)
{
	struct fake_be *f = (struct fake_be *)be;

	f->deleted++;
	if (record != NULL) {
		fprintf(record, "SA_DEL handle=%llu\n", (unsigned long long)handle);
		fflush(record);
	}
	return 0;
}

static int
fake_sa_stats(struct ipsec_backend *be, uint64_t handle, struct ipsec_sa_stats *out)
{
	memset(out, 0, sizeof(*out));
	return 0;
}

static void
fake_free(struct ipsec_backend *be)
{
}

static const struct ipsec_backend_ops fake_ops = {
        .name = "fake",
        .sa_add = fake_sa_add,
        .sa_del = fake_sa_del,
        .sa_stats = fake_sa_stats,
        .free = fake_free,
};

/* ---- fake AAA: answers asynchronously on the loop, like aaa_authenticate() ---- */

struct pending {
	aaa_auth_fn fn;
	void *arg;
	bool ok;
	struct loop_timer *t;
	bool used;
};

static struct loop *the_loop;
static struct pending pend[16];

static void
auth_fire(struct loop *loop, void *arg)
{
	struct pending *p = arg;
	struct aaa_auth_result res = {0};

	p->used = false;
	res.result = p->ok ? AAA_ACCEPT : AAA_REJECT;
	snprintf(res.reason, sizeof(res.reason), "%s", p->ok ? "ok" : "bad user or password");
	snprintf(res.server, sizeof(res.server), "fake");
	p->fn(p->arg, &res);
}

static int
fake_auth(void *arg, const struct aaa_auth_req *req, aaa_auth_fn fn, void *fn_arg, uint64_t *req_id)
{
	for (int i = 0; i < 16; i++) {
		if (pend[i].used)
			continue;
		pend[i].used = true;
		pend[i].fn = fn;
		pend[i].arg = fn_arg;
		pend[i].ok = strcmp(req->user, "cisco_customer") == 0 &&
		             strcmp(req->password, "cisco") == 0 &&
		             strcmp(req->group, "AuthInbound") == 0;
		pend[i].t = loop_timer_add(the_loop, 10, auth_fire, &pend[i]);
		*req_id = (uint64_t)i;
		if (record != NULL) {
			fprintf(record, "AUTH user=%s group=%s result=%s\n", req->user, req->group,
			        pend[i].ok ? "accept" : "reject");
			fflush(record);
		}
		return 0;
	}
	return -EBUSY;
}

static void
fake_cancel(void *arg, uint64_t req_id)
{
	if (req_id < 16 && pend[req_id].used) {
		loop_timer_cancel(the_loop, pend[req_id].t);
		pend[req_id].used = false;
	}
}

static void
on_up(void *arg, const struct ike_tunnel_info *t, const char *reason)
{
	struct in_addr a = {htonl(t->assigned_addr)};
	char s[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a, s, sizeof(s));
	if (record != NULL) {
		fprintf(record, "TUNNEL_UP user=%s group=%s addr=%s spi_in=%08x spi_out=%08x\n",
		        t->user, t->group, s, t->spi_in, t->spi_out);
		fflush(record);
	}
}

static void
on_down(void *arg, const struct ike_tunnel_info *t, const char *reason)
{
	if (record != NULL) {
		fprintf(record, "TUNNEL_DOWN user=%s reason=%s\n", t->user, reason);
		fflush(record);
	}
}

static const struct ike_hooks hooks = {
        .authenticate = fake_auth,
        .cancel = fake_cancel,
        .tunnel_up = on_up,
        .tunnel_down = on_down,
};

static int
seed_db(const char *path, struct db **out)
{
	struct pc_err err = {0};
	int r;

	r = db_open(path, out, &err);
	if (r < 0) {
		fprintf(stderr, "db_open %s: %s\n", path, err.msg);
		return r;
	}
	r = db_exec(*out, IKE_SEED_SQL, &err);
	if (r < 0)
		fprintf(stderr, "seed SQL: %s\n", err.msg);
	/* serve mode: extra rows on top of the seed (tests/integration/ike_vpnc_test.sh) */
	if (r == 0 && getenv("IKE_RESPONDER_SERVE") != NULL &&
	    getenv("IKE_RESPONDER_EXTRA_SQL") != NULL) {
		r = db_exec(*out, getenv("IKE_RESPONDER_EXTRA_SQL"), &err);
		if (r < 0)
			fprintf(stderr, "IKE_RESPONDER_EXTRA_SQL: %s\n", err.msg);
	}
	return r;
}

static void
on_signal(struct loop *loop, int signo, void *arg)
{
	loop_stop(loop);
}

static int
serve(void)
{
	const char *addr = getenv("IKE_RESPONDER_ADDR");
	const char *rec = getenv("IKE_RESPONDER_RECORD");
	const char *dbp = getenv("IKE_RESPONDER_DB");
	struct fake_be fbe = {.be = {.ops = &fake_ops, .natt_fd = -1}};
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct loop *loop = NULL;
	struct db *db = NULL;
	struct ike *ike = NULL;
	int r;

	if (addr == NULL || dbp == NULL || inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
		fprintf(stderr, "IKE_RESPONDER_ADDR and IKE_RESPONDER_DB must be set\n");
		return 2;
	}
	if (rec != NULL)
		record = fopen(rec, "a");
	log_set_all_levels(LOG_LVL_INFO);
	if (getenv("IKE_RESPONDER_DEBUG") != NULL)
		log_set_level(LOG_IKE, LOG_LVL_DEBUG);
	r = loop_new(&loop);
	if (r == 0)
		r = seed_db(dbp, &db);
	the_loop = loop;
	if (r == 0)
		r = loop_add_signal(loop, SIGTERM, on_signal, NULL);
	if (r == 0)
		r = loop_add_signal(loop, SIGINT, on_signal, NULL);
	if (r == 0)
		r = ike_new(loop, db, &hooks, &ike);
	if (r == 0) {
		fbe.be.loop = loop;
		ike_set_backend(ike, &fbe.be);
		if (getenv("IKE_RESPONDER_HALF_OPEN_S") != NULL)
			ike_set_half_open_timeout(
			        ike, (unsigned)atoi(getenv("IKE_RESPONDER_HALF_OPEN_S")));
		r = ike_listen(ike, &sin);
	}
	if (r == 0) {
		fprintf(stderr, "ike_responder: serving on %s\n", addr);
		r = loop_run(loop);
	}
	ike_free(ike);
	db_close(db);
	loop_free(loop);
	if (record != NULL)
		fclose(record);
	return r < 0 ? 1 : 0;
}

/* ---- unit tests ---- */

static char dbpath[64];

static int
setup(void **state)
{
	int fd;

	snprintf(dbpath, sizeof(dbpath), "/tmp/pc-ike-resp-XXXXXX");
	fd = mkstemp(dbpath);
	if (fd < 0)
		return -1;
	close(fd);
	unlink(dbpath);
	return 0;
}

static int
teardown(void **state)
{
	char p[96];

	unlink(dbpath);
	snprintf(p, sizeof(p), "%s-wal", dbpath);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", dbpath);
	unlink(p);
	return 0;
}

static void
test_seed_config_loads(void **state)
{
	struct db *db = NULL;
	struct ike_conf *c = calloc(1, sizeof(*c));
	struct pc_err err = {0};

	assert_non_null(c);
	assert_int_equal(seed_db(dbpath, &db), 0);
	assert_int_equal(ike_conf_load(db, c, &err), 0);
	assert_int_equal(c->npol, 2);
	assert_int_equal(c->pol[0].prio, 10);
	assert_int_equal(c->pol[0].enc, IKE_ENC_DES);
	assert_int_equal(c->pol[0].hash, IKE_HASH_MD5);
	assert_int_equal(c->pol[0].group, 2);
	assert_int_equal(c->pol[1].group, 1);
	assert_int_equal(c->nkey, 1);
	assert_string_equal(c->key[0].secret, "cisco1234");
	assert_int_equal(c->key[0].mask, 0);
	assert_int_equal(c->ngrp, 1);
	assert_string_equal(c->grp[0].name, "vpn3000");
	assert_string_equal(c->grp[0].password, "vpnsecret");
	assert_int_equal(c->grp[0].idle_s, 1800);
	assert_int_equal(c->npool, 1);
	assert_int_equal(c->pool[0].start, 0x0a5981c8);
	assert_int_equal(c->pool[0].end, 0x0a5981cc);
	assert_int_equal(c->client_pool_id, 1);
	assert_int_equal(c->ntset, 1);
	assert_int_equal(c->tset[0].esp_id, 2);
	assert_int_equal(c->tset[0].auth, 1);
	assert_true(c->tset[0].tunnel);
	assert_true(c->cfg_initiate);
	assert_true(c->cfg_respond);
	assert_string_equal(c->auth_group, "AuthInbound");
	assert_int_equal(c->qm_life_s, 28800);
	ike_conf_wipe(c);
	free(c);
	db_close(db);
}

static void
test_engine_listens_and_lists(void **state)
{
	struct db *db = NULL;
	struct loop *loop = NULL;
	struct ike *ike = NULL;
	struct ike_sa_info info[2];
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};

	assert_int_equal(seed_db(dbpath, &db), 0);
	assert_int_equal(loop_new(&loop), 0);
	the_loop = loop;
	assert_int_equal(ike_new(loop, db, &hooks, &ike), 0);
	/* high ports: the unit test does not need root */
	assert_int_equal(ike_listen_ports(ike, &sin, 0, 0), 0);
	assert_int_equal(ike_list_sas(ike, info, 2), 0);
	assert_int_equal(ike_clear_sa(ike, NULL), 0);
	ike_free(ike);
	loop_free(loop);
	db_close(db);
}

static void
test_reload(void **state)
{
	struct db *db = NULL;
	struct loop *loop = NULL;
	struct ike *ike = NULL;
	struct pc_err err = {0};

	assert_int_equal(seed_db(dbpath, &db), 0);
	assert_int_equal(loop_new(&loop), 0);
	assert_int_equal(ike_new(loop, db, &hooks, &ike), 0);
	assert_int_equal(ike->conf.npol, 2);
	assert_int_equal(
	        db_exec(db,
	                "INSERT INTO isakmp_policy VALUES (5, 'pre-share', 'aes-256', 'sha', "
	                "14, 3600); UPDATE vpngroup SET password_secret = 'newsecret';",
	                &err),
	        0);
	assert_int_equal(ike_reload(ike, &err), 0);
	assert_int_equal(ike->conf.npol, 3);
	assert_int_equal(ike->conf.pol[0].prio, 5);
	assert_int_equal(ike->conf.pol[0].enc, IKE_ENC_AES);
	assert_int_equal(ike->conf.pol[0].keybits, 256);
	assert_int_equal(ike->conf.pol[0].group, 14);
	assert_string_equal(ike->conf.grp[0].password, "newsecret");
	/* a reload that fails keeps the configuration in force */
	assert_int_equal(db_exec(db, "DROP TABLE isakmp_key;", &err), 0);
	assert_int_not_equal(ike_reload(ike, &err), 0);
	assert_int_equal(ike->conf.npol, 3);
	assert_string_equal(ike->conf.key[0].secret, "cisco1234");
	ike_free(ike);
	loop_free(loop);
	db_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_seed_config_loads, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_engine_listens_and_lists, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_reload, setup, teardown),
	};

	if (getenv("IKE_RESPONDER_SERVE") != NULL)
		return serve();
	log_set_all_levels(LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
