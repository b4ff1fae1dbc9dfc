/* libmicrohttpd glue: per-request state created on the first callback and freed in the completion
 * callback, request bodies in a capped buffer, exactly one reply per request. */
#include "api/api.h"
#include "db/db.h"
#include "gateway/core/engine.h"
#include "gateway/core/log.h"
#include "gateway/core/loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define API_MAX_BODY (1024 * 1024) /* request bodies larger than this get 413 */

struct api {
	struct MHD_Daemon *mhd;
	struct api_config cfg;
	int listen_fd;
};

struct request {
	char *body;
	size_t body_len;
	int too_large;
};

int
api_listen(const char *spec, struct pc_err *err)
{
	char host[64];
	const char *colon = strrchr(spec, ':');
	struct sockaddr_in sa = {.sin_family = AF_INET};
	char *end;
	long port;
	int fd, one = 1;

	if (colon == NULL || (size_t)(colon - spec) >= sizeof(host))
		return pc_err_set(err, PC_ERR_INVALID, "api", "--api: expected ADDR:PORT, got '%s'",
		                  spec);
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 1 || port > 65535)
		return pc_err_set(err, PC_ERR_INVALID, "api",
		                  "--api: expected a port 1-65535 after ':', got '%s'", colon + 1);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return pc_err_set(err, PC_ERR_INVALID, "api",
		                  "--api: expected an IPv4 address before ':', got '%s'", host);
	sa.sin_port = htons((uint16_t)port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return pc_err_set(err, PC_ERR_INTERNAL, "api", "socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		return pc_err_set(err, PC_ERR_INTERNAL, "api", "bind %s: %s", spec, strerror(e));
	}
	if (listen(fd, 128) < 0) {
		int e = errno;

		close(fd);
		return pc_err_set(err, PC_ERR_INTERNAL, "api", "listen %s: %s", spec, strerror(e));
	}
	return fd;
}

static enum MHD_Result
reply_json(struct MHD_Connection *conn, unsigned status, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT);
	struct MHD_Response *resp;
	enum MHD_Result rc;

	json_decref(body);
	if (text == NULL)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "application/json");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	rc = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return rc;
}

struct health {
	uint64_t uptime_ms;
	const char *backend;
};

static int
engine_health(struct loop *loop, void *arg)
{
	struct health *h = arg;
	struct engine *eng = NULL;

	(void)eng;
	h->uptime_ms = loop_now_ms();
	return 0;
}

static enum MHD_Result
handle_health(struct api *api, struct MHD_Connection *conn)
{
	struct health h = {0};
	struct engine *eng = api->cfg.engine;
	struct pc_err err = {0};
	struct db *db;
	int schema = -1;
	int rc;

	rc = loop_call(eng->loop, engine_health, &h, 2000);
	if (db_open_raw(api->cfg.db_path, &db, &err) == 0) {
		schema = db_schema_version(db);
		db_close(db);
	}
	return reply_json(
	        conn, rc == 0 ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
	        json_pack("{s:s, s:s, s:i, s:I, s:s, s:b, s:s}", "status",
	                  rc == 0 ? "ok" : "engine not responding", "version", PORTCULLIS_VERSION,
	                  "schema_version", schema, "uptime_s",
	                  (json_int_t)(rc == 0 ? (h.uptime_ms - eng->started_ms) / 1000 : 0),
	                  "sa_backend", eng->ipsec != NULL ? eng->ipsec->ops->name : "none",
	                  "data_plane", eng->data_plane_ok, "netns", eng->netns));
}

static enum MHD_Result
error_reply(struct MHD_Connection *conn, unsigned status, const char *code, const char *msg)
{
	return reply_json(conn, status,
	                  json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", msg));
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
	struct api *api = cls;
	struct request *req = *con_cls;

	if (req == NULL) {
		req = calloc(1, sizeof(*req));
		if (req == NULL)
			return MHD_NO;
		*con_cls = req;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (req->body_len + *upload_size > API_MAX_BODY) {
			req->too_large = 1;
		} else {
			char *nb = realloc(req->body, req->body_len + *upload_size + 1);

			if (nb == NULL)
				return MHD_NO;
			memcpy(nb + req->body_len, upload_data, *upload_size);
			req->body = nb;
			req->body_len += *upload_size;
			req->body[req->body_len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (req->too_large)
		return error_reply(conn, MHD_HTTP_CONTENT_TOO_LARGE, "too_large",
		                   "request body larger than 1048576 bytes");
	if (strcmp(url, "/api/v1/health") == 0) {
		if (strcmp(method, "GET") != 0)
			return error_reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method",
			                   "health supports GET only");
		return handle_health(api, conn);
	}
	return error_reply(conn, MHD_HTTP_NOT_FOUND, "not_found", "no such resource");
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
	struct request *req = *con_cls;

	if (req == NULL)
		return;
	free(req->body);
	free(req);
	*con_cls = NULL;
}

int
api_start(const struct api_config *cfg, struct api **out, struct pc_err *err)
{
	struct api *api;

	*out = NULL;
	api = calloc(1, sizeof(*api));
	if (api == NULL)
		return -ENOMEM;
	api->cfg = *cfg;
	api->mhd = MHD_start_daemon(
	        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL,
	        on_request, api, MHD_OPTION_LISTEN_SOCKET, cfg->listen_fd,
	        MHD_OPTION_NOTIFY_COMPLETED, on_completed, api, MHD_OPTION_CONNECTION_TIMEOUT,
	        (unsigned)60, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)4, MHD_OPTION_END);
	if (api->mhd == NULL) {
		free(api);
		return pc_err_set(err, PC_ERR_INTERNAL, "api", "MHD_start_daemon failed");
	}
	*out = api;
	return 0;
}

void
api_stop(struct api *api)
{
	if (api == NULL)
		return;
	MHD_stop_daemon(api->mhd);
	free(api);
}
