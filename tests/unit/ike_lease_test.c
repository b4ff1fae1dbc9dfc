/* Mode Config leases in memory (gateway/ike/ike_lease.c): the order addresses are handed out
 * in, against a reference model over random takes and releases; what reaches ip_lease; a
 * restart; a reload with tunnels up; a flush that cannot get the database and catches up. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "gateway/core/loop.h"
#include "gateway/ike/ike.h"
#include "gateway/ike/ike_int.h"

#define BASE 0x0a000001u /* 10.0.0.1 */

static struct {
	char path[64];
	struct db *db;
	struct loop *loop;
	struct ike *ike;
	int64_t pool_id;
} T;

static void
open_ike(void)
{
	if (T.loop == NULL)
		assert_int_equal(loop_new(&T.loop), 0);
	if (ike_new(T.loop, T.db, NULL, &T.ike) < 0)
		fail_msg("ike_new failed");
}

static int
setup_pool(const char *end)
{
	struct pc_err err = {0};
	char sql[256];
	int fd;

	memset(&T, 0, sizeof(T));
	snprintf(T.path, sizeof(T.path), "/tmp/pc-lease-XXXXXX");
	fd = mkstemp(T.path);
	if (fd < 0)
		return -1;
	close(fd);
	unlink(T.path);
	snprintf(sql, sizeof(sql),
	         "INSERT INTO ip_pool (name, start_address, end_address) VALUES ('P', "
	         "'10.0.0.1', '%s')",
	         end);
	if (db_open(T.path, &T.db, &err) < 0 || db_exec(T.db, sql, &err) < 0) {
		fprintf(stderr, "setup: %s\n", err.msg);
		return -1;
	}
	T.pool_id = sqlite3_last_insert_rowid(db_sqlite(T.db));
	open_ike();
	return 0;
}

static int
setup4(void **state)
{
	return setup_pool("10.0.0.4");
}

static int
setup16(void **state)
{
	return setup_pool("10.0.0.16");
}

static int
teardown(void **state)
{
	ike_free(T.ike);
	loop_free(T.loop);
	db_close(T.db);
	unlink(T.path);
	return 0;
}

static void
sa_init(struct ike_sa *sa, const char *user)
{
	memset(sa, 0, sizeof(*sa));
	sa->ike = T.ike;
	sa->user = (char *)user;
	sa->peer.sin_family = AF_INET;
	sa->peer.sin_addr.s_addr = htonl(0xc0a80102);
}

/* the address user gets, as an offset in the pool; -errno when none */
static int
take(struct ike_sa *sa, const char *user)
{
	int r;

	sa_init(sa, user);
	r = ike_lease_take(sa, T.pool_id);
	return r < 0 ? r : (int)(sa->addr - BASE);
}

static int
count(const char *sql)
{
	sqlite3_stmt *st;
	int n = -1;

	assert_int_equal(db_prepare(T.db, sql, &st, NULL), 0);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void
test_order(void **state)
{
	struct ike_sa a, b, c, d, e;

	assert_int_equal(take(&a, "alice"), 0);
	assert_int_equal(take(&b, "bob"), 1);
	ike_lease_release(&a);
	assert_int_equal(a.addr, 0);
	/* never-leased addresses before alice's released one */
	assert_int_equal(take(&c, "carol"), 2);
	assert_int_equal(take(&d, "dave"), 3);
	/* alice is back: her address */
	assert_int_equal(take(&a, "alice"), 0);
	/* full */
	assert_int_equal(take(&e, "eve"), -ENOSPC);
	assert_int_equal(ike_lease_active(T.ike), 4);
	/* released in the order d, b: a new user gets the one released longest ago */
	ike_lease_release(&d);
	ike_lease_release(&b);
	assert_int_equal(take(&e, "eve"), 3);
	/* bob comes back: .2 is still his */
	assert_int_equal(take(&b, "bob"), 1);
	/* dave's address went to eve: he gets what is free (nothing) */
	assert_int_equal(take(&d, "dave"), -ENOSPC);
	ike_lease_release(&e);
	assert_int_equal(take(&d, "dave"), 3);
}

/* The reference: the same rules written the slow way. */
struct model {
	int state[16]; /* 0 never, 1 released, 2 active */
	int owner[16]; /* user index, -1 none */
	int relseq[16];
	int last[40]; /* per user: the address they released last, -1 none */
	int seq;
};

static int
model_take(struct model *m, int u)
{
	int pick = -1;

	if (m->last[u] >= 0 && m->state[m->last[u]] == 1 && m->owner[m->last[u]] == u)
		pick = m->last[u];
	for (int i = 0; pick < 0 && i < 16; i++)
		if (m->state[i] == 0)
			pick = i;
	if (pick < 0)
		for (int i = 0; i < 16; i++)
			if (m->state[i] == 1 && (pick < 0 || m->relseq[i] < m->relseq[pick]))
				pick = i;
	if (pick < 0)
		return -ENOSPC;
	if (m->owner[pick] >= 0 && m->owner[pick] != u && m->last[m->owner[pick]] == pick)
		m->last[m->owner[pick]] = -1;
	m->owner[pick] = u;
	m->state[pick] = 2;
	return pick;
}

static void
model_release(struct model *m, int a)
{
	m->state[a] = 1;
	m->relseq[a] = ++m->seq;
	m->last[m->owner[a]] = a;
}

static void
test_random_against_model(void **state)
{
	static char names[40][16];
	struct ike_sa sa[40];
	bool up[40] = {0};
	struct model m;

	memset(&m, 0, sizeof(m));
	for (int i = 0; i < 16; i++)
		m.owner[i] = -1;
	for (int u = 0; u < 40; u++) {
		m.last[u] = -1;
		snprintf(names[u], sizeof(names[u]), "user%d", u);
	}
	srand(7);
	for (int step = 0; step < 20000; step++) {
		int u = rand() % 40;

		if (up[u]) {
			model_release(&m, (int)(sa[u].addr - BASE));
			ike_lease_release(&sa[u]);
			up[u] = false;
		} else {
			int want = model_take(&m, u), got = take(&sa[u], names[u]);

			if (want != got)
				fail_msg("step %d, %s: expected %d, got %d", step, names[u], want,
				         got);
			up[u] = got >= 0;
		}
		if (step % 5000 == 4999) {
			/* what is in the table agrees with the memory, also after a reload */
			struct pc_err err = {0};

			assert_int_equal(ike_lease_sync(T.ike), 0);
			assert_int_equal(
			        count("SELECT count(*) FROM ip_lease WHERE state = 'active'"),
			        (int)ike_lease_active(T.ike));
			assert_int_equal(ike_reload(T.ike, &err), 0);
		}
	}
}

static void
test_table_and_restart(void **state)
{
	struct ike_sa a, b, c;

	assert_int_equal(take(&a, "alice"), 0);
	assert_int_equal(take(&b, "bob"), 1);
	ike_lease_release(&b);
	/* written behind: nothing yet, then everything in one go */
	assert_int_equal(count("SELECT count(*) FROM ip_lease"), 0);
	assert_int_equal(ike_lease_sync(T.ike), 0);
	assert_int_equal(count("SELECT count(*) FROM ip_lease WHERE address = '10.0.0.1' AND "
	                       "username = 'alice' AND state = 'active' AND peer_address = "
	                       "'192.168.1.2' AND released_at IS NULL"),
	                 1);
	assert_int_equal(count("SELECT count(*) FROM ip_lease WHERE address = '10.0.0.2' AND "
	                       "username = 'bob' AND state = 'released' AND released_at IS NOT "
	                       "NULL"),
	                 1);
	/* alice still connected when the process ends without taking her tunnel down (as in a
	 * crash: these SAs are not in the engine's table): the next start releases her lease and
	 * remembers it */
	ike_free(T.ike);
	assert_int_equal(count("SELECT count(*) FROM ip_lease WHERE state = 'active'"), 1);
	open_ike();
	assert_int_equal(count("SELECT count(*) FROM ip_lease WHERE state = 'active'"), 0);
	assert_int_equal(take(&c, "carol"), 2);
	assert_int_equal(take(&b, "bob"), 1);
	assert_int_equal(take(&a, "alice"), 0);
	/* a clean shutdown writes what is pending */
	ike_free(T.ike);
	T.ike = NULL;
	assert_int_equal(count("SELECT count(*) FROM ip_lease WHERE state = 'active'"), 3);
	open_ike();
}

static void
test_reload_keeps_active(void **state)
{
	struct ike_sa a, b;
	struct pc_err err = {0};

	assert_int_equal(take(&a, "alice"), 0);
	assert_int_equal(ike_reload(T.ike, &err), 0);
	/* alice's address stays hers across the reload */
	assert_int_equal(take(&b, "bob"), 1);
	ike_lease_release(&a);
	assert_int_equal(ike_lease_active(T.ike), 1);
	/* a pool grown by the reload: the new addresses are there */
	assert_int_equal(db_exec(T.db, "UPDATE ip_pool SET end_address = '10.0.0.20'", &err), 0);
	assert_int_equal(ike_reload(T.ike, &err), 0);
	for (int i = 2; i < 20; i++) {
		struct ike_sa s;
		char u[16];

		snprintf(u, sizeof(u), "u%d", i);
		assert_int_equal(take(&s, u), i);
	}
}

static void
test_busy_database(void **state)
{
	struct db *other;
	struct pc_err err = {0};
	struct ike_sa a, b;
	uint64_t t0;

	assert_int_equal(take(&a, "alice"), 0);
	/* another connection holds the write lock (an API change waiting for the engine, say):
	 * the engine does not wait for it, the change stays queued */
	assert_int_equal(db_open(T.path, &other, &err), 0);
	assert_int_equal(db_begin(other, &err), 0);
	t0 = loop_now_ms();
	assert_int_equal(ike_lease_sync(T.ike), -EBUSY);
	/* not after the busy timeout: it did not wait on the lock at all */
	assert_true(loop_now_ms() - t0 < DB_BUSY_TIMEOUT_MS / 2);
	/* a reload reads the table and puts the queued changes back on top: alice keeps .1 */
	assert_int_equal(ike_reload(T.ike, &err), 0);
	assert_int_equal(ike_lease_active(T.ike), 1);
	assert_int_equal(take(&b, "bob"), 1);
	db_rollback(other);
	db_close(other);
	/* nothing was lost */
	assert_int_equal(ike_lease_sync(T.ike), 0);
	assert_int_equal(count("SELECT count(*) FROM ip_lease WHERE state = 'active'"), 2);
	assert_int_equal(count("SELECT count(*) FROM ip_lease WHERE address = '10.0.0.1' AND "
	                       "username = 'alice'"),
	                 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_order, setup4, teardown),
	        cmocka_unit_test_setup_teardown(test_random_against_model, setup16, teardown),
	        cmocka_unit_test_setup_teardown(test_table_and_restart, setup4, teardown),
	        cmocka_unit_test_setup_teardown(test_reload_keeps_active, setup4, teardown),
	        cmocka_unit_test_setup_teardown(test_busy_database, setup4, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
