/* The route table: {method, pattern, auth, handler}. Fixed routes are listed here; each routed
 * resource descriptor adds its five or six. The OpenAPI document is written from the same
 * descriptors plus the fixed list (with request body schemas where there is a body), and the
 * unit test checks that the document and the router agree route by route. */
#include "api/api_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fixed_route {
	const char *method;
	const char *pattern;
	enum api_auth auth;
	api_handler fn;
	const char *tag;
	const char *summary;
};

static const struct fixed_route fixed[] = {
        {"GET", "/api/v1/health", API_AUTH_NONE, api_live_health, "system",
         "Liveness and versions (no authentication)"},
        {"GET", "/api/v1/openapi.json", API_AUTH_READ, api_live_openapi, "system", "This document"},
        {"POST", "/api/v1/auth/login", API_AUTH_NONE, api_auth_login, "auth",
         "Log in: sets cookie pc_session, returns the CSRF token"},
        {"POST", "/api/v1/auth/logout", API_AUTH_WRITE, api_auth_logout, "auth", "Log out"},
        {"GET", "/api/v1/auth/session", API_AUTH_READ, api_auth_session, "auth",
         "The current session (user, csrf_token, expires_at)"},
        {"GET", "/api/v1/admins", API_AUTH_READ, api_admins_list, "auth", "List admins"},
        {"POST", "/api/v1/admins", API_AUTH_WRITE, api_admins_create, "auth",
         "Create an admin {name, password}"},
        {"PATCH", "/api/v1/admins/{id}", API_AUTH_WRITE, api_admins_patch, "auth",
         "Change an admin's password {password}"},
        {"DELETE", "/api/v1/admins/{id}", API_AUTH_WRITE, api_admins_delete, "auth",
         "Delete an admin (not the last one)"},
        {"GET", "/api/v1/tokens", API_AUTH_READ, api_tokens_list, "auth", "List API tokens"},
        {"POST", "/api/v1/tokens", API_AUTH_WRITE, api_tokens_create, "auth",
         "Create an API token {name, read_only}; the token is shown once"},
        {"DELETE", "/api/v1/tokens/{id}", API_AUTH_WRITE, api_tokens_delete, "auth",
         "Revoke an API token"},
        {"GET", "/api/v1/config/pix", API_AUTH_READ, api_pix_export, "config",
         "Running configuration as PIX text (?show_secrets=true)"},
        {"POST", "/api/v1/config/pix", API_AUTH_WRITE, api_pix_import, "config",
         "Import PIX text (?apply=false: report only; true: apply)"},
        {"GET", "/api/v1/sa/ike", API_AUTH_READ, api_live_ike, "live", "IKE (ISAKMP) SAs"},
        {"DELETE", "/api/v1/sa/ike/{id}", API_AUTH_WRITE, api_live_clear_sa, "live",
         "Clear an IKE SA and its IPsec SAs (disconnect)"},
        {"GET", "/api/v1/sa/ipsec", API_AUTH_READ, api_live_ipsec, "live",
         "IPsec SAs with counters"},
        {"GET", "/api/v1/uauth", API_AUTH_READ, api_live_uauth, "live",
         "show uauth: counts and one row per user"},
        {"DELETE", "/api/v1/uauth", API_AUTH_WRITE, api_live_clear_uauth_all, "live",
         "clear uauth (everyone)"},
        {"DELETE", "/api/v1/uauth/{id}", API_AUTH_WRITE, api_live_clear_uauth, "live",
         "clear uauth for one entry"},
        {"GET", "/api/v1/leases", API_AUTH_READ, api_live_leases, "live",
         "Address leases from the pools"},
        {"GET", "/api/v1/accounting", API_AUTH_READ, api_live_accounting, "live",
         "Accounting records (?user=&type=&service=&from=&to=&offset=&limit=)"},
        {"GET", "/api/v1/accounting.csv", API_AUTH_READ, api_live_accounting_csv, "live",
         "Accounting records as CSV (Cisco Secure ACS layout)"},
        {"GET", "/api/v1/stats", API_AUTH_READ, api_live_stats, "live", "Dashboard counters"},
        {"GET", "/api/v1/aaa/health", API_AUTH_READ, api_live_aaa_health, "live",
         "AAA servers: up/dead, last error, latency"},
        {"GET", "/api/v1/audit", API_AUTH_READ, api_live_audit, "system", "Audit log"},
        {"GET", "/api/v1/events", API_AUTH_READ, api_sse_events, "live",
         "Server-Sent Events: tunnel-up|tunnel-down|uauth-added|uauth-removed|accounting|"
         "config-applied"},
        {"GET", "/metrics", API_AUTH_READ, api_live_metrics, "system", "Prometheus text format"},
};

/* Request bodies of the fixed routes, for the document. */
static const struct {
	const char *method; /* lower case, as in the document */
	const char *pattern;
	const char *ctype;
	const char *schema;
} bodies[] = {
        {"post", "/api/v1/auth/login", "application/json",
         "{\"type\":\"object\",\"required\":[\"username\",\"password\"],"
         "\"additionalProperties\":false,\"properties\":{\"username\":{\"type\":\"string\"},"
         "\"password\":{\"type\":\"string\",\"writeOnly\":true}}}"},
        {"post", "/api/v1/admins", "application/json",
         "{\"type\":\"object\",\"required\":[\"name\",\"password\"],"
         "\"additionalProperties\":false,\"properties\":{\"name\":{\"type\":\"string\","
         "\"maxLength\":64},\"password\":{\"type\":\"string\",\"minLength\":8,"
         "\"writeOnly\":true}}}"},
        {"patch", "/api/v1/admins/{id}", "application/json",
         "{\"type\":\"object\",\"required\":[\"password\"],\"additionalProperties\":false,"
         "\"properties\":{\"password\":{\"type\":\"string\",\"minLength\":8,"
         "\"writeOnly\":true}}}"},
        {"post", "/api/v1/tokens", "application/json",
         "{\"type\":\"object\",\"required\":[\"name\"],\"additionalProperties\":false,"
         "\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":64},"
         "\"read_only\":{\"type\":\"boolean\"}}}"},
        {"post", "/api/v1/config/pix", "text/plain", "{\"type\":\"string\"}"},
};

static int
add_route(struct api *api, size_t *cap, const char *method, const char *pattern, enum api_auth auth,
          api_handler fn, const struct api_resource *res, const char *tag, const char *summary)
{
	struct api_route *r;

	if (api->nroutes == *cap) {
		size_t ncap = *cap == 0 ? 64 : *cap * 2;
		struct api_route *nr = realloc(api->routes, ncap * sizeof(*nr));

		if (nr == NULL)
			return -ENOMEM;
		api->routes = nr;
		*cap = ncap;
	}
	r = &api->routes[api->nroutes];
	r->pattern = strdup(pattern);
	if (r->pattern == NULL)
		return -ENOMEM;
	r->method = method;
	r->auth = auth;
	r->fn = fn;
	r->res = res;
	r->tag = tag;
	r->summary = summary;
	api->nroutes++;
	return 0;
}

/* "/api/v1/" + path, and the item path with the key segment appended. */
static void
res_patterns(const struct api_resource *res, char *coll, char *item, size_t len)
{
	const char *path = api_resource_path(res);

	snprintf(coll, len, "/api/v1/%s", path);
	snprintf(item, len, "/api/v1/%s/%s", path, api_resource_nested(res) ? "{eid}" : "{id}");
}

int
api_routes_build(struct api *api)
{
	size_t cap = 0;
	int rc = 0;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]) && rc == 0; i++)
		rc = add_route(api, &cap, fixed[i].method, fixed[i].pattern, fixed[i].auth,
		               fixed[i].fn, NULL, fixed[i].tag, fixed[i].summary);
	for (size_t i = 0; i < api_resource_count && rc == 0; i++) {
		const struct api_resource *res = api_resources[i];
		char coll[160], item[160];

		if (api_resource_path(res) == NULL)
			continue;
		res_patterns(res, coll, item, sizeof(coll));
		rc = add_route(api, &cap, "GET", coll, API_AUTH_READ, api_res_list, res, "config",
		               api_resource_summary(res));
		if (rc == 0)
			rc = add_route(api, &cap, "POST", coll, API_AUTH_WRITE, api_res_create, res,
			               "config", api_resource_summary(res));
		if (rc == 0)
			rc = add_route(api, &cap, "GET", item, API_AUTH_READ, api_res_get, res,
			               "config", api_resource_summary(res));
		if (rc == 0)
			rc = add_route(api, &cap, "PUT", item, API_AUTH_WRITE, api_res_replace, res,
			               "config", api_resource_summary(res));
		if (rc == 0)
			rc = add_route(api, &cap, "PATCH", item, API_AUTH_WRITE, api_res_patch, res,
			               "config", api_resource_summary(res));
		if (rc == 0)
			rc = add_route(api, &cap, "DELETE", item, API_AUTH_WRITE, api_res_delete,
			               res, "config", api_resource_summary(res));
	}
	if (rc < 0)
		api_routes_free(api);
	return rc;
}

void
api_routes_free(struct api *api)
{
	for (size_t i = 0; i < api->nroutes; i++)
		free(api->routes[i].pattern);
	free(api->routes);
	api->routes = NULL;
	api->nroutes = 0;
}

/* ---- OpenAPI 3 ---- */

static json_t *
error_responses(bool write, bool needs_auth)
{
	json_t *r = json_object();
	json_t *err = json_pack("{s:{s:{s:{s:s}}}}", "content", "application/json", "schema",
	                        "$ref", "#/components/schemas/Error");

	if (needs_auth)
		json_object_set_new(r, "401",
		                    json_pack("{s:s, s:O}", "description", "no or bad credentials",
		                              "content", json_object_get(err, "content")));
	if (write) {
		json_object_set_new(r, "400",
		                    json_pack("{s:s}", "description",
		                              "malformed JSON, wrong type, unknown field"));
		json_object_set_new(r, "403",
		                    json_pack("{s:s}", "description",
		                              "read-only token, or missing X-CSRF-Token"));
		json_object_set_new(
		        r, "409", json_pack("{s:s}", "description", "duplicate, or still in use"));
		json_object_set_new(r, "413", json_pack("{s:s}", "description", "body over 1 MiB"));
		json_object_set_new(r, "422",
		                    json_pack("{s:s}", "description",
		                              "invalid value, or the engine refused the "
		                              "change (nothing was stored)"));
		json_object_set_new(r, "503",
		                    json_pack("{s:s}", "description", "engine not responding"));
	}
	json_decref(err);
	return r;
}

static json_t *
path_params(const char *pattern)
{
	json_t *params = json_array();
	const char *p = pattern;

	while ((p = strchr(p, '{')) != NULL) {
		const char *e = strchr(p, '}');

		if (e == NULL)
			break;
		json_array_append_new(params, json_pack("{s:s%, s:s, s:b, s:{s:s}}", "name", p + 1,
		                                        (size_t)(e - p - 1), "in", "path",
		                                        "required", 1, "schema", "type", "string"));
		p = e + 1;
	}
	return params;
}

static void
doc_add(json_t *paths, const char *pattern, const char *method, const char *summary,
        const char *tag, enum api_auth auth, json_t *schema, bool list)
{
	json_t *item = json_object_get(paths, pattern), *op;
	char lower[8];
	bool write = strcmp(method, "GET") != 0;

	if (item == NULL) {
		item = json_object();
		json_object_set_new(paths, pattern, item);
	}
	for (size_t i = 0; i < sizeof(lower) - 1 && method[i] != '\0'; i++)
		lower[i] = (char)(method[i] - 'A' + 'a');
	lower[strlen(method) < sizeof(lower) ? strlen(method) : sizeof(lower) - 1] = '\0';
	op = json_pack("{s:s, s:[s], s:o, s:o}", "summary", summary, "tags", tag, "parameters",
	               path_params(pattern), "responses",
	               error_responses(write, auth != API_AUTH_NONE));
	if (auth == API_AUTH_NONE)
		json_object_set_new(op, "security", json_array());
	json_object_set_new(op, "x-portcullis-auth",
	                    json_string(auth == API_AUTH_NONE   ? "none"
	                                : auth == API_AUTH_READ ? "read"
	                                                        : "write"));
	if (schema != NULL) {
		json_t *ok =
		        list ? json_pack("{s:s, s:{s:{s:s, s:O}, s:{s:s}, s:{s:s}, s:{s:s}}}",
		                         "type", "object", "properties", "items", "type", "array",
		                         "items", schema, "total", "type", "integer", "offset",
		                         "type", "integer", "limit", "type", "integer")
		             : json_incref(schema);
		const char *code = strcmp(method, "POST") == 0 ? "201" : "200";

		if (strcmp(method, "DELETE") == 0) {
			json_object_set_new(json_object_get(op, "responses"), "204",
			                    json_pack("{s:s}", "description", "deleted"));
			json_decref(ok);
		} else {
			json_object_set_new(json_object_get(op, "responses"), code,
			                    json_pack("{s:s, s:{s:{s:o}}}", "description", "ok",
			                              "content", "application/json", "schema", ok));
		}
		if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
		    strcmp(method, "PATCH") == 0)
			json_object_set_new(op, "requestBody",
			                    json_pack("{s:b, s:{s:{s:O}}}", "required", 1,
			                              "content", "application/json", "schema",
			                              schema));
		if (list)
			json_object_set_new(
			        op, "parameters",
			        json_pack("[o, {s:s, s:s, s:{s:s}}, {s:s, s:s, s:{s:s}}, "
			                  "{s:s, s:s, s:{s:s}}]",
			                  path_params(pattern), "name", "offset", "in", "query",
			                  "schema", "type", "integer", "name", "limit", "in",
			                  "query", "schema", "type", "integer", "name", "q", "in",
			                  "query", "schema", "type", "string"));
	} else {
		json_object_set_new(json_object_get(op, "responses"), "200",
		                    json_pack("{s:s}", "description", "ok"));
	}
	/* flatten the path parameter array that json_pack nested as the first element */
	{
		json_t *params = json_object_get(op, "parameters");

		if (json_array_size(params) > 0 && json_is_array(json_array_get(params, 0))) {
			json_t *flat = json_array(), *inner = json_array_get(params, 0);

			json_array_extend(flat, inner);
			for (size_t i = 1; i < json_array_size(params); i++)
				json_array_append(flat, json_array_get(params, i));
			json_object_set_new(op, "parameters", flat);
		}
	}
	json_object_set_new(item, lower, op);
}

json_t *
api_openapi_doc(struct api *api)
{
	json_t *paths = json_object(), *schemas = json_object();

	/* fixed routes: documented from the same list as the router uses */
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		doc_add(paths, fixed[i].pattern, fixed[i].method, fixed[i].summary, fixed[i].tag,
		        fixed[i].auth, NULL, false);
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		json_t *op = json_object_get(json_object_get(paths, bodies[i].pattern),
		                             bodies[i].method);
		json_t *schema = json_loads(bodies[i].schema, 0, NULL);

		if (op == NULL || schema == NULL) {
			json_decref(schema);
			continue;
		}
		json_object_set_new(op, "requestBody",
		                    json_pack("{s:b, s:{s:{s:o}}}", "required", 1, "content",
		                              bodies[i].ctype, "schema", schema));
	}
	for (size_t i = 0; i < api_resource_count; i++) {
		const struct api_resource *res = api_resources[i];
		char coll[160], item[160], name[96];
		json_t *schema, *ref;

		if (api_resource_path(res) == NULL)
			continue;
		res_patterns(res, coll, item, sizeof(coll));
		snprintf(name, sizeof(name), "%s", api_resource_path(res));
		for (char *p = name; *p != '\0'; p++)
			if (*p == '/' || *p == '{' || *p == '}')
				*p = '_';
		schema = api_resource_schema(res);
		json_object_set_new(schemas, name, schema);
		ref = json_pack("{s:s+}", "$ref", "#/components/schemas/", name);
		doc_add(paths, coll, "GET", api_resource_summary(res), "config", API_AUTH_READ, ref,
		        true);
		doc_add(paths, coll, "POST", api_resource_summary(res), "config", API_AUTH_WRITE,
		        ref, false);
		doc_add(paths, item, "GET", api_resource_summary(res), "config", API_AUTH_READ, ref,
		        false);
		doc_add(paths, item, "PUT", api_resource_summary(res), "config", API_AUTH_WRITE,
		        ref, false);
		doc_add(paths, item, "PATCH", api_resource_summary(res), "config", API_AUTH_WRITE,
		        ref, false);
		doc_add(paths, item, "DELETE", api_resource_summary(res), "config", API_AUTH_WRITE,
		        ref, false);
		json_decref(ref);
	}
	json_object_set_new(schemas, "Error",
	                    json_pack("{s:s, s:{s:{s:s, s:{s:{s:s}, s:{s:s}, s:{s:s}}}}}", "type",
	                              "object", "properties", "error", "type", "object",
	                              "properties", "code", "type", "string", "message", "type",
	                              "string", "field", "type", "string"));
	return json_pack(
	        "{s:s, s:{s:s, s:s, s:s}, s:[{s:s}], s:o, s:{s:o, s:{s:{s:s, s:s, s:s}, s:{s:s, "
	        "s:s}}}, s:[{s:[]}, {s:[]}]}",
	        "openapi", "3.0.3", "info", "title", "Portcullis REST API", "version",
	        PORTCULLIS_VERSION, "description",
	        "PIX 6.3-style gateway management. Deviations from API-CONTRACT.md: extra "
	        "resources aaa-console, isakmp-interfaces, isakmp-client-pools, mgmt-access; a "
	        "PUT keeps write-only secrets that are not given (send null to clear them); "
	        "nested access-list entries use {eid} for the entry id.",
	        "servers", "url", "/", "paths", paths, "components", "schemas", schemas,
	        "securitySchemes", "session", "type", "apiKey", "in", "cookie", "name",
	        "pc_session", "bearer", "type", "http", "scheme", "bearer", "security", "session",
	        "bearer");
}
