/* XFRM backend: every netlink message is built and parsed back attribute by attribute; malformed
 * replies are rejected with a reason. With a kernel that has ESP (the vm test group boots one),
 * the backend installs, reads back and removes real states and policies in a scratch namespace;
 * without it, the probe must explain what is missing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/ipsec/xfrm.h"

static uint8_t buf[XFRM_MSG_BUF];

static void
sample(struct ipsec_sa_params *p, enum ipsec_enc enc, size_t ekey, enum ipsec_auth auth,
       size_t akey, bool encap)
{
	memset(p, 0, sizeof(*p));
	p->enc = enc;
	p->auth = auth;
	p->in.spi = 0x11223344;
	p->out.spi = 0x55667788;
	p->in.enc_key_len = p->out.enc_key_len = ekey;
	p->in.auth_key_len = p->out.auth_key_len = akey;
	memset(p->in.enc_key, 0xa1, ekey);
	memset(p->out.enc_key, 0xb2, ekey);
	memset(p->in.auth_key, 0xc3, akey);
	memset(p->out.auth_key, 0xd4, akey);
	p->local.sin_family = AF_INET;
	p->local.sin_addr.s_addr = htonl(0xc0a80101); /* 192.168.1.1 */
	p->local.sin_port = htons(encap ? 4500 : 500);
	p->peer.sin_family = AF_INET;
	p->peer.sin_addr.s_addr = htonl(0xc0a80102); /* 192.168.1.2 */
	p->peer.sin_port = htons(encap ? 34567 : 500);
	p->udp_encap = encap;
	p->remote_ts[0] = (struct ipsec_prefix){0x0a5981c8, 32}; /* 10.89.129.200/32 */
	p->n_remote_ts = 1;
	p->local_ts[0] = (struct ipsec_prefix){0, 0};
	p->n_local_ts = 1;
	p->soft_lifetime_s = 25920;
	p->hard_lifetime_s = 28800;
	p->hard_lifetime_bytes = 4608000ull * 1024;
	p->replay_window = 64;
}

static void
test_newsa_roundtrip_des_md5(void **state)
{
	struct ipsec_sa_params p;
	struct xfrm_sa_view v;
	char why[128];
	int len;

	sample(&p, IPSEC_ENC_DES, 8, IPSEC_AUTH_HMAC_MD5_96, 16, false);
	len = xfrm_build_newsa(buf, sizeof(buf), 7, &p, XFRM_PC_IN, XFRM_PC_REQID_BASE | 3);
	assert_true(len > 0);
	assert_int_equal(xfrm_parse_sa(buf, (size_t)len, &v, why, sizeof(why)), 0);
	/* inbound: from the peer to us, our SPI */
	assert_int_equal(v.spi, 0x11223344);
	assert_int_equal(v.src, 0xc0a80102);
	assert_int_equal(v.dst, 0xc0a80101);
	assert_int_equal(v.mode, XFRM_MODE_TUNNEL);
	assert_int_equal(v.reqid, XFRM_PC_REQID_BASE | 3);
	assert_int_equal(v.replay_window, 32); /* legacy field caps at 32 */
	assert_string_equal(v.enc_name, "cbc(des)");
	assert_int_equal(v.enc_key_bits, 64);
	assert_string_equal(v.auth_name, "hmac(md5)");
	assert_int_equal(v.auth_key_bits, 128);
	assert_int_equal(v.auth_trunc_bits, 96);
	assert_false(v.has_encap);
	assert_int_equal(v.soft_add_s, 25920);
	assert_int_equal(v.hard_add_s, 28800);
	assert_int_equal(v.hard_bytes, 4608000ull * 1024);
	assert_int_equal(v.soft_bytes, XFRM_INF);

	len = xfrm_build_newsa(buf, sizeof(buf), 8, &p, XFRM_PC_OUT, XFRM_PC_REQID_BASE | 3);
	assert_int_equal(xfrm_parse_sa(buf, (size_t)len, &v, why, sizeof(why)), 0);
	assert_int_equal(v.spi, 0x55667788);
	assert_int_equal(v.src, 0xc0a80101);
	assert_int_equal(v.dst, 0xc0a80102);
}

static void
test_newsa_every_algorithm(void **state)
{
	static const struct {
		enum ipsec_enc enc;
		size_t ekey;
		const char *ename;
		enum ipsec_auth auth;
		size_t akey;
		const char *aname;
		unsigned trunc;
	} cases[] = {
	        {IPSEC_ENC_3DES, 24, "cbc(des3_ede)", IPSEC_AUTH_HMAC_SHA1_96, 20, "hmac(sha1)",
	         96},
	        {IPSEC_ENC_AES_CBC, 16, "cbc(aes)", IPSEC_AUTH_HMAC_SHA1_96, 20, "hmac(sha1)", 96},
	        {IPSEC_ENC_AES_CBC, 24, "cbc(aes)", IPSEC_AUTH_HMAC_MD5_96, 16, "hmac(md5)", 96},
	        {IPSEC_ENC_AES_CBC, 32, "cbc(aes)", IPSEC_AUTH_HMAC_SHA256_128, 32, "hmac(sha256)",
	         128},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ipsec_sa_params p;
		struct xfrm_sa_view v;
		char why[128];
		int len;

		sample(&p, cases[i].enc, cases[i].ekey, cases[i].auth, cases[i].akey, true);
		len = xfrm_build_newsa(buf, sizeof(buf), 1, &p, XFRM_PC_OUT, XFRM_PC_REQID_BASE);
		assert_true(len > 0);
		assert_int_equal(xfrm_parse_sa(buf, (size_t)len, &v, why, sizeof(why)), 0);
		assert_string_equal(v.enc_name, cases[i].ename);
		assert_int_equal(v.enc_key_bits, cases[i].ekey * 8);
		assert_string_equal(v.auth_name, cases[i].aname);
		assert_int_equal(v.auth_key_bits, cases[i].akey * 8);
		assert_int_equal(v.auth_trunc_bits, cases[i].trunc);
		/* NAT-T: outbound ESP-in-UDP from our 4500 to the peer's NATed port */
		assert_true(v.has_encap);
		assert_int_equal(v.encap_type, 2);
		assert_int_equal(v.encap_sport, 4500);
		assert_int_equal(v.encap_dport, 34567);
	}
}

static void
test_newsa_rejects_oversized_key(void **state)
{
	struct ipsec_sa_params p;

	sample(&p, IPSEC_ENC_AES_CBC, 16, IPSEC_AUTH_HMAC_SHA1_96, 20, false);
	p.in.enc_key_len = IPSEC_MAX_ENC_KEY + 1;
	assert_int_equal(xfrm_build_newsa(buf, sizeof(buf), 1, &p, XFRM_PC_IN, 0), -EINVAL);
	assert_int_equal(xfrm_build_newsa(buf, 100, 1, &p, XFRM_PC_OUT, 0), -ENOSPC);
}

static void
test_policies(void **state)
{
	struct ipsec_sa_params p;
	struct xfrm_policy_view v;
	char why[128];
	int len;

	sample(&p, IPSEC_ENC_DES, 8, IPSEC_AUTH_HMAC_MD5_96, 16, false);
	p.local_ts[0] = (struct ipsec_prefix){0x0a598180, 25}; /* 10.89.129.128/25 */

	len = xfrm_build_newpolicy(buf, sizeof(buf), 1, &p, XFRM_POLICY_OUT, 0, 0, 0x50430009);
	assert_true(len > 0);
	assert_int_equal(xfrm_parse_policy(buf, (size_t)len, &v, why, sizeof(why)), 0);
	assert_int_equal(v.dir, XFRM_POLICY_OUT);
	assert_int_equal(v.sel_src, 0x0a598180);
	assert_int_equal(v.sel_src_plen, 25);
	assert_int_equal(v.sel_dst, 0x0a5981c8);
	assert_int_equal(v.sel_dst_plen, 32);
	assert_int_equal(v.n_tmpl, 1);
	assert_int_equal(v.tmpl_src, 0xc0a80101);
	assert_int_equal(v.tmpl_dst, 0xc0a80102);
	assert_int_equal(v.tmpl_reqid, 0x50430009);
	assert_int_equal(v.tmpl_mode, XFRM_MODE_TUNNEL);
	assert_int_equal(v.priority, XFRM_PC_PRIORITY);

	for (int d = 0; d < 2; d++) {
		uint8_t dir = d == 0 ? XFRM_POLICY_IN : XFRM_POLICY_FWD;

		len = xfrm_build_newpolicy(buf, sizeof(buf), 2, &p, dir, 0, 0, 0x50430009);
		assert_int_equal(xfrm_parse_policy(buf, (size_t)len, &v, why, sizeof(why)), 0);
		assert_int_equal(v.dir, dir);
		assert_int_equal(v.sel_src, 0x0a5981c8);
		assert_int_equal(v.sel_dst, 0x0a598180);
		assert_int_equal(v.tmpl_src, 0xc0a80102);
		assert_int_equal(v.tmpl_dst, 0xc0a80101);
	}
	assert_int_equal(xfrm_build_newpolicy(buf, sizeof(buf), 3, &p, XFRM_POLICY_OUT, 1, 0, 1),
	                 -EINVAL);
}

static void
test_small_messages(void **state)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	const struct xfrm_usersa_id *id;
	const struct xfrm_userpolicy_id *pid;
	const struct xfrm_userspi_info *spi;
	struct ipsec_prefix a = {0x0a5981c8, 32}, b = {0, 0};

	assert_true(xfrm_build_delsa(buf, sizeof(buf), 5, 0xc0a80101, 0x11223344) > 0);
	assert_int_equal(nlh->nlmsg_type, XFRM_MSG_DELSA);
	assert_true(nlh->nlmsg_flags & NLM_F_ACK);
	id = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(ntohl(id->spi), 0x11223344);
	assert_int_equal(ntohl(id->daddr.a4), 0xc0a80101);
	assert_int_equal(id->proto, IPPROTO_ESP);

	assert_true(xfrm_build_getsa(buf, sizeof(buf), 6, 0xc0a80101, 0x99) > 0);
	assert_int_equal(nlh->nlmsg_type, XFRM_MSG_GETSA);

	assert_true(xfrm_build_delpolicy(buf, sizeof(buf), 7, XFRM_POLICY_IN, &a, &b) > 0);
	assert_int_equal(nlh->nlmsg_type, XFRM_MSG_DELPOLICY);
	pid = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(pid->dir, XFRM_POLICY_IN);
	assert_int_equal(ntohl(pid->sel.saddr.a4), 0x0a5981c8);
	assert_int_equal(pid->sel.prefixlen_s, 32);
	assert_int_equal(pid->sel.prefixlen_d, 0);

	assert_true(xfrm_build_allocspi(buf, sizeof(buf), 8, 0xc0a80102, 0xc0a80101, 0) > 0);
	assert_int_equal(nlh->nlmsg_type, XFRM_MSG_ALLOCSPI);
	spi = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(ntohl(spi->info.saddr.a4), 0xc0a80102);
	assert_int_equal(ntohl(spi->info.id.daddr.a4), 0xc0a80101);
	assert_true(spi->min >= 0x100);
}

static void
test_parse_rejects_malformed(void **state)
{
	struct ipsec_sa_params p;
	struct xfrm_sa_view v;
	struct xfrm_policy_view pv;
	char why[128];
	int len;
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct nlattr *a;

	sample(&p, IPSEC_ENC_AES_CBC, 16, IPSEC_AUTH_HMAC_SHA1_96, 20, false);
	len = xfrm_build_newsa(buf, sizeof(buf), 1, &p, XFRM_PC_IN, 0);
	assert_int_equal(xfrm_parse_sa(buf, 10, &v, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "truncated"));
	assert_int_equal(xfrm_parse_policy(buf, (size_t)len, &pv, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "expected NEWPOLICY"));

	/* an algorithm attribute whose key length claims more than the attribute holds */
	a = (struct nlattr *)((uint8_t *)buf + NLMSG_HDRLEN +
	                      MNL_ALIGN(sizeof(struct xfrm_usersa_info)));
	assert_int_equal(mnl_attr_get_type(a), XFRMA_ALG_CRYPT);
	((struct xfrm_algo *)mnl_attr_get_payload(a))->alg_key_len = 4096;
	assert_int_equal(xfrm_parse_sa(buf, (size_t)len, &v, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "key longer than the attribute"));

	/* an attribute shorter than its struct */
	len = xfrm_build_newsa(buf, sizeof(buf), 1, &p, XFRM_PC_IN, 0);
	a->nla_len = 8;
	nlh->nlmsg_len = (uint32_t)((uint8_t *)a - buf) + 8;
	assert_int_equal(xfrm_parse_sa(buf, nlh->nlmsg_len, &v, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "too short"));
}

struct expiry {
	struct loop *loop;
	int soft, hard;
	uint64_t owner, handle;
};

static void
on_expiry(void *arg, uint64_t owner, uint64_t handle, enum ipsec_event ev)
{
	struct expiry *e = arg;

	e->owner = owner;
	e->handle = handle;
	if (ev == IPSEC_EV_SOFT_EXPIRE) {
		e->soft++;
	} else {
		e->hard++;
		loop_stop(e->loop);
	}
}

static void
on_give_up(struct loop *loop, void *arg)
{
	*(bool *)arg = true;
	loop_stop(loop);
}

/* Lifetimes enforced by the kernel: soft expiry is reported, hard expiry is reported and the
 * backend removes the pair (states and policies) itself. */
static void
kernel_expiry(void)
{
	struct expiry e = {0};
	struct ipsec_backend *be;
	struct ipsec_sa_params p;
	struct ipsec_sa_stats st;
	struct loop_timer *t;
	bool gave_up = false;
	char why[256];
	uint64_t h;

	assert_int_equal(loop_new(&e.loop), 0);
	assert_int_equal(ipsec_xfrm_new(e.loop, &be, why, sizeof(why)), 0);
	be->on_event = on_expiry;
	be->event_arg = &e;
	sample(&p, IPSEC_ENC_AES_CBC, 16, IPSEC_AUTH_HMAC_SHA1_96, 20, false);
	p.soft_lifetime_s = 1;
	p.hard_lifetime_s = 2;
	p.owner = 77;
	assert_int_equal(be->ops->sa_add(be, &p, &h), 0);
	t = loop_timer_add(e.loop, 10000, on_give_up, &gave_up);
	assert_non_null(t);
	assert_int_equal(loop_run(e.loop), 0);
	assert_false(gave_up);
	loop_timer_cancel(e.loop, t);
	assert_true(e.soft >= 1);
	assert_int_equal(e.hard, 1);
	assert_int_equal(e.owner, 77);
	assert_int_equal(e.handle, h);
	/* the backend already removed the pair: nothing left to delete or read */
	assert_int_equal(be->ops->sa_del(be, h), -ENOENT);
	assert_int_equal(be->ops->sa_stats(be, h, &st), -ENOENT);
	assert_int_equal(ipsec_xfrm_flush_owned(be), 0);
	be->ops->free(be);
	loop_free(e.loop);
	printf("xfrm kernel expiry: soft %d, hard %d: ok\n", e.soft, e.hard);
}

/* With a kernel that supports ESP: install, read back and remove through the real backend. */
static void
kernel_roundtrip(void)
{
	struct ipsec_backend *be;
	struct ipsec_sa_params p;
	struct ipsec_sa_stats st;
	char why[256];
	uint64_t h;
	uint32_t spi;

	assert_int_equal(ipsec_xfrm_new(NULL, &be, why, sizeof(why)), 0);
	assert_string_equal(be->ops->name, "xfrm");
	sample(&p, IPSEC_ENC_DES, 8, IPSEC_AUTH_HMAC_MD5_96, 16, false);
	assert_int_equal(be->ops->sa_add(be, &p, &h), 0);
	assert_int_equal(be->ops->sa_stats(be, h, &st), 0);
	assert_int_equal(st.bytes_in, 0);
	/* the same SPI again is refused by the kernel and nothing is left half-installed */
	{
		uint64_t h2;

		assert_true(be->ops->sa_add(be, &p, &h2) < 0);
	}
	assert_int_equal(ipsec_xfrm_alloc_spi(be, 0xc0a80102, 0xc0a80101, &spi), 0);
	assert_true(spi >= 0x100);
	assert_int_equal(be->ops->sa_del(be, h), 0);
	assert_int_equal(be->ops->sa_del(be, h), -ENOENT);
	/* a stale state from an earlier run is found by its reqid and removed */
	sample(&p, IPSEC_ENC_AES_CBC, 16, IPSEC_AUTH_HMAC_SHA1_96, 20, true);
	assert_int_equal(be->ops->sa_add(be, &p, &h), 0);
	be->ops->free(be); /* removes what it installed */
	assert_int_equal(ipsec_xfrm_new(NULL, &be, why, sizeof(why)), 0);
	assert_int_equal(ipsec_xfrm_flush_owned(be), 0);
	be->ops->free(be);
	printf("xfrm kernel round trip: ok\n");
	kernel_expiry();
}

static void
test_kernel(void **state)
{
	char why[256];
	int rc;

	/* a scratch namespace: nothing we add here can touch the host */
	assert_int_equal(unshare(CLONE_NEWNET), 0);
	rc = ipsec_xfrm_probe(why, sizeof(why));
	printf("probe: %s (%d)\n", why, rc);
	if (getenv("PORTCULLIS_EXPECT_KERNEL_ESP") != NULL) {
		assert_int_equal(rc, 0);
		kernel_roundtrip();
	} else if (rc == 0) {
		kernel_roundtrip();
	} else {
		/* this machine's kernel: the refusal must say what is missing */
		assert_non_null(strstr(why, "ESP"));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_newsa_roundtrip_des_md5),
	        cmocka_unit_test(test_newsa_every_algorithm),
	        cmocka_unit_test(test_newsa_rejects_oversized_key),
	        cmocka_unit_test(test_policies),
	        cmocka_unit_test(test_small_messages),
	        cmocka_unit_test(test_parse_rejects_malformed),
	        cmocka_unit_test(test_kernel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
