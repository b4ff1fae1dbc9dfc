/* Per-connection accounting: the ctnetlink event parser (messages built with libmnl the way the
 * kernel lays them out, parsed back; malformed ones rejected with a reason) and the `aaa
 * accounting` rule matching over the configuration model (the seed's interfaces, routes, crypto
 * map and rule loaded from a database). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "db/db.h"
#include "gateway/aaa/acct_ct.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

/* What a test message contains; each flag breaks one thing. */
struct spec {
	uint16_t msg_type;
	uint16_t flags;
	uint8_t family;
	uint8_t proto;
	bool no_orig, no_ports, short_id, short_src, short_bytes, no_counters, ipv6_tuple;
	int tcp_state; /* > 0: CTA_PROTOINFO with this TCP state; < 0: a 2-byte state */
};

static struct nlmsghdr *
build(char *buf, const struct spec *s)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;
	struct nlattr *t, *n;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | s->msg_type;
	nlh->nlmsg_flags = s->flags;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = s->family;
	nfg->version = NFNETLINK_V0;
	for (int dir = 0; dir < 2; dir++) {
		if (dir == 0 && s->no_orig)
			continue;
		t = mnl_attr_nest_start(nlh, dir == 0 ? CTA_TUPLE_ORIG : CTA_TUPLE_REPLY);
		n = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
		if (s->ipv6_tuple) {
			uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8};

			mnl_attr_put(nlh, CTA_IP_V6_SRC, sizeof(a6), a6);
			mnl_attr_put(nlh, CTA_IP_V6_DST, sizeof(a6), a6);
		} else if (dir == 0 && s->short_src) {
			mnl_attr_put_u16(nlh, CTA_IP_V4_SRC, 0x0a59);
			mnl_attr_put_u32(nlh, CTA_IP_V4_DST, htonl(IP(192, 168, 1, 11)));
		} else {
			mnl_attr_put_u32(
			        nlh, CTA_IP_V4_SRC,
			        htonl(dir == 0 ? IP(10, 89, 129, 200) : IP(10, 89, 129, 131)));
			mnl_attr_put_u32(
			        nlh, CTA_IP_V4_DST,
			        htonl(dir == 0 ? IP(10, 89, 129, 131) : IP(10, 89, 129, 200)));
		}
		mnl_attr_nest_end(nlh, n);
		n = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
		mnl_attr_put_u8(nlh, CTA_PROTO_NUM, s->proto);
		if (!s->no_ports) {
			mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(dir == 0 ? 40000 : 23));
			mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(dir == 0 ? 23 : 40000));
		}
		mnl_attr_nest_end(nlh, n);
		mnl_attr_nest_end(nlh, t);
	}
	if (!s->no_counters) {
		for (int dir = 0; dir < 2; dir++) {
			t = mnl_attr_nest_start(nlh,
			                        dir == 0 ? CTA_COUNTERS_ORIG : CTA_COUNTERS_REPLY);
			mnl_attr_put_u64(nlh, CTA_COUNTERS_PACKETS, htobe64(dir == 0 ? 7 : 6));
			if (s->short_bytes)
				mnl_attr_put_u32(nlh, CTA_COUNTERS_BYTES, htonl(1));
			else
				mnl_attr_put_u64(nlh, CTA_COUNTERS_BYTES,
				                 htobe64(dir == 0 ? 0x100000123ull : 912));
			mnl_attr_nest_end(nlh, t);
		}
	}
	if (s->tcp_state != 0) {
		t = mnl_attr_nest_start(nlh, CTA_PROTOINFO);
		n = mnl_attr_nest_start(nlh, CTA_PROTOINFO_TCP);
		if (s->tcp_state > 0)
			mnl_attr_put_u8(nlh, CTA_PROTOINFO_TCP_STATE, (uint8_t)s->tcp_state);
		else
			mnl_attr_put_u16(nlh, CTA_PROTOINFO_TCP_STATE, 7);
		mnl_attr_put_u8(nlh, CTA_PROTOINFO_TCP_WSCALE_ORIGINAL, 7);
		mnl_attr_nest_end(nlh, n);
		mnl_attr_nest_end(nlh, t);
	}
	if (s->short_id)
		mnl_attr_put_u16(nlh, CTA_ID, 0x1234);
	else
		mnl_attr_put_u32(nlh, CTA_ID, htonl(0xdeadbeef));
	return nlh;
}

static struct spec
good_new(void)
{
	return (struct spec){.msg_type = IPCTNL_MSG_CT_NEW,
	                     .flags = NLM_F_CREATE | NLM_F_EXCL,
	                     .family = AF_INET,
	                     .proto = IPPROTO_TCP};
}

static void
test_parse_new_and_destroy(void **state)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct spec s = good_new();
	struct nlmsghdr *nlh = build(buf, &s);
	struct acct_ct_msg m;
	const char *why = "unset";

	(void)state;
	assert_int_equal(acct_ct_parse_msg(nlh, nlh->nlmsg_len, &m, &why), 0);
	assert_int_equal(m.event, ACCT_CT_EV_NEW);
	assert_int_equal(m.id, 0xdeadbeef);
	assert_int_equal(m.orig.src, IP(10, 89, 129, 200));
	assert_int_equal(m.orig.dst, IP(10, 89, 129, 131));
	assert_int_equal(m.orig.proto, IPPROTO_TCP);
	assert_int_equal(m.orig.sport, 40000);
	assert_int_equal(m.orig.dport, 23);
	assert_true(m.has_reply);
	assert_int_equal(m.reply.src, IP(10, 89, 129, 131));
	assert_int_equal(m.reply.sport, 23);
	assert_true(m.has_counters);
	assert_true(m.orig_bytes == 0x100000123ull); /* 64-bit big endian, above 4 GiB */
	assert_true(m.orig_packets == 7);
	assert_true(m.reply_bytes == 912);
	assert_true(m.reply_packets == 6);

	assert_false(m.has_tcp_state);

	/* an update (no NLM_F_CREATE) to TIME_WAIT: the connection was closed */
	s.flags = 0;
	s.tcp_state = TCP_CONNTRACK_TIME_WAIT;
	nlh = build(buf, &s);
	assert_int_equal(acct_ct_parse_msg(nlh, nlh->nlmsg_len, &m, &why), 0);
	assert_int_equal(m.event, ACCT_CT_EV_UPDATE);
	assert_true(m.has_tcp_state);
	assert_int_equal(m.tcp_state, TCP_CONNTRACK_TIME_WAIT);
	assert_int_equal(m.orig.dport, 23);

	s.msg_type = IPCTNL_MSG_CT_DELETE;
	s.tcp_state = 0;
	nlh = build(buf, &s);
	assert_int_equal(acct_ct_parse_msg(nlh, nlh->nlmsg_len, &m, &why), 0);
	assert_int_equal(m.event, ACCT_CT_EV_DESTROY);

	/* ICMP: no ports needed; counters absent (accounting off) is not an error */
	s = good_new();
	s.proto = IPPROTO_ICMP;
	s.no_ports = true;
	s.no_counters = true;
	nlh = build(buf, &s);
	assert_int_equal(acct_ct_parse_msg(nlh, nlh->nlmsg_len, &m, &why), 0);
	assert_int_equal(m.orig.proto, IPPROTO_ICMP);
	assert_int_equal(m.orig.dport, 0);
	assert_false(m.has_counters);
}

static void
expect_reject(const struct spec *s, size_t cut, int want_rc, const char *want_why)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = build(buf, s);
	struct acct_ct_msg m;
	const char *why = NULL;
	size_t len = nlh->nlmsg_len - cut;
	int rc = acct_ct_parse_msg(nlh, len, &m, &why);

	if (rc != want_rc || why == NULL || strstr(why, want_why) == NULL)
		fail_msg("expected %d '%s', got %d '%s'", want_rc, want_why, rc,
		         why != NULL ? why : "(none)");
}

static void
test_parse_malformed(void **state)
{
	struct spec s;
	char buf[64] = {0};
	struct acct_ct_msg m;
	const char *why = NULL;

	(void)state;
	assert_int_equal(acct_ct_parse_msg(buf, 8, &m, &why), -EINVAL);
	assert_non_null(strstr(why, "shorter"));

	s = good_new();
	expect_reject(&s, 4, -EINVAL, "shorter than its netlink header or its nlmsg_len");
	s.msg_type = IPCTNL_MSG_CT_GET;
	expect_reject(&s, 0, -EINVAL, "not IPCTNL_MSG_CT_NEW or IPCTNL_MSG_CT_DELETE");
	s = good_new();
	s.tcp_state = -1;
	expect_reject(&s, 0, -EINVAL, "CTA_PROTOINFO_TCP_STATE: expected 1 byte");
	s = good_new();
	s.family = AF_INET6;
	expect_reject(&s, 0, -EAFNOSUPPORT, "IPv6");
	s = good_new();
	s.ipv6_tuple = true;
	expect_reject(&s, 0, -EAFNOSUPPORT, "IPv6 tuple");
	s = good_new();
	s.family = AF_BRIDGE;
	expect_reject(&s, 0, -EINVAL, "not AF_INET");
	s = good_new();
	s.no_orig = true;
	expect_reject(&s, 0, -EINVAL, "no CTA_TUPLE_ORIG");
	s = good_new();
	s.short_id = true;
	expect_reject(&s, 0, -EINVAL, "CTA_ID: expected 4 bytes");
	s = good_new();
	s.short_src = true;
	expect_reject(&s, 0, -EINVAL, "CTA_IP_V4_SRC: expected 4 bytes");
	s = good_new();
	s.no_ports = true;
	expect_reject(&s, 0, -EINVAL, "without CTA_PROTO_SRC_PORT");
	s = good_new();
	s.short_bytes = true;
	expect_reject(&s, 0, -EINVAL, "CTA_COUNTERS_BYTES: expected 8 bytes");

	/* a message from another netfilter subsystem */
	{
		char b[MNL_SOCKET_BUFFER_SIZE];
		struct nlmsghdr *nlh;

		s = good_new();
		nlh = build(b, &s);
		nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | 0;
		assert_int_equal(acct_ct_parse_msg(nlh, nlh->nlmsg_len, &m, &why), -EINVAL);
		assert_string_equal(why, "not a ctnetlink message");

		/* an nlmsg_len that is negative as an int (found by the fuzzer) */
		s = good_new();
		nlh = build(b, &s);
		nlh->nlmsg_len = 0xfffffff0u;
		assert_int_equal(acct_ct_parse_msg(nlh, 16, &m, &why), -EINVAL);
		assert_string_equal(why, "shorter than its netlink header or its nlmsg_len");

		/* an attribute whose length runs past the message */
		s = good_new();
		nlh = build(b, &s);
		{
			struct nlattr *last = (struct nlattr *)((char *)nlh + nlh->nlmsg_len - 8);

			assert_int_equal(mnl_attr_get_type(last), CTA_ID);
			last->nla_len = 64;
		}
		assert_int_equal(acct_ct_parse_msg(nlh, nlh->nlmsg_len, &m, &why), -EINVAL);
		assert_non_null(why);
	}
}

/* ---- rules over the seed's model ---- */

static struct db *
seed_db(char *path, size_t len, const char *extra_rules)
{
	struct pc_err err = {0};
	struct db *db = NULL;
	char sql[4096];
	int fd;

	snprintf(path, len, "/tmp/pc-acct-ct-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	assert_int_equal(db_open(path, &db, &err), 0);
	snprintf(sql, sizeof(sql),
	         "INSERT INTO interface (id, hw_name, nameif, security, ip_mode, address, netmask) "
	         "VALUES (1, 'ethernet0', 'outside', 0, 'static', '192.168.1.1', "
	         "'255.255.255.0'), (2, 'ethernet1', 'inside', 100, 'static', '10.89.129.194', "
	         "'255.255.255.240');"
	         "INSERT INTO route (interface_id, destination, netmask, gateway) VALUES "
	         "(1, '0.0.0.0', '0.0.0.0', '192.168.1.3'), "
	         "(2, '10.89.129.128', '255.255.255.128', '10.89.129.193');"
	         "INSERT INTO crypto_map_interface (interface_id, map_name) VALUES (1, 'dynmap');"
	         "INSERT INTO aaa_server_group (id, name, protocol) VALUES (1, 'AuthInbound', "
	         "'tacacs+');"
	         "%s"
	         "INSERT INTO aaa_rule (kind, action, service, direction, local_address, "
	         "local_netmask, foreign_address, foreign_netmask, group_id, position) VALUES "
	         "('accounting', 'include', 'any', 'inbound', '0.0.0.0', '0.0.0.0', '0.0.0.0', "
	         "'0.0.0.0', 1, 10),"
	         "('authentication', 'include', 'http', 'inbound', '0.0.0.0', '0.0.0.0', "
	         "'0.0.0.0', '0.0.0.0', 1, 0);",
	         extra_rules);
	if (db_exec(db, sql, &err) < 0)
		fail_msg("seed: %s", err.msg);
	return db;
}

static void
drop_db(struct db *db, const char *path)
{
	char p[128];

	db_close(db);
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

static void
test_rules_seed(void **state)
{
	char path[64], group[64];
	struct pc_err err = {0};
	struct acct_ct_config *cfg = calloc(1, sizeof(*cfg));
	struct db *db = seed_db(path, sizeof(path), "");
	/* the Xauth user at its pool address (inside the inside subnet, but it comes in on the
	 * crypto map's interface) opening telnet to the web server */
	struct acct_ct_conn vpn = {.src = IP(10, 89, 129, 200),
	                           .dst = IP(10, 89, 129, 131),
	                           .real_dst = IP(10, 89, 129, 131),
	                           .dport = 23,
	                           .from_vpn = true};
	/* a cut-through user on the outside reaching the web server through its static */
	struct acct_ct_conn cut = {.src = IP(192, 168, 1, 3),
	                           .dst = IP(192, 168, 1, 11),
	                           .real_dst = IP(10, 89, 129, 131),
	                           .dport = 80};
	/* an inside host going out: outbound, not selected by an inbound rule */
	struct acct_ct_conn out = {.src = IP(10, 89, 129, 131),
	                           .dst = IP(198, 51, 100, 7),
	                           .real_dst = IP(198, 51, 100, 7),
	                           .dport = 443};

	(void)state;
	assert_non_null(cfg);
	assert_int_equal(acct_ct_config_load(db, cfg, &err), 0);
	assert_int_equal(cfg->nrules, 1); /* the authentication rule is not an accounting one */
	assert_int_equal(cfg->nifs, 2);
	assert_int_equal(cfg->nroutes, 2);
	assert_int_equal(cfg->vpn_interface_id, 1);

	assert_int_equal(acct_ct_rule_match(cfg, &vpn, group, sizeof(group)), 1);
	assert_string_equal(group, "AuthInbound");
	assert_int_equal(acct_ct_rule_match(cfg, &cut, group, sizeof(group)), 1);
	assert_int_equal(acct_ct_rule_match(cfg, &out, group, sizeof(group)), -ENOENT);
	/* the same pool address without the VPN: an inside host talking to an inside server */
	vpn.from_vpn = false;
	assert_int_equal(acct_ct_rule_match(cfg, &vpn, group, sizeof(group)), -ENOENT);
	drop_db(db, path);

	/* exclude telnet before the include; an outbound tcp/8080 rule; a UDP rule that never
	 * selects a TCP connection */
	db = seed_db(path, sizeof(path),
	             "INSERT INTO aaa_rule (kind, action, service, direction, local_address, "
	             "local_netmask, foreign_address, foreign_netmask, position) VALUES "
	             "('accounting', 'exclude', 'telnet', 'inbound', '10.89.129.131', "
	             "'255.255.255.255', '0.0.0.0', '0.0.0.0', 1);"
	             "INSERT INTO aaa_rule (kind, action, service, direction, local_address, "
	             "local_netmask, foreign_address, foreign_netmask, group_id, position) VALUES "
	             "('accounting', 'include', 'udp/53', 'outbound', '0.0.0.0', '0.0.0.0', "
	             "'0.0.0.0', '0.0.0.0', 1, 2),"
	             "('accounting', 'include', 'tcp/8080', 'outbound', '10.89.129.128', "
	             "'255.255.255.128', '198.51.100.0', '255.255.255.0', 1, 3);"
	             "INSERT INTO aaa_rule (kind, action, service, interface_id, local_address, "
	             "local_netmask, foreign_address, foreign_netmask, group_id, position) VALUES "
	             "('accounting', 'include', 'tcp/0', 2, '10.89.129.131', '255.255.255.255', "
	             "'0.0.0.0', '0.0.0.0', 1, 4);");
	assert_int_equal(acct_ct_config_load(db, cfg, &err), 0);
	assert_int_equal(cfg->nrules, 5);
	vpn.from_vpn = true;
	assert_int_equal(acct_ct_rule_match(cfg, &vpn, group, sizeof(group)), 0); /* excluded */
	vpn.dport = 80;
	assert_int_equal(acct_ct_rule_match(cfg, &vpn, group, sizeof(group)), 1);
	assert_int_equal(acct_ct_rule_match(cfg, &out, group, sizeof(group)), 1); /* interface */
	out.dport = 8080;
	out.src = IP(10, 89, 129, 140);
	assert_int_equal(acct_ct_rule_match(cfg, &out, group, sizeof(group)), 1); /* tcp/8080 */
	out.dst = out.real_dst = IP(203, 0, 113, 1); /* foreign outside 198.51.100.0/24 */
	assert_int_equal(acct_ct_rule_match(cfg, &out, group, sizeof(group)), -ENOENT);
	out.dport = 53;
	assert_int_equal(acct_ct_rule_match(cfg, &out, group, sizeof(group)), -ENOENT);
	drop_db(db, path);
	free(cfg);
}

static void
test_services(void **state)
{
	struct acct_ct_rule r;
	char name[32];

	(void)state;
	assert_int_equal(acct_ct_service_parse("any", &r), 0);
	assert_int_equal(r.service, ACCT_CT_SVC_ANY);
	assert_int_equal(acct_ct_service_parse("tcp/0", &r), 0);
	assert_int_equal(r.service, ACCT_CT_SVC_ANY);
	assert_int_equal(acct_ct_service_parse("telnet", &r), 0);
	assert_int_equal(r.port, 23);
	assert_int_equal(acct_ct_service_parse("ftp", &r), 0);
	assert_int_equal(r.port, 21);
	assert_int_equal(acct_ct_service_parse("tcp/8080", &r), 0);
	assert_int_equal(r.service, ACCT_CT_SVC_TCP_PORT);
	assert_int_equal(r.port, 8080);
	assert_int_equal(acct_ct_service_parse("udp/53", &r), 0);
	assert_int_equal(r.service, ACCT_CT_SVC_OTHER);
	assert_int_equal(acct_ct_service_parse("tcp/65536", &r), -EINVAL);
	assert_int_equal(acct_ct_service_parse("tcp/x", &r), -EINVAL);
	assert_int_equal(acct_ct_service_parse("gopher", &r), -EINVAL);
	acct_ct_service_name(23, name, sizeof(name));
	assert_string_equal(name, "telnet");
	acct_ct_service_name(80, name, sizeof(name));
	assert_string_equal(name, "http");
	acct_ct_service_name(21, name, sizeof(name));
	assert_string_equal(name, "ftp");
	acct_ct_service_name(8443, name, sizeof(name));
	assert_string_equal(name, "tcp/8443");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_parse_new_and_destroy),
	        cmocka_unit_test(test_parse_malformed),
	        cmocka_unit_test(test_rules_seed),
	        cmocka_unit_test(test_services),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
