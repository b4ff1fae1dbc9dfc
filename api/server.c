/* libmicrohttpd glue: per-request state created on the first callback and freed in the completion
 * callback, routing and authentication decided before the body is read, request bodies in a capped
 * buffer, exactly one reply per request, security headers on every response, static files. */
#include "api/api_int.h"
#include "gateway/core/log.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

int64_t
api_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- database connections: a small pool shared by the MHD threads ---- */

static struct db *
db_acquire(struct api *api)
{
	struct db *db = NULL;
	struct pc_err err = {0};
	int slot = -1;

	pthread_mutex_lock(&api->db_lock);
	for (;;) {
		for (int i = 0; i < API_DB_POOL; i++)
			if (!api->db_busy[i]) {
				slot = i;
				break;
			}
		if (slot >= 0)
			break;
		pthread_cond_wait(&api->db_cond, &api->db_lock);
	}
	api->db_busy[slot] = true;
	db = api->db_pool[slot];
	pthread_mutex_unlock(&api->db_lock);
	if (db == NULL) {
		if (db_open_raw(api->cfg.db_path, &db, &err) < 0) {
			log_error(LOG_API, "%s", err.msg);
			pthread_mutex_lock(&api->db_lock);
			api->db_busy[slot] = false;
			pthread_cond_signal(&api->db_cond);
			pthread_mutex_unlock(&api->db_lock);
			return NULL;
		}
		pthread_mutex_lock(&api->db_lock);
		api->db_pool[slot] = db;
		pthread_mutex_unlock(&api->db_lock);
	}
	return db;
}

static void
db_release(struct api *api, struct db *db)
{
	if (db == NULL)
		return;
	db_rollback(db); /* a handler that bailed out must not leave a transaction open */
	pthread_mutex_lock(&api->db_lock);
	for (int i = 0; i < API_DB_POOL; i++)
		if (api->db_pool[i] == db)
			api->db_busy[i] = false;
	pthread_cond_signal(&api->db_cond);
	pthread_mutex_unlock(&api->db_lock);
}

/* ---- replies ---- */

void
api_reply_json(struct api_req *req, unsigned status, json_t *body)
{
	if (req->replied) {
		json_decref(body);
		return;
	}
	req->replied = true;
	req->status = status;
	req->json = body;
}

void
api_reply_text(struct api_req *req, unsigned status, const char *ctype, char *text, size_t len)
{
	if (req->replied) {
		free(text);
		return;
	}
	req->replied = true;
	req->status = status;
	req->text = text;
	req->text_len = len;
	req->ctype = ctype;
}

void
api_reply_error(struct api_req *req, unsigned status, const char *code, const char *field,
                const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	json_t *e;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	e = json_pack("{s:s, s:s}", "code", code, "message", msg);
	if (field != NULL && field[0] != '\0')
		json_object_set_new(e, "field", json_string(field));
	api_reply_json(req, status, json_pack("{s:o}", "error", e));
}

void
api_reply_err(struct api_req *req, const struct pc_err *err)
{
	static const struct {
		enum pc_err_kind kind;
		unsigned status;
		const char *code;
	} map[] = {
	        {PC_ERR_INVALID, 422, "invalid"},      {PC_ERR_NOTFOUND, 404, "not_found"},
	        {PC_ERR_CONFLICT, 409, "conflict"},    {PC_ERR_FORBIDDEN, 403, "forbidden"},
	        {PC_ERR_APPLY, 422, "apply_rejected"}, {PC_ERR_INTERNAL, 500, "internal"},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].kind == err->kind) {
			api_reply_error(req, map[i].status, map[i].code, err->field, "%s",
			                err->msg);
			return;
		}
	api_reply_error(req, 500, "internal", err->field, "%s",
	                err->msg[0] != '\0' ? err->msg : "unknown error");
}

void
api_reply_rc(struct api_req *req, int rc, const struct pc_err *err)
{
	if (rc == -EBADMSG)
		api_reply_error(req, 400, "bad_request", err->field, "%s", err->msg);
	else if (rc == -ETIMEDOUT || rc == -ESHUTDOWN || rc == -EAGAIN)
		api_reply_error(req, 503, "unavailable", err->field, "%s", err->msg);
	else
		api_reply_err(req, err);
}

const char *
api_query(struct api_req *req, const char *key)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

int
api_query_paging(struct api_req *req, int64_t *offset, int64_t *limit, int64_t max_limit)
{
	const char *names[2] = {"offset", "limit"};
	int64_t *vals[2] = {offset, limit};
	int64_t max[2] = {INT32_MAX, max_limit};

	*offset = 0;
	*limit = 50;
	for (int i = 0; i < 2; i++) {
		const char *s = api_query(req, names[i]);
		char *end;
		long long v;

		if (s == NULL)
			continue;
		errno = 0;
		v = strtoll(s, &end, 10);
		if (errno != 0 || end == s || *end != '\0' || v < (i == 1 ? 1 : 0) || v > max[i]) {
			api_reply_error(req, 400, "bad_request", names[i],
			                "%s: expected an integer %d-%lld, got '%.40s'", names[i],
			                i == 1 ? 1 : 0, (long long)max[i], s);
			return -EINVAL;
		}
		*vals[i] = v;
	}
	return 0;
}

json_t *
api_body_object(struct api_req *req)
{
	json_error_t jerr;
	json_t *o;

	if (req->body == NULL || req->body_len == 0) {
		api_reply_error(req, 400, "bad_request", NULL,
		                "expected a JSON object body, got none");
		return NULL;
	}
	o = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL) {
		api_reply_error(req, 400, "bad_json", NULL,
		                "malformed JSON at line %d column %d: %s", jerr.line, jerr.column,
		                jerr.text);
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		api_reply_error(req, 400, "bad_request", NULL, "expected a JSON object body");
		return NULL;
	}
	return o;
}

static void
add_security_headers(struct api *api, struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "Content-Security-Policy",
	                        "default-src 'self'; script-src 'self'; style-src 'self'; "
	                        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
	                        "base-uri 'none'; form-action 'self'");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	if (api->https)
		MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
}

static enum MHD_Result
send_reply(struct api_req *req)
{
	struct MHD_Response *resp = req->raw;
	enum MHD_Result rc;
	bool is_api = strncmp(req->url, "/api/", 5) == 0 || strcmp(req->url, "/metrics") == 0;

	db_release(req->api, req->db);
	req->db = NULL;
	if (!req->replied && resp == NULL)
		api_reply_error(req, 500, "internal", NULL, "handler sent no reply");
	if (resp == NULL && req->json != NULL) {
		char *text = json_dumps(req->json, JSON_COMPACT);

		if (text == NULL)
			return MHD_NO;
		resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
		if (resp == NULL) {
			free(text);
			return MHD_NO;
		}
		MHD_add_response_header(resp, "Content-Type", "application/json");
	} else if (resp == NULL) {
		resp = MHD_create_response_from_buffer(
		        req->text_len, req->text != NULL ? req->text : "",
		        req->text != NULL ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
		if (resp == NULL)
			return MHD_NO;
		req->text = NULL;
		if (req->ctype != NULL)
			MHD_add_response_header(resp, "Content-Type", req->ctype);
	}
	if (is_api)
		MHD_add_response_header(resp, "Cache-Control", "no-store");
	add_security_headers(req->api, resp);
	if (req->set_cookie[0] != '\0')
		MHD_add_response_header(resp, "Set-Cookie", req->set_cookie);
	if (req->allow[0] != '\0')
		MHD_add_response_header(resp, "Allow", req->allow);
	if (req->status == 429)
		MHD_add_response_header(resp, "Retry-After", "60");
	rc = MHD_queue_response(req->conn, req->status != 0 ? req->status : 200, resp);
	MHD_destroy_response(resp);
	req->raw = NULL;
	return rc;
}

/* ---- routing ---- */

/* Matches url against pattern; captured {..} segments go to req->args. */
static bool
pattern_match(const char *pattern, const char *url, struct api_req *req, bool capture)
{
	const char *p = pattern, *u = url;
	int n = 0;

	while (*p != '\0' && *u != '\0') {
		if (*p == '{') {
			const char *pe = strchr(p, '}');
			const char *ue = strchr(u, '/');
			size_t len = ue != NULL ? (size_t)(ue - u) : strlen(u);

			if (pe == NULL || len == 0 || n >= API_MAX_PATH_ARGS)
				return false;
			if (capture) {
				req->args[n] = strndup(u, len);
				if (req->args[n] == NULL)
					return false;
			}
			n++;
			p = pe + 1;
			u += len;
			continue;
		}
		if (*p != *u)
			return false;
		p++;
		u++;
	}
	if (*p != '\0' || *u != '\0')
		return false;
	if (capture)
		req->nargs = n;
	return true;
}

static const struct api_route *
route_find(struct api_req *req, const char *method, const char *url)
{
	bool path_known = false;
	size_t allow_len = 0;

	req->allow[0] = '\0';
	for (size_t i = 0; i < req->api->nroutes; i++) {
		const struct api_route *r = &req->api->routes[i];

		if (!pattern_match(r->pattern, url, req, false))
			continue;
		path_known = true;
		if (strcmp(r->method, method) == 0 ||
		    (strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0)) {
			pattern_match(r->pattern, url, req, true);
			return r;
		}
		if (allow_len + strlen(r->method) + 3 < sizeof(req->allow))
			allow_len += (size_t)snprintf(req->allow + allow_len,
			                              sizeof(req->allow) - allow_len, "%s%s",
			                              allow_len > 0 ? ", " : "", r->method);
	}
	if (path_known)
		api_reply_error(req, 405, "method_not_allowed", NULL, "%s is not allowed on %s",
		                method, url);
	else
		api_reply_error(req, 404, "not_found", NULL, "no resource at %s", url);
	return NULL;
}

static bool
method_is_safe(const char *m)
{
	return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "OPTIONS") == 0;
}

/* ---- static files ---- */

static const char *
content_type_of(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
	        {".html", "text/html; charset=utf-8"},
	        {".js", "text/javascript; charset=utf-8"},
	        {".mjs", "text/javascript; charset=utf-8"},
	        {".css", "text/css; charset=utf-8"},
	        {".json", "application/json"},
	        {".svg", "image/svg+xml"},
	        {".png", "image/png"},
	        {".ico", "image/x-icon"},
	        {".txt", "text/plain; charset=utf-8"},
	        {".woff2", "font/woff2"},
	};
	const char *dot = strrchr(path, '.');

	for (size_t i = 0; dot != NULL && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

static void
serve_static(struct api_req *req)
{
	char want[PATH_MAX], real[PATH_MAX], root[PATH_MAX];
	const char *rel = req->url;
	struct stat stbuf;
	int fd;

	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		snprintf(req->allow, sizeof(req->allow), "GET, HEAD");
		api_reply_error(req, 405, "method_not_allowed", NULL, "static files are read-only");
		return;
	}
	/* no "..", no backslashes, no NUL tricks: only plain relative paths below webui_dir */
	if (strstr(rel, "..") != NULL || strchr(rel, '\\') != NULL || rel[0] != '/') {
		api_reply_error(req, 404, "not_found", NULL, "no file at that path");
		return;
	}
	if (strcmp(rel, "/") == 0)
		rel = "/index.html";
	if (req->api->cfg.webui_dir == NULL || realpath(req->api->cfg.webui_dir, root) == NULL ||
	    (size_t)snprintf(want, sizeof(want), "%s%s", root, rel) >= sizeof(want) ||
	    realpath(want, real) == NULL || strncmp(real, root, strlen(root)) != 0 ||
	    real[strlen(root)] != '/') {
		api_reply_error(req, 404, "not_found", NULL, "no file at %s", req->url);
		return;
	}
	fd = open(real, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &stbuf) < 0 || !S_ISREG(stbuf.st_mode)) {
		if (fd >= 0)
			close(fd);
		api_reply_error(req, 404, "not_found", NULL, "no file at %s", req->url);
		return;
	}
	req->raw = MHD_create_response_from_fd((uint64_t)stbuf.st_size, fd);
	if (req->raw == NULL) {
		close(fd);
		api_reply_error(req, 500, "internal", NULL, "MHD_create_response_from_fd failed");
		return;
	}
	MHD_add_response_header(req->raw, "Content-Type", content_type_of(real));
	MHD_add_response_header(req->raw, "Cache-Control", "no-cache");
	req->status = 200;
	req->replied = true;
}

/* ---- the MHD callbacks ---- */

static void
peer_of(struct MHD_Connection *conn, char *out, size_t len)
{
	const union MHD_ConnectionInfo *ci =
	        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	snprintf(out, len, "unknown");
	if (ci == NULL || ci->client_addr == NULL)
		return;
	if (ci->client_addr->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, out,
		          (socklen_t)len);
	else if (ci->client_addr->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ci->client_addr)->sin6_addr, out,
		          (socklen_t)len);
}

/* First callback: route, authenticate and check the declared size before reading any body. */
static bool
admit(struct api_req *req)
{
	const char *cl;
	const struct api_route *r;

	if (strncmp(req->url, "/api/", 5) != 0 && strcmp(req->url, "/metrics") != 0)
		return true; /* static file: decided on the last callback */
	r = route_find(req, req->method, req->url);
	if (r == NULL)
		return false;
	req->route = r;
	req->db = db_acquire(req->api);
	if (req->db == NULL) {
		api_reply_error(req, 503, "unavailable", NULL, "database not available");
		return false;
	}
	if (r->auth != API_AUTH_NONE) {
		const char *hdr;

		if (api_auth_identify(req) < 0) {
			api_reply_error(req, 401, "unauthenticated", NULL,
			                "log in (POST /api/v1/auth/login) or send Authorization: "
			                "Bearer <token>");
			return false;
		}
		if (!method_is_safe(req->method) || r->auth == API_AUTH_WRITE) {
			if (req->read_only) {
				api_reply_error(req, 403, "read_only", NULL,
				                "this API token is read-only");
				return false;
			}
			hdr = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
			                                  "X-CSRF-Token");
			if (req->princ == API_PRINC_SESSION &&
			    (hdr == NULL || req->csrf[0] == '\0' ||
			     strlen(hdr) != strlen(req->csrf) ||
			     CRYPTO_memcmp(hdr, req->csrf, strlen(req->csrf)) != 0)) {
				api_reply_error(req, 403, "csrf", NULL,
				                "missing or wrong X-CSRF-Token header");
				return false;
			}
		}
	}
	cl = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
	                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl != NULL && strtoull(cl, NULL, 10) > API_MAX_BODY) {
		api_reply_error(req, 413, "too_large", NULL, "request body larger than %d bytes",
		                API_MAX_BODY);
		return false;
	}
	return true;
}

static void
req_free(struct api_req *req)
{
	if (req == NULL)
		return;
	db_release(req->api, req->db);
	for (int i = 0; i < API_MAX_PATH_ARGS; i++)
		free(req->args[i]);
	json_decref(req->json);
	free(req->text);
	if (req->raw != NULL)
		MHD_destroy_response(req->raw);
	free(req->body);
	free(req);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
	struct api *api = cls;
	struct api_req *req = *con_cls;

	if (req == NULL) {
		req = calloc(1, sizeof(*req));
		if (req == NULL)
			return MHD_NO;
		req->api = api;
		req->conn = conn;
		req->url = url;
		req->method = method;
		req->status = 200;
		peer_of(conn, req->peer, sizeof(req->peer));
		*con_cls = req;
		if (!admit(req))
			return send_reply(req);
		return MHD_YES;
	}
	if (req->replied && req->status >= 400 && *upload_size > 0) {
		*upload_size = 0; /* already answered; drain */
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (req->too_large || req->body_len + *upload_size > API_MAX_BODY) {
			req->too_large = true;
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
	if (req->too_large) {
		api_reply_error(req, 413, "too_large", NULL, "request body larger than %d bytes",
		                API_MAX_BODY);
		return send_reply(req);
	}
	if (req->route == NULL)
		serve_static(req);
	else
		req->route->fn(req);
	return send_reply(req);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
	req_free(*con_cls);
	*con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
        __attribute__((format(printf, 2, 0)));

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	log_vmsg(LOG_API, LOG_LVL_WARN, fmt, ap);
}

int
api_start(const struct api_config *cfg, struct api **out, struct pc_err *err)
{
	struct api *api;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
	                 MHD_ALLOW_SUSPEND_RESUME;
	int rc;

	*out = NULL;
	api = calloc(1, sizeof(*api));
	if (api == NULL)
		return -ENOMEM;
	api->cfg = *cfg;
	pthread_mutex_init(&api->db_lock, NULL);
	pthread_cond_init(&api->db_cond, NULL);
	pthread_mutex_init(&api->throttle_lock, NULL);
	pthread_mutex_init(&api->acct_lock, NULL);
	rc = api_routes_build(api);
	if (rc < 0) {
		pc_err_set(err, PC_ERR_INTERNAL, "api", "building the route table: %s",
		           strerror(-rc));
		goto fail;
	}
	if (cfg->tls != API_TLS_OFF) {
		rc = api_tls_load(api, err);
		if (rc < 0)
			goto fail;
		flags |= MHD_USE_TLS;
		api->https = true;
	}
	rc = api_sse_start(api);
	if (rc < 0) {
		pc_err_set(err, PC_ERR_INTERNAL, "api", "SSE notifier thread: %s", strerror(-rc));
		goto fail;
	}
	if (api->https)
		api->mhd = MHD_start_daemon(
		        flags, 0, NULL, NULL, on_request, api, MHD_OPTION_EXTERNAL_LOGGER,
		        on_mhd_log, api, MHD_OPTION_LISTEN_SOCKET, cfg->listen_fd,
		        MHD_OPTION_NOTIFY_COMPLETED, on_completed, api,
		        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_THREAD_POOL_SIZE,
		        (unsigned)4, MHD_OPTION_HTTPS_MEM_CERT, api->tls_cert_pem,
		        MHD_OPTION_HTTPS_MEM_KEY, api->tls_key_pem, MHD_OPTION_END);
	else
		api->mhd = MHD_start_daemon(
		        flags, 0, NULL, NULL, on_request, api, MHD_OPTION_EXTERNAL_LOGGER,
		        on_mhd_log, api, MHD_OPTION_LISTEN_SOCKET, cfg->listen_fd,
		        MHD_OPTION_NOTIFY_COMPLETED, on_completed, api,
		        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_THREAD_POOL_SIZE,
		        (unsigned)4, MHD_OPTION_END);
	if (api->mhd == NULL) {
		rc = pc_err_set(err, PC_ERR_INTERNAL, "api", "MHD_start_daemon failed");
		goto fail;
	}
	*out = api;
	return 0;
fail:
	api_sse_stop(api);
	api_sse_free(api);
	api_routes_free(api);
	free(api->tls_cert_pem);
	free(api->tls_key_pem);
	pthread_mutex_destroy(&api->db_lock);
	pthread_cond_destroy(&api->db_cond);
	pthread_mutex_destroy(&api->throttle_lock);
	pthread_mutex_destroy(&api->acct_lock);
	free(api);
	return rc < 0 ? rc : -EIO;
}

void
api_stop(struct api *api)
{
	if (api == NULL)
		return;
	api_sse_stop(api); /* resumes and ends every event stream first */
	MHD_stop_daemon(api->mhd);
	api_sse_free(api);
	for (int i = 0; i < API_DB_POOL; i++)
		db_close(api->db_pool[i]);
	api_routes_free(api);
	if (api->tls_key_pem != NULL)
		OPENSSL_cleanse(api->tls_key_pem, strlen(api->tls_key_pem));
	free(api->tls_cert_pem);
	free(api->tls_key_pem);
	pthread_mutex_destroy(&api->db_lock);
	pthread_cond_destroy(&api->db_cond);
	pthread_mutex_destroy(&api->throttle_lock);
	pthread_mutex_destroy(&api->acct_lock);
	free(api);
}
