/* The uauth cache: Xauth and cut-through entries go into the (fake) nftables set with the right
 * timeouts, expire by absolute and inactivity timers, `clear uauth` by user/address/all, the PIX
 * `show uauth` text and the API JSON, uauth-added/-removed events, persistence across a restart
 * (expired and ipsec rows dropped), timeout 0, and loading the config from the seed's rows. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "gateway/core/events.h"
#include "gateway/core/loop.h"
#include "gateway/core/log.h"
#include "gateway/uauth/uauth.h"
#include "gateway/uauth/uauth_int.h"
#include "unit/uauth_fakes.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

struct fx {
	struct loop *loop;
	struct fake_set set;
	struct fake_aaa aaa;
	struct uauth_hooks hooks;
	struct uauth_config cfg;
	struct uauth *u;
	struct db *db;
	char dbpath[64];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL || loop_new(&f->loop) < 0)
		return -1;
	pthread_mutex_init(&f->set.lock, NULL);
	pthread_mutex_init(&f->aaa.lock, NULL);
	f->aaa.loop = f->loop;
	f->aaa.user = "alice";
	f->aaa.password = "secret";
	fake_hooks(&f->hooks, &f->set, &f->aaa);
	uauth_config_defaults(&f->cfg);
	f->cfg.port = f->cfg.port_http = f->cfg.port_ftp = f->cfg.port_telnet =
	        0; /* no listeners */
	snprintf(f->cfg.hostname, sizeof(f->cfg.hostname), "pixfirewall");
	events_init();
	*state = f;
	return 0;
}

static void
remove_db(const char *path)
{
	char p[96];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	uauth_free(f->u);
	loop_free(f->loop);
	db_close(f->db);
	if (f->dbpath[0] != '\0')
		remove_db(f->dbpath);
	free(f);
	return 0;
}

static void
open_db(struct fx *f)
{
	struct pc_err err = {0};
	int fd;

	snprintf(f->dbpath, sizeof(f->dbpath), "/tmp/pc-uauth-test-XXXXXX");
	fd = mkstemp(f->dbpath);
	assert_true(fd >= 0);
	close(fd);
	unlink(f->dbpath);
	assert_int_equal(db_open(f->dbpath, &f->db, &err), 0);
}

static void
start(struct fx *f)
{
	struct pc_err err = {0};

	assert_int_equal(uauth_new(f->loop, f->db, &f->cfg, &f->hooks, &f->u, &err), 0);
}

static void
stop_cb(struct loop *loop, void *arg)
{
	loop_stop(loop);
}

static void
run_for(struct fx *f, uint64_t ms)
{
	assert_non_null(loop_timer_add(f->loop, ms, stop_cb, NULL));
	assert_int_equal(loop_run(f->loop), 0);
}

static int
db_count(struct db *db, const char *sql)
{
	sqlite3_stmt *st;
	int n = -1;

	assert_int_equal(db_prepare(db, sql, &st, NULL), 0);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* Finds the newest event of type after seq; copies its data. */
static bool
find_event(uint64_t after, const char *type, char *data, size_t len)
{
	static struct event_rec ev[64];
	uint64_t missed;
	size_t n = events_read(after, ev, 64, 0, &missed);
	bool found = false;

	for (size_t i = 0; i < n; i++) {
		if (strcmp(ev[i].type, type) == 0) {
			snprintf(data, len, "%s", ev[i].data);
			found = true;
		}
	}
	return found;
}

static void
test_ipsec_show_and_json(void **state)
{
	struct fx *f = *state;
	char buf[2048], ev[EVENTS_MAX_DATA];
	uint64_t seq = events_last_seq();
	json_t *v, *it;
	struct uauth_counts c;

	start(f);
	assert_int_equal(uauth_add_ipsec(f->u, "cisco_customer", IP(10, 89, 129, 200), "vpn3000"),
	                 0);
	assert_int_equal(fake_set_timeout(&f->set, IP(10, 89, 129, 200)), 0); /* never expires */
	assert_true(uauth_is_authenticated(f->u, IP(10, 89, 129, 200)));
	assert_true(find_event(seq, "uauth-added", ev, sizeof(ev)));
	assert_non_null(strstr(ev, "\"user\":\"cisco_customer\""));
	assert_non_null(strstr(ev, "\"address\":\"10.89.129.200\""));
	assert_non_null(strstr(ev, "\"method\":\"ipsec\""));

	uauth_show_text(f->u, buf, sizeof(buf));
	assert_string_equal(buf, "                          Current    Most Seen\n"
	                         "Authenticated Users       1          1\n"
	                         "Authen In Progress        0          0\n"
	                         "ipsec user 'cisco_customer' at 10.89.129.200, authenticated\n");
	/* truncation: returns the length it needed, output stays terminated */
	assert_int_equal(uauth_show_text(f->u, buf, 10),
	                 strlen("                          Current    Most Seen\n"
	                        "Authenticated Users       1          1\n"
	                        "Authen In Progress        0          0\n"
	                        "ipsec user 'cisco_customer' at 10.89.129.200, authenticated\n"));
	assert_int_equal(strlen(buf), 9);

	assert_int_equal(uauth_to_json(f->u, &v), 0);
	assert_int_equal(json_integer_value(json_object_get(v, "current")), 1);
	assert_int_equal(json_integer_value(json_object_get(v, "most_seen")), 1);
	assert_int_equal(json_integer_value(json_object_get(v, "in_progress")), 0);
	assert_int_equal(json_integer_value(json_object_get(v, "in_progress_most_seen")), 0);
	it = json_array_get(json_object_get(v, "items"), 0);
	assert_non_null(it);
	assert_true(json_integer_value(json_object_get(it, "id")) > 0);
	assert_string_equal(json_string_value(json_object_get(it, "user")), "cisco_customer");
	assert_string_equal(json_string_value(json_object_get(it, "address")), "10.89.129.200");
	assert_string_equal(json_string_value(json_object_get(it, "method")), "ipsec");
	assert_string_equal(json_string_value(json_object_get(it, "group")), "vpn3000");
	assert_true(json_is_null(json_object_get(it, "expires")));
	assert_non_null(json_string_value(json_object_get(it, "since")));
	assert_true(json_is_false(json_object_get(it, "absolute")));
	json_decref(v);

	seq = events_last_seq();
	assert_int_equal(uauth_remove_ipsec(f->u, IP(10, 89, 129, 200)), 0);
	assert_int_equal(uauth_remove_ipsec(f->u, IP(10, 89, 129, 200)), -ENOENT);
	assert_int_equal(fake_set_timeout(&f->set, IP(10, 89, 129, 200)), -1);
	assert_true(find_event(seq, "uauth-removed", ev, sizeof(ev)));
	assert_non_null(strstr(ev, "\"reason\":\"tunnel down\""));
	uauth_get_counts(f->u, &c);
	assert_int_equal(c.current, 0);
	assert_int_equal(c.most_seen, 1);
}

static void
test_cut_through_absolute_expiry(void **state)
{
	struct fx *f = *state;
	char buf[2048], ev[EVENTS_MAX_DATA];
	uint64_t seq;
	json_t *v, *it;

	f->cfg.timeout_s = 1;
	start(f);
	assert_int_equal(uauth_add_cut_through(f->u, "alice", IP(192, 168, 1, 2), UAUTH_METHOD_HTTP,
	                                       "AuthInbound"),
	                 0);
	assert_int_equal(fake_set_timeout(&f->set, IP(192, 168, 1, 2)), 1);
	uauth_show_text(f->u, buf, sizeof(buf));
	assert_non_null(strstr(buf, "user 'alice' at 192.168.1.2, authenticated\n"
	                            "   absolute   timeout: 0:00:0"));
	assert_non_null(strstr(buf, "   inactivity timeout: 0:00:00\n"));
	assert_int_equal(uauth_to_json(f->u, &v), 0);
	it = json_array_get(json_object_get(v, "items"), 0);
	assert_int_equal(json_integer_value(json_object_get(it, "timeout_s")), 1);
	assert_true(json_is_true(json_object_get(it, "absolute")));
	assert_non_null(json_string_value(json_object_get(it, "expires")));
	json_decref(v);

	seq = events_last_seq();
	run_for(f, 400);
	assert_true(uauth_is_authenticated(f->u, IP(192, 168, 1, 2)));
	run_for(f, 900);
	assert_false(uauth_is_authenticated(f->u, IP(192, 168, 1, 2)));
	assert_int_equal(fake_set_timeout(&f->set, IP(192, 168, 1, 2)), -1);
	assert_true(find_event(seq, "uauth-removed", ev, sizeof(ev)));
	assert_non_null(strstr(ev, "\"reason\":\"absolute timeout\""));
	assert_int_equal(loop_timer_count(f->loop), 0);
}

static void
test_inactivity_follows_kernel(void **state)
{
	struct fx *f = *state;
	uint64_t t0 = loop_now_ms();

	f->cfg.timeout_s = 1;
	f->cfg.inactivity = true;
	start(f);
	assert_int_equal(uauth_add_cut_through(f->u, "alice", IP(192, 168, 1, 2),
	                                       UAUTH_METHOD_TELNET, "AuthInbound"),
	                 0);
	/* traffic refreshed the kernel element: 700 ms left when our timer runs out */
	f->set.get_left_ms = 700;
	run_for(f, 1300);
	assert_true(uauth_is_authenticated(f->u, IP(192, 168, 1, 2)));
	assert_int_equal(f->set.gets, 1);
	run_for(f, 600);
	assert_false(uauth_is_authenticated(f->u, IP(192, 168, 1, 2)));
	assert_int_equal(f->set.gets, 2);
	assert_true(loop_now_ms() - t0 >= 1700);
}

static void
test_clear(void **state)
{
	struct fx *f = *state;
	struct pc_err err = {0};

	start(f);
	assert_int_equal(uauth_add_ipsec(f->u, "cisco_customer", IP(10, 89, 129, 200), "vpn3000"),
	                 0);
	assert_int_equal(uauth_add_cut_through(f->u, "alice", IP(192, 168, 1, 2), UAUTH_METHOD_HTTP,
	                                       "AuthInbound"),
	                 0);
	assert_int_equal(uauth_add_cut_through(f->u, "alice", IP(192, 168, 1, 3), UAUTH_METHOD_FTP,
	                                       "AuthInbound"),
	                 0);
	assert_int_equal(uauth_add_cut_through(f->u, "bob", IP(192, 168, 1, 4), UAUTH_METHOD_FTP,
	                                       "AuthInbound"),
	                 0);
	assert_int_equal(fake_set_count(&f->set), 4);
	/* same address again replaces the entry */
	assert_int_equal(uauth_add_cut_through(f->u, "carol", IP(192, 168, 1, 4), UAUTH_METHOD_HTTP,
	                                       "AuthInbound"),
	                 0);
	assert_int_equal(fake_set_count(&f->set), 4);

	assert_int_equal(uauth_clear(f->u, "alice", &err), 2);
	assert_false(uauth_is_authenticated(f->u, IP(192, 168, 1, 2)));
	assert_false(uauth_is_authenticated(f->u, IP(192, 168, 1, 3)));
	assert_int_equal(uauth_clear(f->u, "192.168.1.4", &err), 1);
	assert_int_equal(uauth_clear(f->u, "nobody", &err), -ENOENT);
	{
		json_t *v, *it;
		char sel[32];
		struct pc_err e2 = {0};

		assert_int_equal(uauth_to_json(f->u, &v), 0);
		it = json_array_get(json_object_get(v, "items"), 0);
		snprintf(sel, sizeof(sel), "#%lld",
		         (long long)json_integer_value(json_object_get(it, "id")));
		json_decref(v);
		assert_int_equal(uauth_clear(f->u, sel, &e2), 1); /* DELETE /api/v1/uauth/{id} */
		assert_int_equal(uauth_clear(f->u, sel, &e2), -ENOENT);
		assert_int_equal(uauth_clear(f->u, "#x", &e2), -EINVAL);
		assert_int_equal(
		        uauth_add_ipsec(f->u, "cisco_customer", IP(10, 89, 129, 200), "vpn3000"),
		        0);
	}
	assert_string_equal(err.msg, "clear uauth: no authenticated user or address 'nobody'");
	assert_int_equal(uauth_clear_id(f->u, 999999, &err), -ENOENT);
	assert_int_equal(uauth_clear(f->u, NULL, &err), 1);
	assert_int_equal(fake_set_count(&f->set), 0);
	assert_int_equal(uauth_clear(f->u, "", &err), 0);
}

static void
test_set_failure_keeps_out(void **state)
{
	struct fx *f = *state;

	open_db(f);
	start(f);
	f->set.fail_add = -EIO;
	assert_int_equal(uauth_add_cut_through(f->u, "alice", IP(192, 168, 1, 2), UAUTH_METHOD_HTTP,
	                                       "AuthInbound"),
	                 -EIO);
	assert_false(uauth_is_authenticated(f->u, IP(192, 168, 1, 2)));
	assert_int_equal(db_count(f->db, "SELECT count(*) FROM uauth_entry"), 0);
}

static void
test_persistence(void **state)
{
	struct fx *f = *state;
	struct pc_err err = {0};
	long t;

	open_db(f);
	start(f);
	assert_int_equal(uauth_add_ipsec(f->u, "cisco_customer", IP(10, 89, 129, 200), "vpn3000"),
	                 0);
	assert_int_equal(uauth_add_cut_through(f->u, "alice", IP(192, 168, 1, 2), UAUTH_METHOD_HTTP,
	                                       "AuthInbound"),
	                 0);
	/* only the cut-through user is stored: a tunnel user does not survive a restart */
	assert_int_equal(db_count(f->db, "SELECT count(*) FROM uauth_entry"), 1);
	/* a row an older version stored for a tunnel user is dropped at the restart */
	assert_int_equal(db_exec(f->db,
	                         "INSERT INTO uauth_entry (username, address, method, group_name, "
	                         "created_at_ms) VALUES ('bob', '10.89.129.201', 'ipsec', "
	                         "'vpn3000', 1000)",
	                         &err),
	                 0);
	assert_int_equal(db_exec(f->db,
	                         "INSERT INTO uauth_entry (username, address, method, group_name, "
	                         "created_at_ms, expires_at_ms) VALUES ('old', '192.168.1.9', "
	                         "'telnet', 'AuthInbound', 1000, 2000)",
	                         &err),
	                 0);
	/* "restart": the set is rebuilt from scratch by the new instance */
	uauth_free(f->u);
	f->u = NULL;
	f->set.n = 0;
	start(f);
	assert_true(uauth_is_authenticated(f->u, IP(192, 168, 1, 2)));
	t = fake_set_timeout(&f->set, IP(192, 168, 1, 2));
	assert_true(t >= 298 && t <= 300);
	assert_false(uauth_is_authenticated(f->u, IP(10, 89, 129, 200))); /* tunnel is gone */
	assert_false(uauth_is_authenticated(f->u, IP(10, 89, 129, 201)));
	assert_false(uauth_is_authenticated(f->u, IP(192, 168, 1, 9))); /* expired */
	assert_int_equal(fake_set_count(&f->set), 1);
	assert_int_equal(db_count(f->db, "SELECT count(*) FROM uauth_entry"), 1);
	assert_int_equal(db_count(f->db,
	                          "SELECT count(*) FROM uauth_entry WHERE address = '192.168.1.2' "
	                          "AND method = 'http' AND username = 'alice'"),
	                 1);
	/* clearing removes the row too */
	assert_int_equal(uauth_clear(f->u, NULL, &err), 1);
	assert_int_equal(db_count(f->db, "SELECT count(*) FROM uauth_entry"), 0);
}

static void
test_timeout_zero(void **state)
{
	struct fx *f = *state;
	struct pc_err err = {0};
	struct uauth_config cfg;

	start(f);
	assert_int_equal(uauth_add_ipsec(f->u, "cisco_customer", IP(10, 89, 129, 200), NULL), 0);
	assert_int_equal(uauth_add_cut_through(f->u, "alice", IP(192, 168, 1, 2), UAUTH_METHOD_HTTP,
	                                       "AuthInbound"),
	                 0);
	cfg = f->cfg;
	cfg.timeout_s = 0;
	assert_int_equal(uauth_reload(f->u, &cfg, &err), 0);
	assert_false(uauth_is_authenticated(f->u, IP(192, 168, 1, 2)));
	assert_true(uauth_is_authenticated(f->u, IP(10, 89, 129, 200)));
	/* no caching: nothing is added */
	assert_int_equal(uauth_add_cut_through(f->u, "alice", IP(192, 168, 1, 5), UAUTH_METHOD_HTTP,
	                                       "AuthInbound"),
	                 0);
	assert_false(uauth_is_authenticated(f->u, IP(192, 168, 1, 5)));
	assert_int_equal(fake_set_count(&f->set), 1);
}

/* Many tunnel users (the table is hashed by address): each is found, a replaced or removed one
 * is gone, and the rest stay, also for addresses that share a hash bucket. */
static void
test_many_entries(void **state)
{
	struct fx *f = *state;
	const uint32_t n = 6000;

	log_set_all_levels(LOG_LVL_WARN);
	start(f);
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(uauth_add_ipsec(f->u, "u", IP(10, 90, 0, 0) + i, NULL), 0);
	for (uint32_t i = 0; i < n; i += 3)
		assert_int_equal(uauth_remove_ipsec(f->u, IP(10, 90, 0, 0) + i), 0);
	/* a new login for an address that is there replaces the entry */
	assert_int_equal(uauth_add_ipsec(f->u, "v", IP(10, 90, 0, 1), NULL), 0);
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(uauth_is_authenticated(f->u, IP(10, 90, 0, 0) + i), i % 3 != 0);
	assert_false(uauth_is_authenticated(f->u, IP(10, 90, 0, 0) + n));
	for (uint32_t i = 1; i < n; i++)
		if (i % 3 != 0)
			assert_int_equal(uauth_remove_ipsec(f->u, IP(10, 90, 0, 0) + i), 0);
	for (uint32_t i = 0; i < n; i++)
		assert_false(uauth_is_authenticated(f->u, IP(10, 90, 0, 0) + i));
}

static void
test_config_load_seed(void **state)
{
	struct fx *f = *state;
	struct pc_err err = {0};
	struct uauth_config cfg;
	char group[64];

	open_db(f);
	assert_int_equal(
	        db_exec(f->db,
	                "INSERT INTO setting (name, value) VALUES ('hostname', 'pixfirewall');"
	                "INSERT INTO timeout (name, seconds, option) VALUES ('uauth', 300, "
	                "'absolute');"
	                "INSERT INTO aaa_server_group (id, name, protocol) VALUES (1, "
	                "'AuthInbound', 'tacacs+');"
	                "INSERT INTO aaa_server_group (id, name, protocol) VALUES (2, 'LOCAL', "
	                "'local');"
	                "INSERT INTO aaa_rule (kind, action, service, direction, local_address, "
	                "local_netmask, foreign_address, foreign_netmask, group_id, position) "
	                "VALUES "
	                "('authentication', 'exclude', 'telnet', 'inbound', '10.89.129.131', "
	                "'255.255.255.255', '192.168.1.66', '255.255.255.255', NULL, 0),"
	                "('authentication', 'include', 'http', 'inbound', '10.89.129.131', "
	                "'255.255.255.255', '0.0.0.0', '0.0.0.0', 1, 1),"
	                "('authentication', 'include', 'ftp', 'inbound', '10.89.129.131', "
	                "'255.255.255.255', '0.0.0.0', '0.0.0.0', 1, 2),"
	                "('authentication', 'include', 'telnet', 'inbound', '10.89.129.131', "
	                "'255.255.255.255', '0.0.0.0', '0.0.0.0', 1, 3),"
	                "('authentication', 'include', 'udp/53', 'inbound', '0.0.0.0', "
	                "'0.0.0.0', '0.0.0.0', '0.0.0.0', 2, 4),"
	                "('accounting', 'include', 'any', 'inbound', '0.0.0.0', '0.0.0.0', "
	                "'0.0.0.0', '0.0.0.0', 1, 5),"
	                "('authentication', 'include', 'tcp/8080', 'inbound', '10.89.129.0', "
	                "'255.255.255.0', '0.0.0.0', '0.0.0.0', 2, 6);",
	                &err),
	        0);
	assert_int_equal(uauth_config_load(f->db, &cfg, &err), 0);
	assert_string_equal(cfg.hostname, "pixfirewall");
	assert_int_equal(cfg.timeout_s, 300);
	assert_false(cfg.inactivity);
	assert_int_equal(cfg.port, UAUTH_PORT);
	assert_int_equal(cfg.port_http, 0);
	assert_int_equal(cfg.nrules, 5); /* udp/53 and the accounting rule are not ours */
	assert_false(cfg.rules[0].include);
	assert_int_equal(cfg.rules[1].service, UAUTH_SVC_HTTP);
	assert_int_equal(cfg.rules[1].local_addr, IP(10, 89, 129, 131));
	assert_int_equal(cfg.rules[1].local_mask, 0xffffffffu);
	assert_string_equal(cfg.rules[1].group, "AuthInbound");
	assert_int_equal(cfg.rules[4].service, UAUTH_SVC_TCP_PORT);
	assert_int_equal(cfg.rules[4].port, 8080);

	/* which group a redirected connection authenticates against */
	assert_int_equal(uauth_rule_lookup(&cfg, UAUTH_METHOD_HTTP, IP(192, 168, 1, 2),
	                                   IP(192, 168, 1, 11), IP(10, 89, 129, 131), 80, group,
	                                   sizeof(group)),
	                 1);
	assert_string_equal(group, "AuthInbound");
	assert_int_equal(uauth_rule_lookup(&cfg, UAUTH_METHOD_TELNET, IP(192, 168, 1, 66),
	                                   IP(192, 168, 1, 11), IP(10, 89, 129, 131), 23, group,
	                                   sizeof(group)),
	                 0); /* excluded */
	assert_int_equal(uauth_rule_lookup(&cfg, UAUTH_METHOD_HTTP, IP(192, 168, 1, 2),
	                                   IP(192, 168, 1, 12), IP(10, 89, 129, 140), 8080, group,
	                                   sizeof(group)),
	                 1);
	assert_string_equal(group, "LOCAL");
	assert_int_equal(uauth_rule_lookup(&cfg, UAUTH_METHOD_HTTP, IP(192, 168, 1, 2),
	                                   IP(192, 168, 1, 12), IP(10, 89, 130, 1), 80, group,
	                                   sizeof(group)),
	                 -ENOENT);

	/* statics: port static first, then the address static (with a netmask) */
	assert_int_equal(
	        db_exec(f->db,
	                "INSERT INTO interface (id, hw_name, nameif, security) VALUES "
	                "(1, 'ethernet0', 'outside', 0), (2, 'ethernet1', 'inside', 100);"
	                "INSERT INTO nat_static (real_interface_id, mapped_interface_id, "
	                "mapped_address, real_address, netmask, position) VALUES "
	                "(2, 1, '192.168.1.11', '10.89.129.131', '255.255.255.255', 0),"
	                "(2, 1, '192.168.1.32', '10.89.129.160', '255.255.255.224', 1);"
	                "INSERT INTO nat_static (real_interface_id, mapped_interface_id, protocol, "
	                "mapped_address, mapped_port, real_address, real_port, position) VALUES "
	                "(2, 1, 'tcp', '192.168.1.11', 8080, '10.89.129.140', 80, 2);",
	                &err),
	        0);
	assert_int_equal(uauth_config_load(f->db, &cfg, &err), 0);
	assert_int_equal(cfg.nstatics, 3);
	{
		uint32_t a = IP(192, 168, 1, 11);
		uint16_t port = 80;

		assert_int_equal(uauth_static_map(&cfg, &a, &port), 0);
		assert_int_equal(a, IP(10, 89, 129, 131));
		assert_int_equal(port, 80);
		a = IP(192, 168, 1, 11);
		port = 8080;
		assert_int_equal(uauth_static_map(&cfg, &a, &port), 0);
		assert_int_equal(a, IP(10, 89, 129, 140));
		assert_int_equal(port, 80);
		a = IP(192, 168, 1, 45);
		port = 23;
		assert_int_equal(uauth_static_map(&cfg, &a, &port), 0);
		assert_int_equal(a, IP(10, 89, 129, 173));
		a = IP(192, 168, 1, 99);
		assert_int_equal(uauth_static_map(&cfg, &a, &port), -ENOENT);
		assert_int_equal(a, IP(192, 168, 1, 99));
	}

	/* no row: the PIX default 0:05:00 absolute */
	assert_int_equal(db_exec(f->db, "DELETE FROM timeout", &err), 0);
	assert_int_equal(uauth_config_load(f->db, &cfg, &err), 0);
	assert_int_equal(cfg.timeout_s, 300);
	assert_int_equal(db_exec(f->db,
	                         "INSERT INTO timeout (name, seconds, option) VALUES ('uauth', 0, "
	                         "'inactivity')",
	                         &err),
	                 0);
	assert_int_equal(uauth_config_load(f->db, &cfg, &err), 0);
	assert_int_equal(cfg.timeout_s, 0);
	assert_true(cfg.inactivity);
}

static void
test_format_text_from_api_json(void **state)
{
	char buf[1024];
	json_t *v = json_loads("{\"current\": 2, \"most_seen\": 3, \"in_progress\": 1, "
	                       "\"in_progress_most_seen\": 4, \"items\": ["
	                       "{\"id\": 1, \"user\": \"u1\", \"address\": \"10.0.0.1\", "
	                       "\"method\": \"telnet\", \"group\": null, "
	                       "\"since\": \"2026-01-01T00:00:00Z\", "
	                       "\"expires\": \"2100-01-01T00:00:00Z\", \"timeout_s\": 300, "
	                       "\"absolute\": false}]}",
	                       0, NULL);

	assert_non_null(v);
	uauth_format_text(v, buf, sizeof(buf));
	assert_non_null(strstr(buf, "Authenticated Users       2          3\n"));
	assert_non_null(strstr(buf, "Authen In Progress        1          4\n"));
	assert_non_null(strstr(buf, "user 'u1' at 10.0.0.1, authenticated\n"
	                            "   absolute   timeout: 0:00:00\n"
	                            "   inactivity timeout: "));
	json_decref(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_ipsec_show_and_json, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_cut_through_absolute_expiry, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_inactivity_follows_kernel, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_clear, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_set_failure_keeps_out, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_persistence, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_timeout_zero, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_many_entries, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_config_load_seed, setup, teardown),
	        cmocka_unit_test(test_format_text_from_api_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
