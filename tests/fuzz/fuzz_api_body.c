/* libFuzzer: request bodies through the generic resource layer (validation, reference lookup,
 * children, SQL writes) without HTTP. The first input byte picks the resource, the second the
 * method (create, replace, patch); the rest is the JSON body. Runs against an in-memory database
 * holding the schema and a few referenced rows. Any crash, sanitizer report or a reply without a
 * status fails. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "db/db.h"
#include "gateway/core/log.h"

static struct db *db;
static struct api api;

static void
init(void)
{
	struct pc_err err = {0};

	log_set_all_levels(LOG_LVL_ERROR);
	if (db_open(":memory:", &db, &err) < 0)
		abort();
	db_exec(db,
	        "INSERT INTO interface(hw_name, nameif, security) VALUES ('ethernet0', 'outside', "
	        "0);"
	        "INSERT INTO access_list(name) VALUES ('101');"
	        "INSERT INTO ip_pool(name, start_address, end_address) VALUES ('VPNpool', "
	        "'10.0.0.1', '10.0.0.9');"
	        "INSERT INTO aaa_server_group(name, protocol) VALUES ('AuthInbound', 'tacacs+');"
	        "INSERT INTO transform_set(name, esp_encryption) VALUES ('myset', 'esp-des');"
	        "INSERT INTO object_group(name, kind) VALUES ('g', 'network');",
	        NULL);
	if (api_routes_build(&api) < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const api_handler handlers[] = {api_res_create, api_res_replace, api_res_patch};
	const struct api_route *route = NULL;
	struct api_req req = {0};
	size_t nres = 0, pick;

	if (db == NULL)
		init();
	if (size < 2 || size > 65536)
		return 0;
	for (size_t i = 0; i < api.nroutes; i++)
		if (strcmp(api.routes[i].method, "POST") == 0 && api.routes[i].res != NULL)
			nres++;
	pick = data[0] % nres;
	for (size_t i = 0, n = 0; i < api.nroutes; i++) {
		if (strcmp(api.routes[i].method, "POST") != 0 || api.routes[i].res == NULL)
			continue;
		if (n++ == pick)
			route = &api.routes[i];
	}
	req.api = &api;
	req.route = route;
	req.method = "POST";
	req.url = route->pattern;
	snprintf(req.actor, sizeof(req.actor), "fuzz");
	snprintf(req.peer, sizeof(req.peer), "127.0.0.1");
	req.db = db;
	req.body = malloc(size - 2 + 1);
	memcpy(req.body, data + 2, size - 2);
	req.body[size - 2] = '\0';
	req.body_len = size - 2;
	/* item routes: id 1 (or the nested entry 1 of list 1) */
	if (data[1] % 3 != 0 || strstr(route->pattern, "{id}") != NULL) {
		req.args[0] = strdup("1");
		req.args[1] = strdup("1");
		req.nargs = strstr(route->pattern, "{id}") != NULL ? 2 : 1;
		if (data[1] % 3 == 0)
			req.nargs = 1;
	}
	handlers[data[1] % 3](&req);
	if (!req.replied || req.status < 200 || req.status > 599)
		abort();
	if (db_in_transaction(db))
		abort(); /* every path ends its transaction */
	json_decref(req.json);
	free(req.text);
	free(req.body);
	for (int i = 0; i < API_MAX_PATH_ARGS; i++)
		free(req.args[i]);
	return 0;
}
