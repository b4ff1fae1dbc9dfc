/* The IKE SA table (gateway/ike/ike.c): SAs found by cookies, id and peer address through the
 * hash indexes as the table grows past 10,000 SAs; the half-open count kept by
 * ike_sa_set_state() and ike_sa_kill() against a recount; the half-open limit; and the lifecycle
 * of the blocks an SA allocates only while it needs them (phase 1, exchange IV slots, names).
 * The engine is in memory, without sockets or a database, like the fuzz harness's. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/core/log.h"
#include "gateway/ike/ike_int.h"

#define MANY 10000

static int
setup(void **state)
{
	struct ike *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	assert_int_equal(ike_crypto_init(), 0);
	e->fd500 = e->fd4500 = -1;
	e->half_open_s = IKE_HALF_OPEN_S;
	e->rtx_base_ms = IKE_RETRANS_BASE_MS;
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct ike *e = *state;

	while (e->sas != NULL)
		ike_sa_kill(e->sas, "test done", false);
	assert_int_equal(e->nsas, 0);
	assert_int_equal(e->n_half_open, 0);
	free(e->by_cookie);
	free(e->by_id);
	free(e->by_peer);
	free(e);
	return 0;
}

static void
cookie(uint8_t ci[8], uint32_t i)
{
	/* one byte differs between neighbours: the index must not rely on well-spread cookies */
	memset(ci, 0x5a, 8);
	memcpy(ci + 4, &i, 4);
}

static struct sockaddr_in
addr(uint32_t host, uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};

	a.sin_addr.s_addr = htonl(host);
	return a;
}

/* What n_half_open should be. */
static int
recount_half_open(struct ike *e)
{
	int n = 0;

	for (struct ike_sa *sa = e->sas; sa != NULL; sa = sa->next)
		n += ike_sa_half_open(sa);
	return n;
}

static int
count_peer(struct ike *e, uint32_t host)
{
	int n = 0;

	for (struct ike_sa *sa = ike_sa_peer_first(e, htonl(host)); sa != NULL;
	     sa = ike_sa_peer_next(sa)) {
		assert_int_equal(sa->peer.sin_addr.s_addr, htonl(host));
		n++;
	}
	return n;
}

/* Creates an SA and takes it out of the half-open states (as an authenticated one). */
static struct ike_sa *
new_established(struct ike *e, uint32_t i, uint32_t host)
{
	struct sockaddr_in p = addr(host, 500), l = addr(0xc0a80101, 500);
	uint8_t ci[8];
	struct ike_sa *sa;

	cookie(ci, i);
	sa = ike_sa_new(e, ci, &p, &l);
	assert_non_null(sa);
	assert_non_null(sa->p1); /* phase 1 block from the start */
	assert_true(ike_sa_half_open(sa));
	ike_sa_set_state(sa, ST_P1_DONE);
	ike_sa_p1_done(sa);
	assert_null(sa->p1);
	ike_sa_set_state(sa, ST_ESTAB);
	return sa;
}

static void
test_many_sas_found(void **state)
{
	struct ike *e = *state;
	static struct ike_sa *sas[MANY];
	uint8_t ci[8], wrong[8];

	for (uint32_t i = 0; i < MANY; i++)
		sas[i] = new_established(e, i, 0xac100000 + i % 100); /* 100 SAs per address */
	assert_int_equal(e->nsas, MANY);
	assert_int_equal(e->n_half_open, 0);
	/* the indexes grew with the table: chains of 2 on average at most */
	assert_true(e->nbuckets * 2 >= MANY);
	for (uint32_t i = 0; i < MANY; i++) {
		cookie(ci, i);
		assert_ptr_equal(ike_sa_find(e, ci, sas[i]->cr), sas[i]);
		assert_ptr_equal(ike_sa_find(e, ci, NULL), sas[i]);
		assert_ptr_equal(ike_sa_find_id(e, sas[i]->id), sas[i]);
		memcpy(wrong, sas[i]->cr, 8);
		wrong[0] ^= 1;
		assert_null(ike_sa_find(e, ci, wrong));
	}
	cookie(ci, MANY);
	assert_null(ike_sa_find(e, ci, NULL));
	assert_null(ike_sa_find_id(e, 0));
	assert_null(ike_sa_find_id(e, e->next_id + 1));
	for (uint32_t a = 0; a < 100; a++)
		assert_int_equal(count_peer(e, 0xac100000 + a), MANY / 100);
	assert_int_equal(count_peer(e, 0xac100000 + 100), 0);

	/* every other SA goes; the rest are still found, the gone ones are not */
	for (uint32_t i = 0; i < MANY; i += 2) {
		ike_sa_kill(sas[i], "test", false);
		sas[i] = NULL;
	}
	assert_int_equal(e->nsas, MANY / 2);
	for (uint32_t i = 0; i < MANY; i++) {
		cookie(ci, i);
		if (sas[i] == NULL) {
			assert_null(ike_sa_find(e, ci, NULL));
			continue;
		}
		assert_ptr_equal(ike_sa_find(e, ci, sas[i]->cr), sas[i]);
		assert_ptr_equal(ike_sa_find_id(e, sas[i]->id), sas[i]);
	}
	for (uint32_t a = 0; a < 100; a++)
		assert_int_equal(count_peer(e, 0xac100000 + a), a % 2 ? MANY / 100 : 0);
	/* the list holds exactly the live SAs */
	{
		int n = 0;

		for (struct ike_sa *sa = e->sas; sa != NULL; sa = sa->next) {
			assert_true(sa->next == NULL || sa->next->prev == sa);
			n++;
		}
		assert_int_equal(n, MANY / 2);
	}
}

static void
test_same_initiator_cookie(void **state)
{
	struct ike *e = *state;
	struct sockaddr_in p = addr(0xac100001, 500), l = addr(0xc0a80101, 500);
	uint8_t ci[8];
	struct ike_sa *a, *b;

	/* two SAs with one initiator cookie differ in the responder cookie */
	cookie(ci, 7);
	a = ike_sa_new(e, ci, &p, &l);
	b = ike_sa_new(e, ci, &p, &l);
	assert_non_null(a);
	assert_non_null(b);
	assert_memory_not_equal(a->cr, b->cr, 8);
	assert_ptr_equal(ike_sa_find(e, ci, a->cr), a);
	assert_ptr_equal(ike_sa_find(e, ci, b->cr), b);
	ike_sa_kill(b, "test", false);
	assert_ptr_equal(ike_sa_find(e, ci, NULL), a);
	assert_int_equal(e->n_half_open, 1);
}

static void
test_half_open_count_and_limit(void **state)
{
	struct ike *e = *state;
	struct sockaddr_in l = addr(0xc0a80101, 500);
	static struct ike_sa *ho[IKE_MAX_HALF_OPEN];
	struct ike_sa *est[8];
	uint8_t ci[8];

	for (uint32_t i = 0; i < 8; i++)
		est[i] = new_established(e, 100000 + i, 0x0a000001);
	for (uint32_t i = 0; i < IKE_MAX_HALF_OPEN; i++) {
		struct sockaddr_in p = addr(0xac110000 + i, 500);

		cookie(ci, i);
		ho[i] = ike_sa_new(e, ci, &p, &l);
		assert_non_null(ho[i]);
		/* Aggressive Mode or Main Mode, both half-open */
		ike_sa_set_state(ho[i], i % 2 ? ST_MM_SENT2 : ST_AM_SENT2);
		assert_int_equal(e->n_half_open, (int)i + 1);
	}
	assert_int_equal(e->n_half_open, recount_half_open(e));
	/* the limit: no more half-open SAs, established ones do not count */
	{
		struct sockaddr_in p = addr(0xac120000, 500);

		cookie(ci, 999999);
		assert_null(ike_sa_new(e, ci, &p, &l));
	}
	assert_int_equal(e->nsas, IKE_MAX_HALF_OPEN + 8);
	/* MM_SENT2 -> MM_SENT4 stays half-open; authentication leaves it */
	ike_sa_set_state(ho[1], ST_MM_SENT4);
	assert_int_equal(e->n_half_open, IKE_MAX_HALF_OPEN);
	ike_sa_set_state(ho[1], ST_P1_DONE);
	ike_sa_p1_done(ho[1]);
	assert_int_equal(e->n_half_open, IKE_MAX_HALF_OPEN - 1);
	/* deletes: a half-open one lowers the count, an established one does not */
	ike_sa_kill(ho[0], "test", false);
	ike_sa_kill(est[0], "test", false);
	ike_sa_kill(ho[1], "test", false);
	assert_int_equal(e->n_half_open, IKE_MAX_HALF_OPEN - 2);
	assert_int_equal(e->n_half_open, recount_half_open(e));
	/* room again for two */
	for (uint32_t i = 0; i < 2; i++) {
		struct sockaddr_in p = addr(0xac130000 + i, 500);

		cookie(ci, 200000 + i);
		assert_non_null(ike_sa_new(e, ci, &p, &l));
	}
	cookie(ci, 200002);
	assert_null(ike_sa_new(e, ci, &l, &l));
	assert_int_equal(e->n_half_open, IKE_MAX_HALF_OPEN);
	assert_int_equal(e->n_half_open, recount_half_open(e));
}

static void
test_peer_move(void **state)
{
	struct ike *e = *state;
	struct ike_sa *sa = new_established(e, 1, 0xac100001);
	struct sockaddr_in moved = addr(0xac100002, 4500);

	assert_int_equal(count_peer(e, 0xac100001), 1);
	/* NAT rebinding: another address; only the port: same chain */
	ike_sa_set_peer(sa, &moved);
	assert_int_equal(count_peer(e, 0xac100001), 0);
	assert_int_equal(count_peer(e, 0xac100002), 1);
	moved.sin_port = htons(4501);
	ike_sa_set_peer(sa, &moved);
	assert_int_equal(count_peer(e, 0xac100002), 1);
	assert_int_equal(ntohs(sa->peer.sin_port), 4501);
	ike_sa_kill(sa, "test", false);
	assert_int_equal(count_peer(e, 0xac100002), 0);
}

static void
test_exchange_slots_lifecycle(void **state)
{
	struct ike *e = *state;
	struct ike_sa *sa = new_established(e, 1, 0xac100001);
	struct ike_xchg *x;

	sa->hash = IKE_HASH_SHA1;
	sa->hlen = ike_hash_len(sa->hash);
	sa->enc = IKE_ENC_DES;
	sa->blk = ike_enc_blocklen(sa->enc);
	assert_null(sa->xchg);
	assert_null(ike_xchg_get(sa, 1, IKE_EX_INFO, false));
	assert_null(sa->xchg); /* a lookup allocates nothing */
	x = ike_xchg_get(sa, 1, IKE_EX_TRANSACTION, true);
	assert_non_null(x);
	assert_non_null(sa->xchg);
	assert_ptr_equal(ike_xchg_get(sa, 1, IKE_EX_TRANSACTION, false), x);
	assert_non_null(ike_xchg_get(sa, 2, IKE_EX_QUICK, true));
	ike_xchg_drop(sa, 1);
	assert_non_null(sa->xchg); /* exchange 2 is still open */
	assert_null(ike_xchg_get(sa, 1, IKE_EX_TRANSACTION, false));
	ike_xchg_drop(sa, 2);
	assert_null(sa->xchg);
	/* more exchanges than slots: the oldest is recycled, the block stays one block */
	for (uint32_t m = 1; m <= IKE_MAX_XCHG + 2; m++)
		assert_non_null(ike_xchg_get(sa, m, IKE_EX_INFO, true));
	assert_null(ike_xchg_get(sa, 1, IKE_EX_INFO, false));
	assert_non_null(ike_xchg_get(sa, IKE_MAX_XCHG + 2, IKE_EX_INFO, false));
	/* ike_sa_kill frees an open block (ASan reports a leak otherwise) */
	ike_sa_kill(sa, "test", false);
}

static void
test_names_and_blocks_freed(void **state)
{
	struct ike *e = *state;
	struct sockaddr_in p = addr(0xac100001, 500), l = addr(0xc0a80101, 500);
	uint8_t ci[8];
	struct ike_sa *sa;

	cookie(ci, 3);
	sa = ike_sa_new(e, ci, &p, &l);
	assert_non_null(sa);
	assert_string_equal(ike_sa_user(sa), "");
	assert_string_equal(ike_sa_group(sa), "");
	assert_int_equal(ike_sa_set_group(sa, "vpn3000"), 0);
	assert_int_equal(ike_sa_set_user(sa, "cisco_customer"), 0);
	assert_string_equal(ike_sa_group(sa), "vpn3000");
	assert_string_equal(ike_sa_user(sa), "cisco_customer");
	/* an Xauth retry with another user replaces the name; "" clears it */
	assert_int_equal(ike_sa_set_user(sa, "other"), 0);
	assert_string_equal(ike_sa_user(sa), "other");
	assert_int_equal(ike_sa_set_user(sa, ""), 0);
	assert_null(sa->user);
	/* a half-open SA killed with its phase 1 block, DH buffers, SAi_b, a Quick Mode block and a
	 * retransmission copy: all freed (ASan checks) */
	sa->p1->sai_b = malloc(16);
	sa->p1->sai_len = 16;
	sa->p1->idi_b = malloc(8);
	sa->qm = calloc(1, sizeof(*sa->qm));
	sa->rtx = malloc(32);
	sa->rtx_len = 32;
	sa->last_out = malloc(32);
	sa->last_out_len = 32;
	assert_int_equal(e->n_half_open, 1);
	ike_sa_kill(sa, "test", false);
	assert_int_equal(e->n_half_open, 0);
	assert_int_equal(e->nsas, 0);
	assert_null(e->sas);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_many_sas_found, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_same_initiator_cookie, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_half_open_count_and_limit, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_peer_move, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_exchange_slots_lifecycle, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_names_and_blocks_freed, setup, teardown),
	};

	log_set_all_levels(LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
