/* The REST API server (libmicrohttpd + jansson) under /api/v1, plus the static web console. */
#ifndef PORTCULLIS_API_API_H
#define PORTCULLIS_API_API_H

#include <stdbool.h>
#include <stdint.h>

#include "gateway/core/err.h"

struct engine;
struct api;

enum api_tls_mode {
	API_TLS_OFF,   /* plain HTTP (default; loopback and tests) */
	API_TLS_FILES, /* tls_cert / tls_key given by the admin (PEM files) */
	API_TLS_AUTO,  /* self-signed certificate generated at first start, stored beside the DB as
	               * DB.crt / DB.key (mode 0600) and reused afterwards */
};

struct api_config {
	int listen_fd;         /* already bound and listening (created before entering --netns) */
	const char *db_path;   /* the API opens its own connections */
	const char *webui_dir; /* static files served at / */
	struct engine *engine; /* live state is read through loop_call() on engine->loop */
	enum api_tls_mode tls; /* zero (API_TLS_OFF) when the caller does not set it */
	const char *tls_cert;  /* PEM file, API_TLS_FILES */
	const char *tls_key;   /* PEM file, API_TLS_FILES */
};

int api_start(const struct api_config *cfg, struct api **out, struct pc_err *err);
void api_stop(struct api *api);

/* Parses "ADDR:PORT" (IPv4) and returns a listening TCP socket, or a negative errno with err. */
int api_listen(const char *spec, struct pc_err *err);

#endif
