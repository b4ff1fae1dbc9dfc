/* The engine: what portcullisd runs on its loop thread. Each subsystem keeps its own state; this
 * struct only ties them together so they can find each other. Owned by gateway/main.c. */
#ifndef PORTCULLIS_CORE_ENGINE_H
#define PORTCULLIS_CORE_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "gateway/ipsec/ipsec.h"

struct loop;
struct db;
struct aaa;
struct ike;
struct nat;
struct uauth;

struct engine {
	struct loop *loop;
	struct db *db; /* the engine thread's own connection */
	char db_path[4096];
	char netns[64];          /* "" when the data plane runs in the starting namespace */
	bool allow_host_network; /* may program the root namespace's kernel state */
	bool data_plane_ok;      /* false: kernel programming refused (root namespace) */
	enum ipsec_backend_kind sa_backend_kind;
	struct ipsec_backend *ipsec;
	struct aaa *aaa;
	struct ike *ike;
	struct nat *nat;
	struct uauth *uauth;
	uint64_t started_ms;   /* loop_now_ms() at start */
	int64_t started_epoch; /* wall clock at start */
};

#endif
