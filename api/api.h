/* The REST API server (libmicrohttpd + jansson) under /api/v1, plus the static web console. */
#ifndef PORTCULLIS_API_API_H
#define PORTCULLIS_API_API_H

#include <stdint.h>

#include "gateway/core/err.h"

struct engine;
struct api;

struct api_config {
	int listen_fd;         /* already bound and listening (created before entering --netns) */
	const char *db_path;   /* the API opens its own connections */
	const char *webui_dir; /* static files served at / */
	struct engine *engine; /* live state is read through loop_call() on engine->loop */
};

int api_start(const struct api_config *cfg, struct api **out, struct pc_err *err);
void api_stop(struct api *api);

/* Parses "ADDR:PORT" (IPv4) and returns a listening TCP socket, or a negative errno with err. */
int api_listen(const char *spec, struct pc_err *err);

#endif
