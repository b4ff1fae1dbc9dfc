/* Bad input on every resource, driven by the served OpenAPI schemas: malformed JSON, non-object
 * bodies, unknown fields, wrong JSON types for every property, invalid addresses and netmasks,
 * out-of-range integers and enum values, oversized bodies. Each answer is a 4xx naming the field,
 * and the stored configuration is byte-for-byte unchanged. Also 404s, 409s (duplicates, still in
 * use) and write-only secrets. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "api_harness.h"

static struct harness h;
static json_t *doc;

static int
setup(void **state)
{
	struct h_resp r;

	if (h_start(&h) < 0 || h_create_fixture(&h) < 0)
		return -1;
	if (h_call(&h, H_TOKEN, "GET", "/api/v1/openapi.json", NULL, &r) < 0 || r.status != 200)
		return -1;
	doc = json_incref(r.json);
	h_resp_free(&r);
	return 0;
}

static int
teardown(void **state)
{
	json_decref(doc);
	h_stop(&h);
	return 0;
}

/* "access-lists/1/entries" -> the schema of "/api/v1/access-lists/{id}/entries" */
static json_t *
schema_of(const char *fixture_path)
{
	char pattern[160], name[160];
	const char *one = strstr(fixture_path, "/1/");

	if (one != NULL)
		snprintf(pattern, sizeof(pattern), "%.*s/{id}/%s", (int)(one - fixture_path),
		         fixture_path, one + 3);
	else
		snprintf(pattern, sizeof(pattern), "%s", fixture_path);
	snprintf(name, sizeof(name), "%s", pattern);
	for (char *p = name; *p != '\0'; p++)
		if (*p == '/' || *p == '{' || *p == '}')
			*p = '_';
	return json_object_get(json_object_get(json_object_get(doc, "components"), "schemas"),
	                       name);
}

/* Sends body (POST to the collection, or PUT/PATCH to the fixture item) and checks the status,
 * the error field, and that nothing changed. */
static void
expect_rejected(const char *method, const char *fixture_path, const char *body, int status,
                const char *field)
{
	char url[256], *before, *after;
	struct h_resp r;
	json_t *e;

	if (strcmp(method, "POST") == 0)
		snprintf(url, sizeof(url), "/api/v1/%s", fixture_path);
	else
		snprintf(url, sizeof(url), "/api/v1/%s/%s", fixture_path,
		         h_fixture_key(fixture_path));
	before = h_config_snapshot(&h);
	assert_int_equal(h_call(&h, H_TOKEN, method, url, body, &r), 0);
	if (r.status != status)
		fail_msg("%s %s %s: expected %d, got %d %s", method, url, body, status, r.status,
		         r.body);
	e = json_object_get(r.json, "error");
	assert_non_null(json_string_value(json_object_get(e, "message")));
	if (field != NULL) {
		const char *got = json_string_value(json_object_get(e, "field"));

		if (got == NULL || strstr(got, field) == NULL)
			fail_msg("%s %s %s: expected the error to name field '%s', got '%s' (%s)",
			         method, url, body, field, got != NULL ? got : "(none)", r.body);
	}
	h_resp_free(&r);
	after = h_config_snapshot(&h);
	if (strcmp(before, after) != 0)
		fail_msg("%s %s %s: the stored configuration changed", method, url, body);
	free(before);
	free(after);
}

static char *
with_prop(const char *base, const char *prop, json_t *value)
{
	json_t *o = json_loads(base, 0, NULL);
	char *s;

	json_object_set_new(o, prop, value);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static void
test_malformed_and_unknown(void **state)
{
	for (size_t i = 0; i < H_FIXTURES; i++) {
		const char *p = h_fixture[i][0];
		char *b;

		expect_rejected("POST", p, "{\"name\": ", 400, NULL);
		expect_rejected("POST", p, "[1, 2]", 400, NULL);
		expect_rejected("POST", p, "\"just a string\"", 400, NULL);
		expect_rejected("POST", p, "{\"a\":1,\"a\":2}", 400, NULL); /* duplicate keys */
		b = with_prop(h_fixture[i][1], "zz_unknown", json_integer(1));
		expect_rejected("POST", p, b, 400, "zz_unknown");
		expect_rejected("PATCH", p, b, 400, "zz_unknown");
		expect_rejected("PUT", p, b, 400, "zz_unknown");
		free(b);
		expect_rejected("POST", p, "{}", 422, NULL); /* required fields missing */
	}
}

/* A value of the wrong JSON type for a property of the given schema type. */
static json_t *
wrong_type(json_t *prop)
{
	const char *t = json_string_value(json_object_get(prop, "type"));

	if (strcmp(t, "string") == 0)
		return json_pack("[i]", 1);
	if (strcmp(t, "integer") == 0)
		return json_string("12");
	if (strcmp(t, "boolean") == 0)
		return json_string("yes");
	if (strcmp(t, "array") == 0)
		return json_string("not an array");
	return json_pack("{s:i}", "x", 1);
}

static void
test_wrong_types_every_property(void **state)
{
	size_t checked = 0;

	for (size_t i = 0; i < H_FIXTURES; i++) {
		const char *p = h_fixture[i][0];
		json_t *props = json_object_get(schema_of(p), "properties"), *prop;
		const char *name;

		assert_non_null(props);
		json_object_foreach(props, name, prop)
		{
			char *b;

			if (json_is_true(json_object_get(prop, "readOnly")))
				continue;
			b = with_prop(h_fixture[i][1], name, wrong_type(prop));
			expect_rejected("POST", p, b, 400, name);
			expect_rejected("PATCH", p, b, 400, name);
			free(b);
			checked++;
		}
	}
	assert_true(checked > 200);
}

static void
test_invalid_values_every_property(void **state)
{
	size_t checked = 0;

	for (size_t i = 0; i < H_FIXTURES; i++) {
		const char *p = h_fixture[i][0];
		json_t *props = json_object_get(schema_of(p), "properties"), *prop;
		const char *name;

		json_object_foreach(props, name, prop)
		{
			const char *fmt = json_string_value(json_object_get(prop, "format"));
			json_t *max = json_object_get(prop, "maximum");
			json_t *min = json_object_get(prop, "minimum");
			json_t *bad[4] = {NULL};
			int n = 0;

			if (json_is_true(json_object_get(prop, "readOnly")))
				continue;
			if (fmt != NULL && strcmp(fmt, "ipv4") == 0) {
				bad[n++] = json_string("10.89.129.300");
				bad[n++] = json_string("10.89.129");
				bad[n++] = json_string("10.89.129.1 ");
			} else if (fmt != NULL && strcmp(fmt, "ipv4-netmask") == 0) {
				bad[n++] = json_string("255.0.255.0");
				bad[n++] = json_string("255.255.255.256");
			} else if (json_object_get(prop, "enum") != NULL) {
				bad[n++] = json_string("bogus-value");
			} else if (json_is_integer(max) && json_integer_value(max) < INT64_MAX) {
				bad[n++] = json_integer(json_integer_value(max) + 1);
				bad[n++] = json_integer(json_integer_value(min) - 1);
			} else if (strcmp(json_string_value(json_object_get(prop, "type")),
			                  "string") == 0 &&
			           !json_is_true(json_object_get(prop, "writeOnly"))) {
				bad[n++] =
				        json_string("line one\nline two"); /* PIX text injection */
			}
			for (int k = 0; k < n; k++) {
				char *b = with_prop(h_fixture[i][1], name, bad[k]);

				expect_rejected("POST", p, b, 422, name);
				expect_rejected("PATCH", p, b, 422, name);
				free(b);
				checked++;
			}
		}
	}
	assert_true(checked > 150);
}

static void
test_ranges_and_references(void **state)
{
	expect_rejected("POST", "pools",
	                "{\"name\":\"P2\",\"start_address\":\"10.1.1.9\",\"end_address\":"
	                "\"10.1.1.1\"}",
	                422, "end_address");
	expect_rejected("POST", "pools",
	                "{\"name\":\"P2\",\"start_address\":\"10.1.0.0\",\"end_address\":"
	                "\"10.2.0.0\"}",
	                422, "end_address");
	expect_rejected("PATCH", "pools", "{\"start_address\":\"10.89.129.205\"}", 422,
	                "end_address");
	expect_rejected("POST", "nat-globals",
	                "{\"interface\":\"outside\",\"nat_id\":2,\"kind\":\"range\","
	                "\"start_address\":\"192.168.1.20\",\"end_address\":\"192.168.1.10\"}",
	                422, "end_address");
	expect_rejected("POST", "fixups",
	                "{\"protocol\":\"sip\",\"port_low\":5070,\"port_high\":5060}", 422,
	                "port_high");
	expect_rejected("POST", "routes",
	                "{\"interface\":\"nosuchif\",\"destination\":\"0.0.0.0\",\"netmask\":"
	                "\"0.0.0.0\",\"gateway\":\"192.168.1.3\"}",
	                422, "interface");
	expect_rejected("POST", "routes",
	                "{\"interface_id\":99,\"destination\":\"0.0.0.0\",\"netmask\":\"0.0.0.0\","
	                "\"gateway\":\"192.168.1.3\"}",
	                422, "interface_id");
	expect_rejected("POST", "crypto-maps",
	                "{\"map_name\":\"m\",\"seq\":20,\"transform_sets\":[\"nosuchset\"]}", 422,
	                "transform_sets[0]");
	expect_rejected("POST", "object-groups",
	                "{\"name\":\"g2\",\"kind\":\"network\",\"members\":[{\"kind\":\"host\"}]}",
	                422, "members[0]");
	expect_rejected("POST", "access-lists",
	                "{\"name\":\"102\",\"entries\":[{\"action\":\"permit\",\"protocol\":\"ip\","
	                "\"src_kind\":\"any\",\"dst_kind\":\"host\",\"dst_address\":\"1.2.3\"}]}",
	                422, "entries[0].dst_address");
	expect_rejected("POST", "isakmp-policies",
	                "{\"priority\":20,\"encryption\":\"des\",\"dh_group\":3}", 422, "dh_group");
	expect_rejected("PUT", "isakmp-policies", "{\"priority\":11}", 422, "priority");
}

static void
test_oversized_body(void **state)
{
	size_t n = API_MAX_BODY + 100;
	char *big = malloc(n + 1), *before, *after;
	struct h_resp r;
	char hdr[256];

	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	big[n] = '\0';
	snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", h.token);
	for (size_t i = 0; i < H_FIXTURES; i += 7) {
		char url[160];

		snprintf(url, sizeof(url), "/api/v1/%s", h_fixture[i][0]);
		before = h_config_snapshot(&h);
		assert_int_equal(h_request(&h, "POST", url, hdr, big, n, &r), 0);
		assert_int_equal(r.status, 413);
		h_resp_free(&r);
		after = h_config_snapshot(&h);
		assert_string_equal(before, after);
		free(before);
		free(after);
	}
	free(big);
}

static void
test_not_found_and_conflicts(void **state)
{
	struct h_resp r;
	char *before, *after;

	assert_int_equal(h_status(&h, H_TOKEN, "GET", "/api/v1/pools/999", NULL), 404);
	assert_int_equal(h_status(&h, H_TOKEN, "GET", "/api/v1/pools/abc", NULL), 404);
	assert_int_equal(h_status(&h, H_TOKEN, "DELETE", "/api/v1/pools/999", NULL), 404);
	assert_int_equal(h_status(&h, H_TOKEN, "PATCH", "/api/v1/pools/999", "{}"), 404);
	assert_int_equal(h_status(&h, H_TOKEN, "GET", "/api/v1/access-lists/7/entries", NULL), 404);
	/* duplicate name */
	expect_rejected("POST", "pools",
	                "{\"name\":\"VPNpool\",\"start_address\":\"10.1.1.1\",\"end_address\":"
	                "\"10.1.1.2\"}",
	                409, "name");
	/* still in use: vpngroup vpn3000 and the isakmp client pool use VPNpool */
	before = h_config_snapshot(&h);
	assert_int_equal(h_call(&h, H_TOKEN, "DELETE", "/api/v1/pools/1", NULL, &r), 0);
	assert_int_equal(r.status, 409);
	assert_non_null(strstr(r.body, "still in use"));
	h_resp_free(&r);
	/* a pool with an active lease, referenced by nothing else */
	assert_int_equal(h_status(&h, H_TOKEN, "POST", "/api/v1/pools",
	                          "{\"name\":\"P9\",\"start_address\":\"10.9.0.1\",\"end_address\":"
	                          "\"10.9.0.9\"}"),
	                 201);
	assert_int_equal(db_exec(h.db,
	                         "INSERT INTO ip_lease(pool_id, address, username, state) SELECT "
	                         "id, '10.9.0.1', 'bob', 'active' FROM ip_pool WHERE name = 'P9'",
	                         NULL),
	                 0);
	free(before);
	before = h_config_snapshot(&h);
	assert_int_equal(h_call(&h, H_TOKEN, "DELETE", "/api/v1/pools/2", NULL, &r), 0);
	assert_int_equal(r.status, 409);
	assert_non_null(strstr(r.body, "active lease"));
	h_resp_free(&r);
	after = h_config_snapshot(&h);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

static void
test_secrets_write_only(void **state)
{
	struct h_resp r;
	char *audit;

	assert_int_equal(h_call(&h, H_TOKEN, "GET", "/api/v1/isakmp-keys/1", NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_null(strstr(r.body, "cisco1234"));
	assert_true(json_is_true(json_object_get(r.json, "key_set")));
	assert_int_equal(json_array_size(json_object_get(r.json, "warnings")), 1);
	h_resp_free(&r);
	assert_int_equal(h_call(&h, H_TOKEN, "GET", "/api/v1/aaa-server-groups/1", NULL, &r), 0);
	assert_null(strstr(r.body, "secretkey"));
	h_resp_free(&r);
	/* PUT without the key keeps it; explicit null clears it */
	assert_int_equal(h_call(&h, H_TOKEN, "PUT", "/api/v1/isakmp-keys/1",
	                        "{\"address\":\"0.0.0.0\",\"netmask\":\"0.0.0.0\"}", &r),
	                 0);
	assert_int_equal(r.status, 200);
	assert_true(json_is_true(json_object_get(r.json, "key_set")));
	h_resp_free(&r);
	assert_int_equal(h_count(&h, "SELECT count(*) FROM isakmp_key WHERE key_secret = "
	                             "'cisco1234'"),
	                 1);
	/* replacing the hosts array keeps the key of the host with the same address */
	assert_int_equal(h_status(&h, H_TOKEN, "PATCH", "/api/v1/aaa-server-groups/1",
	                          "{\"hosts\":[{\"address\":\"10.89.129.134\",\"timeout_s\":7}]}"),
	                 200);
	assert_int_equal(h_count(&h, "SELECT count(*) FROM aaa_server_host WHERE key_secret = "
	                             "'secretkey' AND timeout_s = 7"),
	                 1);
	/* local user passwords are stored as PBKDF2 hashes */
	assert_int_equal(h_count(&h, "SELECT count(*) FROM local_user WHERE hash_kind = "
	                             "'pbkdf2-sha256' AND password_hash LIKE 'pbkdf2-sha256$%'"),
	                 1);
	/* no secret reaches the audit log */
	{
		sqlite3_stmt *st;

		assert_int_equal(db_prepare(h.db,
		                            "SELECT group_concat(coalesce(before_json, '') || "
		                            "coalesce(after_json, '')) FROM audit_log",
		                            &st, NULL),
		                 0);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		audit = strdup((const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
	}
	assert_non_null(strstr(audit, "VPNpool"));
	assert_null(strstr(audit, "cisco1234"));
	assert_null(strstr(audit, "secretkey"));
	assert_null(strstr(audit, "grouppw"));
	assert_null(strstr(audit, "pbkdf2-sha256$"));
	free(audit);
	/* set and clear a secret */
	assert_int_equal(
	        h_call(&h, H_TOKEN, "PATCH", "/api/v1/vpngroups/1", "{\"password\":null}", &r), 0);
	assert_int_equal(r.status, 200);
	assert_false(json_is_true(json_object_get(r.json, "password_set")));
	assert_false(json_is_true(json_object_get(r.json, "has_password")));
	h_resp_free(&r);
}

static void
test_list_paging_filter(void **state)
{
	struct h_resp r;

	for (int i = 0; i < 5; i++) {
		char b[160];

		snprintf(b, sizeof(b), "{\"address\":\"10.0.0.%d\",\"name\":\"host%d\"}", i + 1, i);
		assert_int_equal(h_status(&h, H_TOKEN, "POST", "/api/v1/names", b), 201);
	}
	assert_int_equal(h_call(&h, H_TOKEN, "GET", "/api/v1/names?offset=2&limit=2", NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_integer_value(json_object_get(r.json, "total")), 6);
	assert_int_equal(json_array_size(json_object_get(r.json, "items")), 2);
	assert_string_equal(json_string_value(json_object_get(
	                            json_array_get(json_object_get(r.json, "items"), 0), "name")),
	                    "host1");
	h_resp_free(&r);
	assert_int_equal(h_call(&h, H_TOKEN, "GET", "/api/v1/names?q=host3", NULL, &r), 0);
	assert_int_equal(json_integer_value(json_object_get(r.json, "total")), 1);
	h_resp_free(&r);
	assert_int_equal(h_call(&h, H_TOKEN, "GET", "/api/v1/names?address=10.0.0.2", NULL, &r), 0);
	assert_int_equal(json_integer_value(json_object_get(r.json, "total")), 1);
	h_resp_free(&r);
	assert_int_equal(h_call(&h, H_TOKEN, "GET", "/api/v1/routes?interface=outside", NULL, &r),
	                 0);
	assert_int_equal(json_integer_value(json_object_get(r.json, "total")), 1);
	h_resp_free(&r);
	assert_int_equal(h_status(&h, H_TOKEN, "GET", "/api/v1/names?limit=0", NULL), 400);
	assert_int_equal(h_status(&h, H_TOKEN, "GET", "/api/v1/names?offset=-1", NULL), 400);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_malformed_and_unknown),
	        cmocka_unit_test(test_wrong_types_every_property),
	        cmocka_unit_test(test_invalid_values_every_property),
	        cmocka_unit_test(test_ranges_and_references),
	        cmocka_unit_test(test_oversized_body),
	        cmocka_unit_test(test_not_found_and_conflicts),
	        cmocka_unit_test(test_secrets_write_only),
	        cmocka_unit_test(test_list_paging_filter),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
