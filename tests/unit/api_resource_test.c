/* Every resource through its whole life: created by the fixture (POST), read back (GET), the GET
 * output sent back as a PUT (round trip: output-only fields such as id, *_set, warnings and the
 * reference names are accepted), an empty PATCH changes nothing, a PATCH changes one field, then
 * DELETE in reverse dependency order and a 404 afterwards. Nested access-list entries too. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "api_harness.h"

static struct harness h;

static int
setup(void **state)
{
	return h_start(&h) < 0 || h_create_fixture(&h) < 0 ? -1 : 0;
}

static int
teardown(void **state)
{
	h_stop(&h);
	return 0;
}

static void
item_url(size_t i, char *url, size_t len)
{
	snprintf(url, len, "/api/v1/%s/%s", h_fixture[i][0], h_fixture_key(h_fixture[i][0]));
}

static void
test_get_put_roundtrip_patch(void **state)
{
	for (size_t i = 0; i < H_FIXTURES; i++) {
		char url[256], *body, *before;
		struct h_resp r, r2;

		item_url(i, url, sizeof(url));
		assert_int_equal(h_call(&h, H_TOKEN, "GET", url, NULL, &r), 0);
		if (r.status != 200)
			fail_msg("GET %s: %d %s", url, r.status, r.body);
		/* every field the fixture set reads back (secrets as *_set) */
		{
			json_t *in = json_loads(h_fixture[i][1], 0, NULL), *v;
			const char *k;

			json_object_foreach(in, k, v)
			{
				char set[64];

				snprintf(set, sizeof(set), "%s_set", k);
				if (json_object_get(r.json, k) == NULL &&
				    json_object_get(r.json, set) == NULL)
					fail_msg("GET %s: field %s missing", url, k);
				if (json_is_string(v) && json_object_get(r.json, set) == NULL &&
				    !json_is_array(json_object_get(r.json, k)) &&
				    !json_equal(v, json_object_get(r.json, k)))
					fail_msg("GET %s: %s is not what was stored", url, k);
			}
			json_decref(in);
		}
		before = h_config_snapshot(&h);
		body = json_dumps(r.json, JSON_COMPACT);
		assert_int_equal(h_call(&h, H_TOKEN, "PUT", url, body, &r2), 0);
		if (r2.status != 200)
			fail_msg("PUT %s with its own GET output: %d %s", url, r2.status, r2.body);
		if (!json_equal(r.json, r2.json))
			fail_msg("PUT %s round trip changed the item:\n%s\n%s", url, r.body,
			         r2.body);
		h_resp_free(&r2);
		free(body);
		assert_int_equal(h_call(&h, H_TOKEN, "PATCH", url, "{}", &r2), 0);
		assert_int_equal(r2.status, 200);
		assert_true(json_equal(r.json, r2.json));
		h_resp_free(&r2);
		{
			char *after = h_config_snapshot(&h);

			if (strcmp(before, after) != 0)
				fail_msg("%s: PUT of the same item or an empty PATCH changed the "
				         "stored configuration",
				         url);
			free(after);
		}
		free(before);
		h_resp_free(&r);
	}
}

static void
test_patch_one_field(void **state)
{
	struct h_resp r;

	assert_int_equal(h_call(&h, H_TOKEN, "PATCH", "/api/v1/interfaces/1", "{\"mtu\":1400}", &r),
	                 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_integer_value(json_object_get(r.json, "mtu")), 1400);
	assert_string_equal(json_string_value(json_object_get(r.json, "nameif")), "outside");
	h_resp_free(&r);
	/* a nested entry: move the remark, then replace the list's entries inline */
	assert_int_equal(h_call(&h, H_TOKEN, "PATCH", "/api/v1/access-lists/1/entries/2",
	                        "{\"remark\":\"pool\"}", &r),
	                 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_integer_value(json_object_get(r.json, "acl_id")), 1);
	h_resp_free(&r);
	assert_int_equal(h_call(&h, H_TOKEN, "GET", "/api/v1/access-lists/1", NULL, &r), 0);
	assert_int_equal(json_array_size(json_object_get(r.json, "entries")), 2);
	h_resp_free(&r);
	assert_int_equal(h_call(&h, H_TOKEN, "PATCH", "/api/v1/access-lists/1",
	                        "{\"entries\":[{\"action\":\"remark\",\"remark\":\"only\"}]}", &r),
	                 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_array_size(json_object_get(r.json, "entries")), 1);
	h_resp_free(&r);
	assert_int_equal(h_count(&h, "SELECT count(*) FROM access_list_entry"), 1);
	/* an entry of another list is not reachable through this one */
	assert_int_equal(
	        h_call(&h, H_TOKEN, "POST", "/api/v1/access-lists", "{\"name\":\"102\"}", &r), 0);
	assert_int_equal(r.status, 201);
	h_resp_free(&r);
	assert_int_equal(h_status(&h, H_TOKEN, "GET", "/api/v1/access-lists/2/entries/3", NULL),
	                 404);
}

static void
test_delete_everything(void **state)
{
	struct h_resp r;

	/* the extra list from the previous test first, then the fixture backwards */
	assert_int_equal(h_status(&h, H_TOKEN, "DELETE", "/api/v1/access-lists/2", NULL), 204);
	for (size_t n = H_FIXTURES; n > 0; n--) {
		char url[256];
		size_t i = n - 1;

		if (strcmp(h_fixture[i][0], "access-lists/1/entries") == 0)
			snprintf(url, sizeof(url), "/api/v1/access-lists/1/entries/%lld",
			         (long long)h_count(&h, "SELECT min(id) FROM access_list_entry"));
		else
			item_url(i, url, sizeof(url));
		assert_int_equal(h_call(&h, H_TOKEN, "DELETE", url, NULL, &r), 0);
		if (r.status != 204)
			fail_msg("DELETE %s: %d %s", url, r.status, r.body);
		h_resp_free(&r);
		assert_int_equal(h_status(&h, H_TOKEN, "GET", url, NULL), 404);
	}
	/* children went with their parents */
	assert_int_equal(h_count(&h, "SELECT count(*) FROM object_group_member"), 0);
	assert_int_equal(h_count(&h, "SELECT count(*) FROM aaa_server_host"), 0);
	assert_int_equal(h_count(&h, "SELECT count(*) FROM crypto_map_transform"), 0);
	assert_int_equal(h_count(&h, "SELECT count(*) FROM audit_log WHERE action = 'delete'"),
	                 (int64_t)H_FIXTURES + 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_get_put_roundtrip_patch),
	        cmocka_unit_test(test_patch_one_field),
	        cmocka_unit_test(test_delete_everything),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
