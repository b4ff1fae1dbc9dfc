/* Wiring of uauth into the engine (gateway/main.c): hooks onto gateway/nat/ and gateway/aaa/,
 * start/apply/stop, and the engine_ops entries the API calls for GET/DELETE /api/v1/uauth.
 * All on the engine (loop) thread. */
#ifndef PORTCULLIS_UAUTH_ENGINE_H
#define PORTCULLIS_UAUTH_ENGINE_H

#include "gateway/core/err.h"
#include "gateway/uauth/uauth.h"

struct engine;
struct nat;
struct aaa;
struct db;

/* nat_uauth_add/del/list for the set (nat may be NULL: no kernel set, the table still works)
 * and aaa_authenticate/aaa_cancel for the prompts. */
void uauth_engine_hooks(struct uauth_hooks *h, struct nat *nat, struct aaa *aaa);

/* Loads the configuration from eng->db, restores stored entries and opens the listener;
 * eng->uauth is set. Needs eng->aaa; eng->nat may be NULL. */
int uauth_engine_start(struct engine *eng, struct pc_err *err);
/* engine apply_config step: re-reads the configuration visible through txn. */
int uauth_engine_apply(struct engine *eng, struct db *txn, struct pc_err *err);
void uauth_engine_stop(struct engine *eng);

/* engine_ops.list_uauth and engine_ops.clear_uauth (user, address, "#ID", NULL = all). */
int uauth_engine_list(struct engine *eng, json_t **out);
int uauth_engine_clear(struct engine *eng, const char *user_or_addr, struct pc_err *err);

#endif
