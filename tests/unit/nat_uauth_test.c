/* The uauth set writer (gateway/nat/nat.c) against the kernel's nftables, in a private network
 * namespace (the test unshares one, so it needs root like the other kernel-facing tests):
 * queued changes reach the set in few transactions, the last change per address wins, an add
 * restarts the element's timeout, elements the kernel expired or removed behind the writer's
 * back do not wedge it, and the synchronous variants report the kernel's answer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/core/log.h"
#include "gateway/nat/nat.h"

#define TABLE "pcuauthtest"

static void
nft(const char *cmd)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "nft '%s'", cmd);
	assert_int_equal(system(buf), 0);
}

static int
setup(void **state)
{
	struct nat_config cfg = {.table = TABLE};
	struct nat *nat = NULL;

	if (system("nft delete table ip " TABLE " 2>/dev/null") < 0)
		return -1;
	nft("add table ip " TABLE);
	nft("add set ip " TABLE " uauth { type ipv4_addr; flags timeout; }");
	if (nat_new(&cfg, &nat) < 0)
		return -1;
	*state = nat;
	return 0;
}

static int
teardown(void **state)
{
	nat_free(*state);
	return system("nft delete table ip " TABLE) == 0 ? 0 : -1;
}

/* The set as the kernel has it: the element for addr, or NULL. */
static const struct nat_uauth_elem *
find(const struct nat_uauth_elem *v, size_t n, uint32_t addr)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].addr == addr)
			return &v[i];
	return NULL;
}

static void
list(struct nat *nat, struct nat_uauth_elem **v, size_t *n)
{
	struct pc_err err = {0};

	assert_int_equal(nat_uauth_list(nat, v, n, &err), 0);
}

static void
test_many_in_few_transactions(void **state)
{
	struct nat *nat = *state;
	struct nat_uauth_elem *v = NULL;
	uint64_t ops = 0, batches = 0;
	size_t n = 0;

	for (uint32_t i = 1; i <= 2000; i++)
		assert_int_equal(nat_uauth_add(nat, 0x0a000000u + i, 0, NULL), 0);
	list(nat, &v, &n);
	assert_int_equal(n, 2000);
	for (uint32_t i = 1; i <= 2000; i++)
		assert_non_null(find(v, n, 0x0a000000u + i));
	free(v);
	nat_uauth_stats(nat, &ops, &batches);
	assert_int_equal(ops, 2000);
	/* the writer takes whatever has queued up while it waited for the kernel */
	assert_true(batches < ops / 4);

	for (uint32_t i = 1; i <= 2000; i += 2)
		assert_int_equal(nat_uauth_del(nat, 0x0a000000u + i, NULL), 0);
	list(nat, &v, &n);
	assert_int_equal(n, 1000);
	assert_null(find(v, n, 0x0a000001u));
	assert_non_null(find(v, n, 0x0a000002u));
	free(v);
}

static void
test_last_change_wins(void **state)
{
	struct nat *nat = *state;
	struct nat_uauth_elem *v = NULL;
	size_t n = 0;

	/* X: add, del, add (with a timeout); Y: add, del; Z: del of what was never there */
	assert_int_equal(nat_uauth_add(nat, 0x0b000001u, 0, NULL), 0);
	assert_int_equal(nat_uauth_add(nat, 0x0b000002u, 0, NULL), 0);
	assert_int_equal(nat_uauth_del(nat, 0x0b000001u, NULL), 0);
	assert_int_equal(nat_uauth_del(nat, 0x0b000002u, NULL), 0);
	assert_int_equal(nat_uauth_del(nat, 0x0b000003u, NULL), 0);
	assert_int_equal(nat_uauth_add(nat, 0x0b000001u, 300, NULL), 0);
	list(nat, &v, &n);
	assert_int_equal(n, 1);
	assert_non_null(find(v, n, 0x0b000001u));
	assert_int_equal(find(v, n, 0x0b000001u)->timeout_ms, 300000);
	free(v);
	assert_int_equal(nat_uauth_add(nat, 0, 10, NULL), -EINVAL);
}

static void
test_add_restarts_timeout(void **state)
{
	struct nat *nat = *state;
	struct nat_uauth_elem *v = NULL;
	size_t n = 0;

	assert_int_equal(nat_uauth_add(nat, 0x0c000001u, 100, NULL), 0);
	list(nat, &v, &n);
	assert_int_equal(find(v, n, 0x0c000001u)->timeout_ms, 100000);
	free(v);
	/* a second login: the element is replaced with the new timeout, in a later transaction */
	assert_int_equal(nat_uauth_add(nat, 0x0c000001u, 200, NULL), 0);
	list(nat, &v, &n);
	assert_int_equal(n, 1);
	assert_int_equal(find(v, n, 0x0c000001u)->timeout_ms, 200000);
	assert_true(find(v, n, 0x0c000001u)->expires_ms > 150000);
	free(v);
}

static void
test_changed_behind_its_back(void **state)
{
	struct nat *nat = *state;
	struct nat_uauth_elem *v = NULL;
	size_t n = 0;

	/* the kernel expires A; someone else deletes B: the writer believes both are there */
	assert_int_equal(nat_uauth_add(nat, 0x0d000001u, 1, NULL), 0);
	assert_int_equal(nat_uauth_add(nat, 0x0d000002u, 0, NULL), 0);
	nat_uauth_sync(nat);
	nft("delete element ip " TABLE " uauth { 13.0.0.2 }");
	sleep(2);
	list(nat, &v, &n);
	assert_null(find(v, n, 0x0d000001u));
	free(v);
	/* re-adding A and deleting B must still work (the batch's delete of A would fail) */
	assert_int_equal(nat_uauth_add(nat, 0x0d000001u, 0, NULL), 0);
	assert_int_equal(nat_uauth_del(nat, 0x0d000002u, NULL), 0);
	assert_int_equal(nat_uauth_add(nat, 0x0d000003u, 0, NULL), 0);
	list(nat, &v, &n);
	assert_int_equal(n, 2);
	assert_non_null(find(v, n, 0x0d000001u));
	assert_int_equal(find(v, n, 0x0d000001u)->timeout_ms, 0);
	assert_non_null(find(v, n, 0x0d000003u));
	free(v);

	/* the set disappears (table flushed by someone): changes are refused and logged, and the
	 * writer recovers once the set is back */
	nft("delete set ip " TABLE " uauth");
	assert_int_equal(nat_uauth_add(nat, 0x0d000004u, 0, NULL), 0);
	nat_uauth_sync(nat);
	nft("add set ip " TABLE " uauth { type ipv4_addr; flags timeout; }");
	assert_int_equal(nat_uauth_add(nat, 0x0d000005u, 0, NULL), 0);
	list(nat, &v, &n);
	assert_int_equal(n, 1);
	assert_non_null(find(v, n, 0x0d000005u));
	free(v);
}

static void
test_now_variants(void **state)
{
	struct nat *nat = *state;
	struct nat_uauth_elem *v = NULL;
	struct pc_err err = {0};
	size_t n = 0;

	assert_int_equal(nat_uauth_add_now(nat, 0x0e000001u, 50, &err), 0);
	assert_int_equal(nat_uauth_add_now(nat, 0x0e000001u, 60, &err), 0);
	list(nat, &v, &n);
	assert_int_equal(n, 1);
	assert_int_equal(find(v, n, 0x0e000001u)->timeout_ms, 60000);
	free(v);
	assert_int_equal(nat_uauth_del_now(nat, 0x0e000001u, &err), 0);
	assert_int_equal(nat_uauth_del_now(nat, 0x0e000001u, &err), -ENOENT);
	assert_int_equal(err.kind, PC_ERR_NOTFOUND);
	assert_non_null(strstr(err.msg, "14.0.0.1 is not in the set"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_many_in_few_transactions, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_last_change_wins, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_add_restarts_timeout, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_changed_behind_its_back, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_now_variants, setup, teardown),
	};

	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "nat_uauth_test: unshare(CLONE_NEWNET): %s (needs root)\n",
		        strerror(errno));
		return 1;
	}
	log_set_all_levels(LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
