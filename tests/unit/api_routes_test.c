/* Walks every route of the served OpenAPI document: the document and the router agree route by
 * route; without credentials every non-public route is 401; with a read-only token every unsafe
 * method is 403; with a session but no CSRF header every unsafe method is 403; with full
 * credentials no route answers 401/403/404-for-the-route/405. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "api_harness.h"

static struct harness h;

static int
setup(void **state)
{
	if (h_start(&h) < 0 || h_create_fixture(&h) < 0)
		return -1;
	return h_login(&h, "alice", "correct horse") == 200 ? 0 : -1;
}

static int
teardown(void **state)
{
	h_stop(&h);
	return 0;
}

static json_t *
fetch_doc(void)
{
	struct h_resp r;
	json_t *doc;

	assert_int_equal(h_call(&h, H_TOKEN, "GET", "/api/v1/openapi.json", NULL, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(r.json);
	doc = json_incref(r.json);
	h_resp_free(&r);
	return doc;
}

static bool
is_unsafe(const char *m)
{
	return strcmp(m, "get") != 0;
}

/* Fills {id}/{eid} with the fixture keys so the request reaches the handler. */
static void
concrete(const char *pattern, char *out, size_t len)
{
	char res[128];
	const char *p = pattern + strlen("/api/v1/");
	const char *brace = strstr(pattern, "/{");

	if (strncmp(pattern, "/api/v1/access-lists/{id}/entries", 33) == 0) {
		snprintf(out, len, "/api/v1/access-lists/1/entries%s",
		         strstr(pattern, "{eid}") != NULL ? "/2" : "");
		return;
	}
	if (brace == NULL) {
		snprintf(out, len, "%s", pattern);
		return;
	}
	snprintf(res, sizeof(res), "%.*s", (int)(brace - p), p);
	snprintf(out, len, "%.*s/%s", (int)(brace - pattern), pattern, h_fixture_key(res));
}

static void
test_doc_matches_router(void **state)
{
	json_t *doc = fetch_doc(), *paths = json_object_get(doc, "paths"), *item, *op;
	const char *path, *method;
	size_t documented = 0;

	assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.0.3");
	/* every documented operation is routed, with the documented auth level */
	json_object_foreach(paths, path, item)
	{
		json_object_foreach(item, method, op)
		{
			char upper[8];
			bool found = false;

			for (size_t i = 0; i <= strlen(method) && i < sizeof(upper); i++)
				upper[i] = (char)(method[i] >= 'a' ? method[i] - 32 : method[i]);
			for (size_t i = 0; i < h.api->nroutes; i++) {
				const struct api_route *r = &h.api->routes[i];

				if (strcmp(r->method, upper) == 0 &&
				    strcmp(r->pattern, path) == 0) {
					found = true;
					assert_string_equal(json_string_value(json_object_get(
					                            op, "x-portcullis-auth")),
					                    r->auth == API_AUTH_NONE   ? "none"
					                    : r->auth == API_AUTH_READ ? "read"
					                                               : "write");
				}
			}
			if (!found)
				fail_msg("documented but not routed: %s %s", upper, path);
			documented++;
		}
	}
	/* every route is documented */
	for (size_t i = 0; i < h.api->nroutes; i++) {
		const struct api_route *r = &h.api->routes[i];
		char lower[8];

		for (size_t j = 0; j <= strlen(r->method) && j < sizeof(lower); j++)
			lower[j] = (char)(r->method[j] >= 'A' && r->method[j] <= 'Z'
			                          ? r->method[j] + 32
			                          : r->method[j]);
		if (json_object_get(json_object_get(paths, r->pattern), lower) == NULL)
			fail_msg("routed but not documented: %s %s", r->method, r->pattern);
	}
	assert_int_equal(documented, h.api->nroutes);
	assert_true(documented > 150); /* 28 fixed + 6 per resource */
	json_decref(doc);
}

static void
walk(enum h_auth auth,
     void (*check)(const char *method, const char *path, json_t *op, struct h_resp *r))
{
	json_t *doc = fetch_doc(), *item, *op;
	const char *path, *method;

	json_object_foreach(json_object_get(doc, "paths"), path, item)
	{
		json_object_foreach(item, method, op)
		{
			char upper[8], url[256];
			struct h_resp r;

			if (strcmp(path, "/api/v1/events") == 0 && auth != H_NONE)
				continue; /* a stream: checked in api_live_test */
			for (size_t i = 0; i <= strlen(method) && i < sizeof(upper); i++)
				upper[i] = (char)(method[i] >= 'a' ? method[i] - 32 : method[i]);
			concrete(path, url, sizeof(url));
			assert_int_equal(h_call(&h, auth, upper, url,
			                        is_unsafe(method) && strcmp(method, "delete") != 0
			                                ? "{}"
			                                : NULL,
			                        &r),
			                 0);
			check(method, url, op, &r);
			h_resp_free(&r);
		}
	}
	json_decref(doc);
}

static void
check_noauth(const char *method, const char *url, json_t *op, struct h_resp *r)
{
	const char *a = json_string_value(json_object_get(op, "x-portcullis-auth"));

	if (strcmp(a, "none") == 0) {
		if (r->status == 401 && strcmp(url, "/api/v1/auth/login") != 0)
			fail_msg("public route %s %s answered 401", method, url);
		return;
	}
	if (r->status != 401)
		fail_msg("%s %s without credentials: expected 401, got %d", method, url, r->status);
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(r->json, "error"), "code")),
	        "unauthenticated");
}

static void
check_readonly(const char *method, const char *url, json_t *op, struct h_resp *r)
{
	const char *a = json_string_value(json_object_get(op, "x-portcullis-auth"));

	if (strcmp(a, "none") == 0)
		return;
	if (is_unsafe(method) && r->status != 403)
		fail_msg("%s %s with a read-only token: expected 403, got %d", method, url,
		         r->status);
	if (!is_unsafe(method) && (r->status == 401 || r->status == 403))
		fail_msg("%s %s with a read-only token: expected access, got %d", method, url,
		         r->status);
}

static void
check_nocsrf(const char *method, const char *url, json_t *op, struct h_resp *r)
{
	const char *a = json_string_value(json_object_get(op, "x-portcullis-auth"));

	if (strcmp(a, "none") == 0)
		return;
	if (is_unsafe(method) && r->status != 403)
		fail_msg("%s %s with a session but no CSRF token: expected 403, got %d", method,
		         url, r->status);
	if (is_unsafe(method))
		assert_string_equal(json_string_value(json_object_get(
		                            json_object_get(r->json, "error"), "code")),
		                    "csrf");
	if (!is_unsafe(method) && (r->status == 401 || r->status == 403))
		fail_msg("%s %s with a session: expected access, got %d", method, url, r->status);
}

static void
test_no_credentials(void **state)
{
	walk(H_NONE, check_noauth);
}

static void
test_read_only_token(void **state)
{
	walk(H_RO_TOKEN, check_readonly);
}

static void
test_session_without_csrf(void **state)
{
	walk(H_SESSION_NO_CSRF, check_nocsrf);
}

/* Full credentials reach every GET handler: nothing is 401/403/405, and every resource item
 * from the fixture is found. */
static void
check_full_get(const char *method, const char *url, json_t *op, struct h_resp *r)
{
	if (is_unsafe(method))
		return;
	if (r->status == 401 || r->status == 403 || r->status == 405 || r->status == 404 ||
	    (r->status >= 500 && r->status != 503))
		fail_msg("GET %s with full credentials: got %d %s", url, r->status, r->body);
}

static void
test_full_access_gets(void **state)
{
	json_t *doc = fetch_doc(), *item, *op;
	const char *path, *method;

	json_object_foreach(json_object_get(doc, "paths"), path, item)
	{
		json_object_foreach(item, method, op)
		{
			char url[256];
			struct h_resp r;

			if (strcmp(method, "get") != 0 || strcmp(path, "/api/v1/events") == 0)
				continue;
			concrete(path, url, sizeof(url));
			assert_int_equal(h_call(&h, H_SESSION, "GET", url, NULL, &r), 0);
			check_full_get(method, url, op, &r);
			h_resp_free(&r);
		}
	}
	json_decref(doc);
}

static void
test_unknown_and_method(void **state)
{
	struct h_resp r;

	assert_int_equal(h_status(&h, H_TOKEN, "GET", "/api/v1/nope", NULL), 404);
	assert_int_equal(h_call(&h, H_TOKEN, "PUT", "/api/v1/pools", "{}", &r), 0);
	assert_int_equal(r.status, 405);
	assert_non_null(strstr(r.headers, "Allow: GET, POST"));
	h_resp_free(&r);
	/* a wrong bearer token is not rescued by a valid cookie */
	assert_int_equal(h_request(&h, "GET", "/api/v1/pools", "Authorization: Bearer pct_0000\r\n",
	                           NULL, 0, &r),
	                 0);
	assert_int_equal(r.status, 401);
	h_resp_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_doc_matches_router),
	        cmocka_unit_test(test_no_credentials),
	        cmocka_unit_test(test_read_only_token),
	        cmocka_unit_test(test_session_without_csrf),
	        cmocka_unit_test(test_full_access_gets),
	        cmocka_unit_test(test_unknown_and_method),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
