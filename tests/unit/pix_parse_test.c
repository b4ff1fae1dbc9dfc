/* PIX parser: the seed maps completely, messy text (CRLF, prompts, wrapped lines) is tolerated,
 * invalid lines are errors with their line number and reason, unknown lines are kept verbatim,
 * and PIX-MD5 hashes match the seed's known passwords. No database involved. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/model.h"
#include "db/pix.h"

static char *
slurp(const char *rel, size_t *len)
{
	char path[512];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", PORTCULLIS_SOURCE_DIR, rel);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static struct model *
parse_str(const char *text, bool strict, struct pix_report **rep, int *rc)
{
	struct model *m = NULL;

	*rep = calloc(1, sizeof(**rep));
	assert_non_null(*rep);
	*rc = pix_parse(text, strlen(text), strict, &m, *rep);
	return m;
}

static const struct pix_line_entry *
entry_at(const struct pix_report *r, uint32_t line)
{
	for (size_t i = 0; i < r->nentries; i++)
		if (r->entries[i].line == line)
			return &r->entries[i];
	return NULL;
}

static void
test_seed_maps_everything(void **state)
{
	size_t len;
	char *text = slurp("tests/data/pix/pix-6.3.3-running-config.cfg", &len);
	struct pix_report *rep = calloc(1, sizeof(*rep));
	struct model *m = NULL;

	assert_int_equal(pix_parse(text, len, true, &m, rep), 0);
	assert_int_equal(rep->unsupported, 0);
	assert_int_equal(rep->errors, 0);
	assert_int_equal(rep->warnings, 0);
	assert_int_equal(rep->lines, 99);
	assert_int_equal(rep->mapped + rep->ignored, 99);
	assert_int_equal(m->t[MT_INTERFACE].n, 2);
	assert_int_equal(m->t[MT_ACE].n, 4);
	assert_int_equal(m->t[MT_FIXUP].n, 13);
	assert_int_equal(m->t[MT_TIMEOUT].n, 11);
	assert_int_equal(m->t[MT_AAA_GROUP].n, 4);
	assert_int_equal(m->t[MT_AAA_RULE].n, 4);
	assert_int_equal(m->t[MT_ISAKMP_POLICY].n, 2);
	/* the masked keys are not set; the clear TACACS+ key is */
	assert_int_equal(m->t[MT_ISAKMP_KEY].n, 1);
	assert_null(model_row_get(&m->t[MT_ISAKMP_KEY].rows[0], MT_ISAKMP_KEY, "key_secret"));
	assert_true(m->t[MT_ISAKMP_KEY].rows[0].secret_masked);
	assert_string_equal(model_row_get(&m->t[MT_AAA_HOST].rows[0], MT_AAA_HOST, "key_secret"),
	                    "secretkey");
	assert_string_equal(model_row_get(&m->t[MT_VPNGROUP].rows[0], MT_VPNGROUP, "has_password"),
	                    "1");
	/* the static and the uauth timeout as the seed says */
	assert_string_equal(
	        model_row_get(&m->t[MT_NAT_STATIC].rows[0], MT_NAT_STATIC, "real_address"),
	        "10.89.129.131");
	for (size_t i = 0; i < m->t[MT_TIMEOUT].n; i++) {
		const struct model_row *r = &m->t[MT_TIMEOUT].rows[i];

		if (strcmp(r->v[0], "uauth") == 0) {
			assert_string_equal(r->v[1], "300");
			assert_string_equal(r->v[2], "absolute");
		}
	}
	/* logging-like vocabulary is kept verbatim but counts as mapped */
	assert_true(m->t[MT_PASSTHROUGH].n > 0);
	for (size_t i = 0; i < m->t[MT_PASSTHROUGH].n; i++)
		assert_string_equal(
		        model_row_get(&m->t[MT_PASSTHROUGH].rows[i], MT_PASSTHROUGH, "supported"),
		        "1");
	model_free(m);
	pix_report_free(rep);
	free(text);
}

static void
test_pix_md5_known_answers(void **state)
{
	char h[17];

	/* SEED.md: enable password (empty) and passwd (cisco) of the seed */
	pix_md5_hash("", NULL, h);
	assert_string_equal(h, "8Ry2YjIyt7RRXU24");
	pix_md5_hash("cisco", NULL, h);
	assert_string_equal(h, "2KFQnbNIdI.2KYOU");
}

static void
test_messy_text(void **state)
{
	static const char text[] = "Building configuration...\r\n"
	                           "pix# write terminal\r\n"
	                           ": Saved\r\n"
	                           "PIX Version 6.3(3)   \r\n"
	                           "nameif ethernet0 outside security0\r\n"
	                           "nameif ethernet1 inside security100\t \r\n"
	                           "timeout conn 1:00:00 half-closed 0:10:00 udp 0:02:00 rpc "
	                           "0:10:00 h323 0:05:00 si\r\n"
	                           "p 0:30:00 sip_media 0:02:00\r\n"
	                           "ip address inside 10.0.0.1 255.255.255.0\r\n"
	                           "[OK]\r\n"
	                           "pix# \r\n";
	struct pix_report *rep;
	int rc;
	struct model *m = parse_str(text, true, &rep, &rc);
	bool sip = false;

	assert_int_equal(rc, 0);
	assert_int_equal(rep->unsupported, 0);
	assert_int_equal(rep->errors, 0);
	assert_int_equal(rep->ignored, 5);
	for (size_t i = 0; i < m->t[MT_TIMEOUT].n; i++) {
		const struct model_row *r = &m->t[MT_TIMEOUT].rows[i];

		if (strcmp(r->v[0], "sip") == 0) {
			assert_string_equal(r->v[1], "1800");
			sip = true;
		}
	}
	assert_true(sip);
	/* the wrapped command is reported under its first line */
	assert_non_null(entry_at(rep, 7));
	assert_null(entry_at(rep, 8));
	assert_string_equal(model_row_get(&m->t[MT_SETTING].rows[0], MT_SETTING, "value"),
	                    "6.3(3)");
	model_free(m);
	pix_report_free(rep);
}

static void
test_errors_have_line_and_reason(void **state)
{
	size_t len;
	char *text = slurp("tests/data/pix/own/invalid.cfg", &len);
	struct pix_report *rep = calloc(1, sizeof(*rep));
	struct model *m = NULL;
	static const struct {
		uint32_t line;
		const char *why;
	} want[] = {
	        {5, "bad netmask '255.255.0.255'"},
	        {7, "pool end 10.0.0.10 is before start 10.0.0.50"},
	        {9, "undefined access-list 'nosuchacl'"},
	        {10, "undefined interface 'dmz'"},
	        {11, "undefined transform-set 'nosuchset'"},
	        {13, "undefined access-list 'missing'"},
	};

	assert_int_equal(pix_parse(text, len, false, &m, rep), 0);
	assert_int_equal(rep->errors, 6);
	assert_int_equal(rep->unsupported, 1);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct pix_line_entry *e = entry_at(rep, want[i].line);

		assert_non_null(e);
		assert_int_equal(e->kind, PIX_LINE_ERROR);
		assert_non_null(strstr(e->reason, want[i].why));
	}
	assert_int_equal(entry_at(rep, 14)->kind, PIX_LINE_UNSUPPORTED);
	assert_non_null(strstr(entry_at(rep, 14)->reason, "unknown command 'frobnicate'"));
	/* not strict: every error line and the unknown line are kept verbatim */
	assert_int_equal(m->t[MT_PASSTHROUGH].n, 7);
	bool found = false;

	for (size_t i = 0; i < m->t[MT_PASSTHROUGH].n; i++) {
		const struct model_row *r = &m->t[MT_PASSTHROUGH].rows[i];

		if (strcmp(model_row_get(r, MT_PASSTHROUGH, "text"), "frobnicate the widgets") ==
		    0) {
			/* placed after the last mapped line before it (an access-list) */
			assert_string_equal(model_row_get(r, MT_PASSTHROUGH, "section"),
			                    "access-list");
			found = true;
		}
	}
	assert_true(found);
	/* the good pool and the route after the errors are there, the bad pool is not */
	assert_int_equal(m->t[MT_IP_POOL].n, 1);
	assert_string_equal(m->t[MT_IP_POOL].rows[0].v[0], "GOOD");
	assert_int_equal(m->t[MT_ROUTE].n, 1);
	model_free(m);
	pix_report_free(rep);

	/* strict: the same text is refused */
	rep = calloc(1, sizeof(*rep));
	assert_int_equal(pix_parse(text, len, true, &m, rep), -EINVAL);
	assert_int_equal(rep->errors, 6);
	model_free(m);
	pix_report_free(rep);
	free(text);
}

/* Names at PIX's limits (64 characters, 48 for nameif) are taken whole; one character more is an
 * error on its line naming the limit (the NAT model could not hold it whole). */
static void
test_name_limits(void **state)
{
	char n48[49], n49[50], n64[65], n65[66], text[1024];
	struct pix_report *rep = calloc(1, sizeof(*rep));
	struct model *m = NULL;

	memset(n48, 'n', 48);
	n48[48] = '\0';
	memset(n49, 'm', 49);
	n49[49] = '\0';
	memset(n64, 'g', 64);
	n64[64] = '\0';
	memset(n65, 'h', 65);
	n65[65] = '\0';
	snprintf(text, sizeof(text),
	         "nameif ethernet0 %s security0\n"
	         "nameif ethernet1 %s security100\n"
	         "object-group network %s\n"
	         " network-object host 10.1.1.1\n"
	         "access-list %s permit ip any any\n"
	         "access-list %s permit ip any any\n"
	         "ip local pool %s 10.0.0.1-10.0.0.9\n"
	         "ip local pool %s 10.0.1.1-10.0.1.9\n"
	         "object-group network %s\n",
	         n48, n49, n64, n64, n65, n64, n65, n65);
	assert_int_equal(pix_parse(text, strlen(text), false, &m, rep), 0);
	assert_int_equal(rep->errors, 4);
	for (uint32_t line = 1; line <= 9; line++) {
		const struct pix_line_entry *e = entry_at(rep, line);
		bool bad = line == 2 || line == 6 || line == 8 || line == 9;

		assert_non_null(e);
		if (!bad) {
			assert_int_not_equal(e->kind, PIX_LINE_ERROR);
			continue;
		}
		assert_int_equal(e->kind, PIX_LINE_ERROR);
		assert_non_null(strstr(e->reason, line == 2 ? "is 49 characters long: at most 48"
		                                            : "is 65 characters long: at most 64"));
	}
	assert_non_null(strstr(entry_at(rep, 6)->reason, "access-list name 'hhhh"));
	assert_int_equal(m->t[MT_OBJECT_GROUP].n, 1);
	assert_string_equal(model_row_get(&m->t[MT_OBJECT_GROUP].rows[0], MT_OBJECT_GROUP, "name"),
	                    n64);
	assert_int_equal(m->t[MT_ACCESS_LIST].n, 1);
	assert_int_equal(m->t[MT_IP_POOL].n, 1);
	model_free(m);
	pix_report_free(rep);
}

static void
test_access_list_forms(void **state)
{
	static const char text[] =
	        "nameif ethernet0 outside security0\n"
	        "names\n"
	        "name 10.1.1.10 web\n"
	        "object-group service WEB tcp\n"
	        "  port-object eq www\n"
	        "  port-object range 8000 8080\n"
	        "object-group network SRV\n"
	        "  network-object host web\n"
	        "object-group network ALL\n"
	        "  group-object SRV\n"
	        "access-list a permit tcp any object-group SRV object-group WEB\n"
	        "access-list a permit tcp 10.0.0.0 255.0.0.0 gt 1023 host web range ftp-data ftp\n"
	        "access-list a deny udp any neq 53 any lt 1024 log 3 interval 60\n"
	        "access-list a permit icmp any interface outside echo\n"
	        "access-list a remark the end  of it\n"
	        "access-list a permit tcp any any eq nosuchport\n"
	        "access-list a permit ip any 10.0.0.0 255.0.255.0\n"
	        "  group-object ALL\n";
	struct pix_report *rep;
	int rc;
	struct model *m = parse_str(text, false, &rep, &rc);
	const struct model_row *r;

	assert_int_equal(rc, 0);
	assert_int_equal(m->t[MT_ACE].n, 5);
	r = &m->t[MT_ACE].rows[0];
	assert_string_equal(model_row_get(r, MT_ACE, "dst_group_id"), "SRV");
	assert_string_equal(model_row_get(r, MT_ACE, "dst_port_group_id"), "WEB");
	r = &m->t[MT_ACE].rows[1];
	assert_string_equal(model_row_get(r, MT_ACE, "src_port_op"), "gt");
	assert_string_equal(model_row_get(r, MT_ACE, "src_port_low"), "1023");
	assert_string_equal(model_row_get(r, MT_ACE, "dst_address"), "10.1.1.10");
	assert_string_equal(model_row_get(r, MT_ACE, "dst_port_low"), "20");
	assert_string_equal(model_row_get(r, MT_ACE, "dst_port_high"), "21");
	r = &m->t[MT_ACE].rows[2];
	assert_string_equal(model_row_get(r, MT_ACE, "action"), "deny");
	assert_string_equal(model_row_get(r, MT_ACE, "src_port_op"), "neq");
	assert_string_equal(model_row_get(r, MT_ACE, "log_level"), "3");
	assert_string_equal(model_row_get(r, MT_ACE, "log_interval"), "60");
	r = &m->t[MT_ACE].rows[3];
	assert_string_equal(model_row_get(r, MT_ACE, "dst_interface_id"), "outside");
	assert_string_equal(model_row_get(r, MT_ACE, "icmp_type"), "echo");
	r = &m->t[MT_ACE].rows[4];
	assert_string_equal(model_row_get(r, MT_ACE, "remark"), "the end  of it");
	/* unknown port name and bad mask: errors naming the token */
	assert_int_equal(rep->errors, 2);
	assert_non_null(strstr(entry_at(rep, 16)->reason, "unknown port 'nosuchport'"));
	assert_non_null(strstr(entry_at(rep, 17)->reason, "bad netmask '255.0.255.0'"));
	/* an object-group sub-command after the block ended is not taken into the group */
	assert_int_equal(entry_at(rep, 18)->kind, PIX_LINE_UNSUPPORTED);
	model_free(m);
	pix_report_free(rep);
}

static void
test_nat_static_global_forms(void **state)
{
	static const char text[] =
	        "nameif ethernet0 outside security0\n"
	        "nameif ethernet1 inside security100\n"
	        "access-list pol permit tcp host 10.0.0.80 eq www any\n"
	        "global (outside) 1 192.0.2.10-192.0.2.20 netmask 255.255.255.0\n"
	        "global (outside) 2 192.0.2.30\n"
	        "global (outside) 3 interface\n"
	        "global (outside) 4 192.0.2.50-192.0.2.40\n"
	        "nat (inside) 0 access-list pol\n"
	        "nat (inside) 1 0 0\n"
	        "nat (outside) 2 10.0.0.0 255.0.0.0 outside dns 100 10\n"
	        "static (inside,outside) tcp interface www access-list pol 0 0\n"
	        "static (inside,outside) tcp interface 2222 10.0.0.22 ssh netmask 255.255.255.255 "
	        "0 0\n"
	        "static (inside,outside) 192.0.2.99 10.0.0.99 netmask 255.255.255.255 5 2\n"
	        "static (inside,dmz) 192.0.2.98 10.0.0.98\n";
	struct pix_report *rep;
	int rc;
	struct model *m = parse_str(text, false, &rep, &rc);

	assert_int_equal(m->t[MT_NAT_GLOBAL].n, 3);
	assert_string_equal(m->t[MT_NAT_GLOBAL].rows[0].v[2], "range");
	assert_string_equal(m->t[MT_NAT_GLOBAL].rows[1].v[2], "pat");
	assert_string_equal(m->t[MT_NAT_GLOBAL].rows[2].v[2], "interface");
	assert_non_null(strstr(entry_at(rep, 7)->reason, "before start"));
	assert_int_equal(m->t[MT_NAT_RULE].n, 3);
	assert_string_equal(model_row_get(&m->t[MT_NAT_RULE].rows[0], MT_NAT_RULE, "acl_id"),
	                    "pol");
	assert_string_equal(model_row_get(&m->t[MT_NAT_RULE].rows[1], MT_NAT_RULE, "address"),
	                    "0.0.0.0");
	assert_string_equal(model_row_get(&m->t[MT_NAT_RULE].rows[2], MT_NAT_RULE, "outside"), "1");
	assert_string_equal(model_row_get(&m->t[MT_NAT_RULE].rows[2], MT_NAT_RULE, "max_conns"),
	                    "100");
	assert_int_equal(m->t[MT_NAT_STATIC].n, 3);
	assert_string_equal(
	        model_row_get(&m->t[MT_NAT_STATIC].rows[0], MT_NAT_STATIC, "mapped_kind"),
	        "interface");
	assert_string_equal(
	        model_row_get(&m->t[MT_NAT_STATIC].rows[0], MT_NAT_STATIC, "mapped_port"), "80");
	assert_string_equal(model_row_get(&m->t[MT_NAT_STATIC].rows[1], MT_NAT_STATIC, "real_port"),
	                    "22");
	assert_non_null(strstr(entry_at(rep, 14)->reason, "undefined interface 'dmz'"));
	model_free(m);
	pix_report_free(rep);
}

static void
test_vpn_vocabulary(void **state)
{
	size_t len;
	char *text = slurp("tests/data/pix/own/site-to-site.cfg", &len);
	struct pix_report *rep = calloc(1, sizeof(*rep));
	struct model *m = NULL;
	const struct model_row *r;

	assert_int_equal(pix_parse(text, len, true, &m, rep), 0);
	assert_int_equal(rep->unsupported + rep->errors + rep->warnings, 0);
	assert_int_equal(m->t[MT_TRANSFORM_SET].n, 4);
	r = &m->t[MT_TRANSFORM_SET].rows[3];
	assert_string_equal(model_row_get(r, MT_TRANSFORM_SET, "ah"), "ah-sha-hmac");
	assert_string_equal(model_row_get(r, MT_TRANSFORM_SET, "mode"), "transport");
	/* dynamic map first, then map vpn 10, 20, 65535 */
	assert_int_equal(m->t[MT_CRYPTO_MAP].n, 4);
	assert_string_equal(m->t[MT_CRYPTO_MAP].rows[0].v[1], "1");
	r = &m->t[MT_CRYPTO_MAP].rows[2];
	assert_string_equal(model_row_get(r, MT_CRYPTO_MAP, "seq"), "20");
	assert_string_equal(model_row_get(r, MT_CRYPTO_MAP, "pfs_group"), "5");
	assert_int_equal(m->t[MT_CRYPTO_MAP_PEER].n, 3);
	assert_int_equal(m->t[MT_CRYPTO_MAP_TRANSFORM].n, 5);
	assert_int_equal(m->t[MT_ISAKMP_KEY].n, 2);
	assert_string_equal(
	        model_row_get(&m->t[MT_ISAKMP_KEY].rows[1], MT_ISAKMP_KEY, "no_config_mode"), "1");
	r = &m->t[MT_VPNGROUP].rows[0];
	assert_string_equal(model_row_get(r, MT_VPNGROUP, "dns_server2"), "10.10.0.54");
	assert_string_equal(model_row_get(r, MT_VPNGROUP, "split_tunnel_acl_id"), "split");
	assert_string_equal(model_row_get(r, MT_VPNGROUP, "split_dns"), "corp.example lab.example");
	assert_string_equal(model_row_get(r, MT_VPNGROUP, "backup_servers"),
	                    "203.0.113.50 203.0.113.51");
	assert_string_equal(model_row_get(r, MT_VPNGROUP, "pfs"), "1");
	model_free(m);
	pix_report_free(rep);
	free(text);
}

static void
test_pix7_and_garbage_do_not_crash(void **state)
{
	static const char *const texts[] = {
	        "interface Ethernet0\n nameif outside\n security-level 0\n ip address 1.2.3.4 "
	        "255.0.0.0\n",
	        "access-list\naccess-list x\naccess-list x permit\naccess-list x permit tcp\n"
	        "access-list x permit tcp any\nstatic (\nstatic (a,\nnat (x\nglobal (\n",
	        "crypto map\ncrypto map m\ncrypto map m 1\ncrypto map m 1 set\ncrypto map m 1 set "
	        "pfs "
	        "group99\nisakmp policy 1\nisakmp policy 1 hash\n",
	        "timeout\ntimeout conn\ntimeout conn 1:99:00\nvpngroup\nvpngroup g\nno\n\n\n  \n",
	        "object-group\nobject-group network\n network-object\n port-object eq\n",
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct pix_report *rep;
		int rc;
		struct model *m = parse_str(texts[i], false, &rep, &rc);
		char *out = NULL;

		assert_int_equal(rc, 0);
		assert_int_equal(rep->mapped, 0);
		for (size_t k = 0; k < rep->nentries; k++)
			if (rep->entries[k].kind != PIX_LINE_IGNORED)
				assert_non_null(rep->entries[k].reason);
		assert_int_equal(pix_export_model(m, false, &out), 0);
		free(out);
		model_free(m);
		pix_report_free(rep);
	}
}

static void
test_secrets_masked_in_report_and_kept_lines(void **state)
{
	static const char text[] = "nameif ethernet0 outside security0\n"
	                           "isakmp key sekrit1 address 1.2.3.4 netmask 255.0.255.0\n"
	                           "isakmp key sekrit2 address 1.2.3.5\n"
	                           "aaa-server T protocol tacacs+\n"
	                           "aaa-server T (outside) host 1.1.1.1 sekrit3 timeout 5\n"
	                           "aaa-server T (nowhere) host 1.1.1.2 key sekrit4 timeout 5\n"
	                           "failover lan key sekrit5\n"
	                           "vpngroup g password sekrit6\n"
	                           "username u password sekrit7 privilege 3\n";
	struct pix_report *rep;
	int rc;
	struct model *m = parse_str(text, false, &rep, &rc);

	assert_int_equal(rc, 0);
	for (size_t i = 0; i < rep->nentries; i++)
		assert_null(strstr(rep->entries[i].text, "sekrit"));
	for (size_t i = 0; i < m->t[MT_PASSTHROUGH].n; i++)
		assert_null(
		        strstr(model_row_get(&m->t[MT_PASSTHROUGH].rows[i], MT_PASSTHROUGH, "text"),
		               "sekrit"));
	/* kept lines: the bad-mask key line (error), the bad interface host line, failover */
	assert_int_equal(m->t[MT_PASSTHROUGH].n, 3);
	assert_string_equal(entry_at(rep, 2)->text,
	                    "isakmp key ******** address 1.2.3.4 netmask 255.0.255.0");
	/* the mapped ones are stored in their secret columns */
	assert_string_equal(
	        model_row_get(&m->t[MT_ISAKMP_KEY].rows[0], MT_ISAKMP_KEY, "key_secret"),
	        "sekrit2");
	assert_string_equal(model_row_get(&m->t[MT_AAA_HOST].rows[0], MT_AAA_HOST, "key_secret"),
	                    "sekrit3");
	assert_string_equal(
	        model_row_get(&m->t[MT_VPNGROUP].rows[0], MT_VPNGROUP, "password_secret"),
	        "sekrit6");
	model_free(m);
	pix_report_free(rep);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_seed_maps_everything),
	        cmocka_unit_test(test_pix_md5_known_answers),
	        cmocka_unit_test(test_messy_text),
	        cmocka_unit_test(test_errors_have_line_and_reason),
	        cmocka_unit_test(test_name_limits),
	        cmocka_unit_test(test_access_list_forms),
	        cmocka_unit_test(test_nat_static_global_forms),
	        cmocka_unit_test(test_vpn_vocabulary),
	        cmocka_unit_test(test_pix7_and_garbage_do_not_crash),
	        cmocka_unit_test(test_secrets_masked_in_report_and_kept_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
