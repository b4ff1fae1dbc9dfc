/* The ruleset plan as a pure function of the model: the seed's rows (tests/integration/
 * nat_seed.sql) produce the expected chains, rules, sets and helpers, object groups become merged
 * interval sets, unsupported fixups are noted, and the rendering is valid nft text. No kernel. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "gateway/nat/nat_model.h"

static char dbpath[64];

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static struct db *
seed_db(void)
{
	struct pc_err err = {0};
	struct db *db;
	char *sql = slurp(PORTCULLIS_SOURCE_DIR "/tests/integration/nat_seed.sql");

	assert_non_null(sql);
	assert_int_equal(db_open(dbpath, &db, &err), 0);
	if (db_exec(db, sql, &err) != 0)
		fail_msg("seed SQL: %s", err.msg);
	free(sql);
	return db;
}

static int
setup(void **state)
{
	int fd;

	snprintf(dbpath, sizeof(dbpath), "/tmp/pc-nat-plan-XXXXXX");
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

static const struct nat_plan_config base_cfg = {
        .table = "portcullis",
        .tun_ifname = "pcx*",
        .mark_mask = 0x00ff0000,
};

static struct nat_plan *
plan_from(struct db *db, const struct nat_plan_config *cfg, struct nat_model **mout)
{
	struct pc_err err = {0};
	struct nat_model *m;
	struct nat_plan *p;

	if (nat_model_load(db, &m, &err) != 0)
		fail_msg("model: %s", err.msg);
	if (nat_plan_build(m, cfg, &p, &err) != 0)
		fail_msg("plan: %s", err.msg);
	*mout = m;
	return p;
}

/* The rules of one chain rendered as nft text, one per line. */
static char *
chain_text(const struct nat_plan *p, const char *chain)
{
	int ci = nat_plan_chain_index(p, chain);
	size_t cap = 1 << 16, len = 0;
	char *out = calloc(1, cap), line[1024];

	assert_true(ci >= 0);
	for (size_t i = 0; i < p->nrules; i++) {
		if (p->rules[i].chain != ci)
			continue;
		assert_int_equal(nat_plan_render_rule(p, &p->rules[i], line, sizeof(line)), 0);
		len += (size_t)snprintf(out + len, cap - len, "%s\n", line);
		assert_true(len < cap);
	}
	return out;
}

static void
assert_has(const char *hay, const char *needle)
{
	if (strstr(hay, needle) == NULL)
		fail_msg("expected '%s' in:\n%s", needle, hay);
}

static const struct np_rule *
rule_for_ace(const struct nat_plan *p, const char *chain, int64_t ace)
{
	int ci = nat_plan_chain_index(p, chain);

	for (size_t i = 0; i < p->nrules; i++)
		if (p->rules[i].chain == ci && p->rules[i].ace_id == ace)
			return &p->rules[i];
	return NULL;
}

static void
test_seed_model(void **state)
{
	struct db *db = seed_db();
	struct pc_err err = {0};
	struct nat_model *m;

	assert_int_equal(nat_model_load(db, &m, &err), 0);
	assert_int_equal(m->nifs, 2);
	assert_string_equal(m->ifs[0].linux_name, "eth0");
	assert_string_equal(m->ifs[1].nameif, "inside");
	assert_int_equal(m->ifs[1].security, 100);
	assert_int_equal(m->ifs[1].address, 0x0a5981c2);
	assert_int_equal(m->ifs[1].netmask, 0xfffffff0);
	assert_int_equal(m->nacls, 2);
	assert_int_equal(m->naces, 4);
	assert_int_equal(m->acls[1].count, 3);
	assert_int_equal(m->nstatics, 1);
	assert_int_equal(m->statics[0].mapped, 0xc0a8010b);
	assert_int_equal(m->statics[0].real, 0x0a598183);
	assert_int_equal(m->nglobals, 1);
	assert_int_equal(m->globals[0].start, 0xc0a80106);
	assert_int_equal(m->globals[0].end, 0xc0a8010a);
	assert_int_equal(m->nroutes, 2);
	assert_int_equal(m->routes[1].dest, 0x0a598180);
	assert_int_equal(m->npools, 1);
	assert_int_equal(m->naaa, 3);
	assert_true(m->permit_ipsec);
	assert_int_equal(m->uauth_timeout_s, 300);
	nat_model_free(m);
	db_close(db);
}

static void
test_seed_plan(void **state)
{
	struct db *db = seed_db();
	struct nat_model *m;
	struct nat_plan *p = plan_from(db, &base_cfg, &m);
	const struct np_rule *r;
	char *t;

	/* static 192.168.1.11 <-> 10.89.129.131, both directions */
	t = chain_text(p, "nat_pre");
	assert_has(t, "iifname \"eth0\" ip daddr 192.168.1.11 dnat to 10.89.129.131 comment "
	              "\"pc:static=1\"");
	assert_null(strstr(t, "redirect")); /* no uauth port configured */
	free(t);
	t = chain_text(p, "nat_inside");
	assert_has(t, "jump nat0_inside\noifname \"eth0\" ip saddr 10.89.129.131 snat to "
	              "192.168.1.11 comment \"pc:static=1\"\noifname \"eth0\" snat to "
	              "192.168.1.6-192.168.1.10 comment \"pc:nat=1:global=outside\"\n");
	free(t);
	/* nat 0 access-list 101: exemption */
	t = chain_text(p, "nat0_inside");
	assert_has(t, "ip saddr 10.89.129.128/28 ip daddr 10.89.129.192/28 counter accept comment "
	              "\"pc:acl=1:ace=1\"");
	free(t);
	t = chain_text(p, "nat_post");
	assert_has(t, "meta mark & 0x00ff0000 == 0x00020000 jump nat_inside");
	free(t);
	/* access-group 120 in interface outside, then the implicit deny */
	t = chain_text(p, "in_outside");
	assert_has(t, "oifname \"eth1\" ct status & 0x20 != 0x20 jump untranslated_inside\n"
	              "meta l4proto 1 ip daddr 10.89.129.131 counter accept comment "
	              "\"pc:acl=2:ace=2\"\n"
	              "meta l4proto 6 ip daddr 10.89.129.131 counter accept comment "
	              "\"pc:acl=2:ace=3\"\n"
	              "meta l4proto 17 ip daddr 10.89.129.131 counter accept comment "
	              "\"pc:acl=2:ace=4\"\n"
	              "counter drop comment \"pc:acl=2:implicit-deny\"\n");
	free(t);
	r = rule_for_ace(p, "in_outside", 3);
	assert_non_null(r);
	assert_int_equal(r->nm, 2);
	assert_int_equal(r->m[0].kind, NP_M_L4PROTO);
	assert_int_equal(r->m[0].v1, 6);
	assert_int_equal(r->m[1].kind, NP_M_DADDR);
	assert_int_equal(r->m[1].v1, 0x0a598183);
	assert_int_equal(r->m[1].v2, 0xffffffff);
	assert_true(r->counter);
	assert_int_equal(r->action, NP_A_ACCEPT);
	assert_int_equal(r->acl_id, 2);
	/* untranslated traffic to inside passes only when nat 0 access-list 101 covers it */
	t = chain_text(p, "untranslated_inside");
	assert_has(t, "ip daddr 10.89.129.128/28 ip saddr 10.89.129.192/28 counter return");
	assert_has(t, "counter drop comment \"pc:no-translation:inside\"");
	free(t);
	/* inside (100) -> outside (0) by security level; VPN tun counts as outside */
	t = chain_text(p, "in_inside");
	assert_string_equal(t, "oifname \"eth0\" accept\noifname \"pcx*\" accept\ncounter drop "
	                       "comment \"pc:security-level:inside\"\n");
	free(t);
	/* stateful, fixups, permit-ipsec for both SA backends, dispatch */
	t = chain_text(p, "forward");
	assert_true(strncmp(t, "ct state established,related accept\nct state invalid drop\n",
	                    58) == 0);
	assert_has(t, "ct state new meta l4proto 6 th dport 21 ct helper set \"ftp\"");
	assert_has(t, "ct state new meta l4proto 17 th dport 1718-1719 ct helper set \"h323-ras\"");
	assert_has(t, "ct state new meta l4proto 17 th dport 5060 ct helper set \"sip-udp\"");
	assert_has(t, "ct state new meta l4proto 17 th dport 69 ct helper set \"tftp\"");
	assert_has(t, "meta secpath exists counter accept");
	assert_has(t, "iifname \"pcx*\" counter accept");
	assert_has(t, "iifname \"eth0\" jump in_outside\niifname \"eth1\" jump in_inside\n");
	free(t);
	assert_int_equal(p->chains[nat_plan_chain_index(p, "forward")].policy_drop, true);
	/* fixups without a Linux helper are reported, not silently dropped */
	assert_has(p->notes, "fixup protocol http: no Linux conntrack helper");
	assert_has(p->notes, "fixup protocol sqlnet");
	assert_null(strstr(p->notes, "ftp"));
	/* the uauth set is always there, with timeouts */
	assert_string_equal(p->sets[0].name, "uauth");
	assert_true(p->sets[0].timeout);
	nat_plan_free(p);
	nat_model_free(m);
	db_close(db);
}

static bool
no_rtsp(const char *type, void *arg)
{
	(*(int *)arg)++;
	return strcmp(type, "rtsp") == 0;
}

static void
test_missing_helper_and_uauth_redirect(void **state)
{
	struct db *db = seed_db();
	struct nat_plan_config cfg = base_cfg;
	struct nat_model *m;
	struct nat_plan *p;
	int calls = 0;
	char *t;

	cfg.unavailable_helper = no_rtsp;
	cfg.helper_arg = &calls;
	cfg.uauth_port = 1645;
	p = plan_from(db, &cfg, &m);
	assert_true(calls > 0);
	assert_has(p->notes, "the kernel has no \"rtsp\" conntrack helper");
	for (size_t i = 0; i < p->nhelpers; i++)
		assert_string_not_equal(p->helpers[i].type, "rtsp");
	t = chain_text(p, "nat_pre");
	assert_has(t, "ip saddr != @uauth jump uauth_redirect\n");
	free(t);
	t = chain_text(p, "uauth_redirect");
	assert_has(t, "iifname \"eth0\" ip daddr 192.168.1.11 meta l4proto 6 th dport 80 counter "
	              "redirect to :1645");
	assert_has(t, "th dport 21 counter redirect to :1645");
	assert_has(t, "th dport 23 counter redirect to :1645");
	free(t);
	nat_plan_free(p);
	nat_model_free(m);
	db_close(db);
}

static void
test_object_groups_become_sets(void **state)
{
	struct db *db = seed_db();
	struct pc_err err = {0};
	struct nat_model *m;
	struct nat_plan *p;
	const struct np_set *hosts = NULL, *web = NULL;
	const struct np_rule *r;

	if (db_exec(db,
	            "INSERT INTO object_group (id, name, kind) VALUES (1, 'lan', 'network'),"
	            " (2, 'hosts', 'network');"
	            "INSERT INTO object_group (id, name, kind, service_protocol) VALUES"
	            " (3, 'web', 'service', 'tcp');"
	            "INSERT INTO object_group_member (group_id, position, kind, address, netmask)"
	            " VALUES (1, 0, 'network', '10.1.0.0', '255.255.255.0'),"
	            " (1, 1, 'network', '10.1.1.0', '255.255.255.0');"
	            "INSERT INTO object_group_member (group_id, position, kind, address) VALUES"
	            " (2, 0, 'host', '10.1.0.7'), (2, 1, 'host', '10.9.9.9');"
	            "INSERT INTO object_group_member (group_id, position, kind, ref_group_id) "
	            "VALUES"
	            " (2, 2, 'group', 1);"
	            "INSERT INTO object_group_member (group_id, position, kind, port_op, port_low,"
	            " port_high) VALUES (3, 0, 'port', 'eq', 80, NULL), (3, 1, 'port', 'range', "
	            "8000,"
	            " 8080), (3, 2, 'port', 'eq', 8080, NULL);"
	            "INSERT INTO access_list_entry (id, acl_id, position, action, protocol, "
	            "src_kind,"
	            " src_group_id, dst_kind, dst_address, dst_netmask, dst_port_group_id) VALUES"
	            " (9, 2, 9, 'permit', 'tcp', 'group', 2, 'host', '10.89.129.131',"
	            " '255.255.255.255', 3);",
	            &err) != 0)
		fail_msg("%s", err.msg);
	p = plan_from(db, &base_cfg, &m);
	for (size_t i = 0; i < p->nsets; i++) {
		if (strcmp(p->sets[i].name, "og_hosts") == 0)
			hosts = &p->sets[i];
		if (strcmp(p->sets[i].name, "og_web") == 0)
			web = &p->sets[i];
	}
	assert_non_null(hosts);
	assert_non_null(web);
	/* 10.1.0.7 inside 10.1.0.0/24, adjacent /24s merged: 10.1.0.0-10.1.1.255, 10.9.9.9 */
	assert_int_equal(hosts->type, NP_SET_IPV4);
	assert_true(hosts->interval);
	assert_int_equal(hosts->nranges, 2);
	assert_int_equal(hosts->ranges[0].lo, 0x0a010000);
	assert_int_equal(hosts->ranges[0].hi, 0x0a0101ff);
	assert_int_equal(hosts->ranges[1].lo, 0x0a090909);
	/* 80, 8000-8080 (8080 absorbed) */
	assert_int_equal(web->type, NP_SET_SERVICE);
	assert_int_equal(web->nranges, 2);
	assert_int_equal(web->ranges[1].lo, 8000);
	assert_int_equal(web->ranges[1].hi, 8080);
	/* one rule for the entry, looking the groups up */
	r = rule_for_ace(p, "in_outside", 9);
	assert_non_null(r);
	char line[512];

	assert_int_equal(nat_plan_render_rule(p, r, line, sizeof(line)), 0);
	assert_string_equal(line, "meta l4proto 6 ip saddr @og_hosts ip daddr 10.89.129.131 "
	                          "th dport @og_web counter accept comment \"pc:acl=2:ace=9\"");
	nat_plan_free(p);
	nat_model_free(m);
	db_close(db);
}

/* Names at the API's limits (64 characters for object-groups, 48 for nameif) stay whole in the
 * nft names made from them: two groups that differ only in their 64th character are two sets.
 * A longer name in the database fails the load and says so (it is never cut). */
static void
test_long_names_kept_whole(void **state)
{
	struct db *db = seed_db();
	struct pc_err err = {0};
	struct nat_model *m;
	struct nat_plan *p;
	char sql[2048], a[65], b[65], nif[49], sa[72], sb[72];
	const struct np_rule *r;
	int found = 0;

	memset(a, 'g', 63);
	memcpy(b, a, 63);
	a[63] = 'A';
	b[63] = 'B';
	a[64] = b[64] = '\0';
	memset(nif, 'n', 48);
	nif[48] = '\0';
	snprintf(sql, sizeof(sql),
	         "UPDATE interface SET nameif = '%s' WHERE nameif = 'inside';"
	         "INSERT INTO object_group (id, name, kind) VALUES (1, '%s', 'network'),"
	         " (2, '%s', 'network');"
	         "INSERT INTO object_group_member (group_id, position, kind, address) VALUES"
	         " (1, 0, 'host', '10.1.0.1'), (2, 0, 'host', '10.2.0.2');"
	         "INSERT INTO access_list_entry (id, acl_id, position, action, protocol, src_kind,"
	         " src_group_id, dst_kind) VALUES (8, 2, 8, 'permit', 'ip', 'group', 1, 'any'),"
	         " (9, 2, 9, 'deny', 'ip', 'group', 2, 'any');",
	         nif, a, b);
	if (db_exec(db, sql, &err) != 0)
		fail_msg("%s", err.msg);
	p = plan_from(db, &base_cfg, &m);
	snprintf(sa, sizeof(sa), "og_%s", a);
	snprintf(sb, sizeof(sb), "og_%s", b);
	for (size_t i = 0; i < p->nsets; i++) {
		if (strcmp(p->sets[i].name, sa) == 0) {
			assert_int_equal(p->sets[i].ranges[0].lo, 0x0a010001);
			found |= 1;
		}
		if (strcmp(p->sets[i].name, sb) == 0) {
			assert_int_equal(p->sets[i].ranges[0].lo, 0x0a020002);
			found |= 2;
		}
	}
	assert_int_equal(found, 3);
	r = rule_for_ace(p, "in_outside", 9);
	assert_non_null(r);
	found = 0;
	for (int i = 0; i < r->nm; i++)
		if (r->m[i].kind == NP_M_SADDR && r->m[i].set) {
			assert_string_equal(r->m[i].name, sb);
			found = 1;
		}
	assert_int_equal(found, 1);
	snprintf(sql, sizeof(sql), "untranslated_%s", nif);
	assert_true(nat_plan_chain_index(p, sql) >= 0);
	nat_plan_free(p);
	nat_model_free(m);

	/* 65 characters (the PIX importer has no limit of its own): the load fails, naming it */
	assert_int_equal(
	        db_exec(db, "UPDATE object_group SET name = name || 'x' WHERE id = 2", &err), 0);
	m = NULL;
	assert_int_equal(nat_model_load(db, &m, &err), -EINVAL);
	assert_null(m);
	assert_string_equal(err.field, "name");
	assert_has(err.msg, "object-group name 'gggg");
	assert_has(err.msg, "65 characters, at most 64");
	db_close(db);
}

static void
test_no_access_group_and_errors(void **state)
{
	struct db *db = seed_db();
	struct pc_err err = {0};
	struct nat_plan_config cfg = base_cfg;
	struct nat_model *m;
	struct nat_plan *p;
	char *t;

	assert_int_equal(db_exec(db, "DELETE FROM access_group", &err), 0);
	p = plan_from(db, &base_cfg, &m);
	/* outside (0) has nothing lower: only the untranslated guard, then drop */
	t = chain_text(p, "in_outside");
	assert_string_equal(t,
	                    "oifname \"eth1\" ct status & 0x20 != 0x20 jump untranslated_inside\n"
	                    "counter drop comment \"pc:security-level:outside\"\n");
	free(t);
	nat_plan_free(p);
	nat_model_free(m);

	/* the injected failure is the very last rule */
	cfg.inject_invalid_rule = true;
	p = plan_from(db, &cfg, &m);
	assert_int_equal(p->rules[p->nrules - 1].action, NP_A_JUMP);
	assert_string_equal(p->rules[p->nrules - 1].target, "pc_no_such_chain");
	nat_plan_free(p);

	/* ports with protocol ip are refused with the entry named */
	assert_int_equal(db_exec(db,
	                         "INSERT INTO access_list_entry (id, acl_id, position, action,"
	                         " protocol, src_kind, dst_kind, dst_port_op, dst_port_low) VALUES"
	                         " (77, 1, 5, 'permit', 'ip', 'any', 'any', 'eq', 80)",
	                         &err),
	                 0);
	assert_int_equal(
	        db_exec(db, "INSERT INTO access_group (acl_id, interface_id) VALUES (1, 2)", &err),
	        0);
	nat_model_free(m);
	assert_int_equal(nat_model_load(db, &m, &err), 0);
	assert_int_equal(nat_plan_build(m, &base_cfg, &p, &err), -EINVAL);
	assert_null(p);
	assert_has(err.msg, "access-list 101 entry 77: ports need tcp or udp");
	nat_model_free(m);
	db_close(db);
}

static void
test_acl_naming_the_mapped_address(void **state)
{
	struct db *db = seed_db();
	struct pc_err err = {0};
	struct nat_model *m;
	struct nat_plan *p;
	char line[512];

	/* PIX 6.3 style: access-list 120 permit tcp any host 192.168.1.11 eq 443 */
	if (db_exec(db,
	            "INSERT INTO access_list_entry (id, acl_id, position, action, protocol, "
	            "src_kind,"
	            " dst_kind, dst_address, dst_netmask, dst_port_op, dst_port_low) VALUES"
	            " (20, 2, 20, 'permit', 'tcp', 'any', 'host', '192.168.1.11',"
	            " '255.255.255.255', 'eq', 443)",
	            &err) != 0)
		fail_msg("%s", err.msg);
	p = plan_from(db, &base_cfg, &m);
	assert_int_equal(
	        nat_plan_render_rule(p, rule_for_ace(p, "in_outside", 20), line, sizeof(line)), 0);
	assert_string_equal(line,
	                    "meta l4proto 6 ip daddr 10.89.129.131 th dport 443 counter accept "
	                    "comment \"pc:acl=2:ace=20\"");
	nat_plan_free(p);
	nat_model_free(m);
	db_close(db);
}

static void
test_render_is_a_replacing_transaction(void **state)
{
	struct db *db = seed_db();
	struct nat_model *m;
	struct nat_plan *p = plan_from(db, &base_cfg, &m);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_int_equal(nat_plan_render(p, f), 0);
	fclose(f);
	static const char head[] = "table ip portcullis\ndelete table ip portcullis\ntable ip "
	                           "portcullis {\n";

	assert_true(strncmp(buf, head, sizeof(head) - 1) == 0);
	assert_has(buf,
	           "\tchain forward {\n\t\ttype filter hook forward priority 0; policy drop;\n");
	assert_has(buf, "\tset uauth {\n\t\ttype ipv4_addr\n\t\tflags timeout\n\t}\n");
	assert_has(buf, "\tct helper ftp {\n\t\ttype \"ftp\" protocol tcp\n");
	free(buf);
	nat_plan_free(p);
	nat_model_free(m);
	db_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_seed_model, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_seed_plan, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_missing_helper_and_uauth_redirect, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_object_groups_become_sets, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_long_names_kept_whole, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_no_access_group_and_errors, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_acl_naming_the_mapped_address, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_render_is_a_replacing_transaction, setup,
	                                        teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
