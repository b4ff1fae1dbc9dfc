/* uauth: the PIX cut-through proxy (HTTP, FTP and Telnet authentication listeners) and the uauth
 * cache of authenticated users (cut-through and Xauth), mirrored into an nftables set.
 *
 * Everything runs on the engine loop thread and never blocks it: listeners and client
 * connections are non-blocking fd watchers, each connection has a deadline timer, every line
 * read from a client goes into a fixed buffer, and authentication is asynchronous through the
 * AAA layer (hooks->authenticate, normally aaa_authenticate()).
 *
 * Kernel side (gateway/nat/; the engine's wiring is gateway/uauth/uauth_engine.c):
 *   - set `uauth` of ipv4_addr with `flags timeout`. set_add(addr, T) (re)places an element with
 *     `timeout Ts`, so a new login restarts it. T == 0 (Xauth users) means "while the tunnel
 *     lasts": nat_uauth_add() refuses 0 today, so the wiring passes a year until it accepts 0
 *     (an element without timeout, which the inactivity refresh below must then not touch: e.g.
 *     a second set `uauth_static` that the redirect and refresh rules treat accordingly).
 *   - for every `aaa authentication include SERVICE IF LOCAL/MASK FOREIGN/MASK GROUP`, in the
 *     prerouting nat chain BEFORE the static DNAT (only the first NAT binding counts):
 *     iifname IF ip daddr <LOCAL, or its static's mapped address> ip saddr FOREIGN tcp dport
 *     <80|21|23> ip saddr != @uauth redirect to :UAUTH_PORT -- one port for every service:
 *     the listener picks HTTP, FTP or Telnet from the original destination port (21 FTP,
 *     23 Telnet, anything else HTTP). nat_config.uauth_port = UAUTH_PORT does exactly this.
 *     `exclude` rules return before them.
 *   - the listener must be reachable (input filter accepts tcp dport UAUTH_PORT when ct status
 *     dnat; connections straight to it are refused by uauth anyway).
 *   - `timeout uauth H:MM:SS inactivity` (not emitted by gateway/nat/ yet): first in the forward
 *     filter chain, `ip saddr @uauth update @uauth { ip saddr timeout <T>s }`, so the kernel
 *     refreshes the element on every packet of the user and expires it after T idle seconds;
 *     uauth reads the remaining time (set_get = nat_uauth_list) when its own timer runs out.
 */
#ifndef PORTCULLIS_UAUTH_UAUTH_H
#define PORTCULLIS_UAUTH_UAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/aaa/aaa.h"
#include "gateway/core/err.h"

struct loop;
struct db;
struct uauth;
typedef struct json_t json_t;

/* The local TCP port every cut-through redirect goes to (nat_config.uauth_port). */
#define UAUTH_PORT              1080
#define UAUTH_PORT_EPHEMERAL    65535 /* in uauth_config: bind any free port (tests) */

#define UAUTH_MAX_RULES         64
#define UAUTH_MAX_STATICS       256
#define UAUTH_MAX_ENTRIES       65536 /* authenticated users in the table */
#define UAUTH_MAX_CONNS         512   /* client connections being served by the listeners */
#define UAUTH_MAX_GROUP         64
#define UAUTH_MAX_TRIES         3       /* wrong credentials per connection before it is closed */
#define UAUTH_PROMPT_TIMEOUT_MS 30000   /* a client must finish authenticating within this */
#define UAUTH_SPLICE_IDLE_MS    3600000 /* spliced connection closed after this long idle */

enum uauth_method {
	UAUTH_METHOD_IPSEC,
	UAUTH_METHOD_HTTP,
	UAUTH_METHOD_FTP,
	UAUTH_METHOD_TELNET,
};

enum uauth_service {
	UAUTH_SVC_ANY, /* `any`, `tcp/0` */
	UAUTH_SVC_HTTP,
	UAUTH_SVC_FTP,
	UAUTH_SVC_TELNET,
	UAUTH_SVC_TCP_PORT, /* `tcp/N`: port in uauth_rule.port */
};

/* One `aaa authentication include|exclude` line (addresses and masks host order). */
struct uauth_rule {
	bool include;
	enum uauth_service service;
	uint16_t port;
	uint32_t local_addr, local_mask;
	uint32_t foreign_addr, foreign_mask;
	char group[UAUTH_MAX_GROUP];
};

/* `static (real,mapped) MAPPED REAL [netmask M]` or `static ... tcp MAPPED PORT REAL PORT`: how the
 * proxy finds the real server behind the address a client connected to. Host order. */
struct uauth_static {
	uint32_t mapped, real, mask;
	bool tcp; /* port static: only mapped_port, to real_port */
	uint16_t mapped_port, real_port;
};

struct uauth_config {
	char hostname[64]; /* names the gateway in the HTTP realm and the prompts */
	uint32_t
	        timeout_s; /* `timeout uauth`: 0 disables caching (every connection authenticates) */
	bool inactivity;   /* false: absolute */
	uint32_t listen_addr; /* host order; 0 = any */
	uint16_t port;        /* the redirect listener, service from the original port; 0: closed */
	/* Optional listeners for one service each (whatever the original port); 0: closed. */
	uint16_t port_http, port_ftp, port_telnet;
	uint32_t prompt_timeout_ms; /* 0: UAUTH_PROMPT_TIMEOUT_MS */
	uint32_t splice_idle_ms;    /* 0: UAUTH_SPLICE_IDLE_MS */
	uint32_t aaa_timeout_ms;    /* passed in aaa_auth_req.timeout_ms */
	int max_tries;              /* 0: UAUTH_MAX_TRIES */
	int nrules;
	struct uauth_rule rules[UAUTH_MAX_RULES];
	int nstatics;
	struct uauth_static statics[UAUTH_MAX_STATICS];
};

/* The kernel set, the AAA layer and the NAT lookups, wired by the engine. */
struct uauth_hooks {
	/* Adds (or replaces) addr in the nftables uauth set; timeout_s 0 = no expiry. */
	int (*set_add)(void *set_arg, uint32_t addr, uint32_t timeout_s);
	/* Removes addr; -ENOENT (already expired by the kernel) is not an error. */
	int (*set_del)(void *set_arg, uint32_t addr);
	/* Optional: remaining lifetime of addr's element (inactivity refresh); -ENOENT if gone. */
	int (*set_get)(void *set_arg, uint32_t addr, uint64_t *expires_in_ms);
	/* Optional: the pre-redirect destination of an accepted connection; NULL = SO_ORIGINAL_DST. */
	int (*original_dst)(void *set_arg, int fd, uint32_t *addr, uint16_t *port);
	/* Optional: translate a destination through static NAT (192.168.1.11 -> 10.89.129.131) so
	 * the proxy connects to the real server; NULL = the statics of uauth_config (loaded from
	 * the model), and the original destination when none matches. */
	int (*map_dst)(void *set_arg, uint32_t *addr, uint16_t *port);
	/* Optional: returns once the set changes asked for so far are in the kernel (set_add and
	 * set_del may be asynchronous); an administrator's clear waits for it. */
	void (*set_sync)(void *set_arg);
	void *set_arg;
	/* Same contract as aaa_authenticate()/aaa_cancel(); aaa_arg is the struct aaa. */
	int (*authenticate)(void *aaa_arg, const struct aaa_auth_req *req, aaa_auth_fn fn,
	                    void *arg, uint64_t *req_id);
	void (*cancel)(void *aaa_arg, uint64_t req_id);
	void *aaa_arg;
};

/* Fills cfg from the configuration model: `timeout uauth`, `aaa authentication` rules (kind
 * authentication, with their interface names ignored: the NAT rules select the interface),
 * statics, hostname; ports and limits get their defaults. */
int uauth_config_load(struct db *db, struct uauth_config *cfg, struct pc_err *err);
void uauth_config_defaults(struct uauth_config *cfg);

/* Opens the listeners, restores unexpired uauth_entry rows into the set (db may be NULL: no
 * persistence). Copies cfg and hooks. */
int uauth_new(struct loop *loop, struct db *db, const struct uauth_config *cfg,
              const struct uauth_hooks *hooks, struct uauth **out, struct pc_err *err);
/* Stops the listeners, closes every client connection, cancels pending AAA requests. The kernel
 * set and the database are left as they are (entries survive a restart). */
void uauth_free(struct uauth *u);
/* New configuration: listeners reopened if their ports changed; existing entries keep their
 * expiry; with timeout 0 all cut-through entries are dropped. */
int uauth_reload(struct uauth *u, const struct uauth_config *cfg, struct pc_err *err);

/* Xauth: the IKE engine adds the user at the pool address when the tunnel is up and removes it
 * when the tunnel goes down. Replaces any entry at addr. */
int uauth_add_ipsec(struct uauth *u, const char *user, uint32_t addr, const char *group);
int uauth_remove_ipsec(struct uauth *u, uint32_t addr);

/* `clear uauth [user|address]`, or an entry id ("ID" or "#ID": DELETE /api/v1/uauth/{id}; a
 * number that is no id is tried as a user name): NULL or "" clears all. Returns how many were
 * removed, or -ENOENT with err when nothing matched. */
int uauth_clear(struct uauth *u, const char *user_or_addr, struct pc_err *err);
int uauth_clear_id(struct uauth *u, uint64_t id, struct pc_err *err);

/* Whether addr is currently authenticated (cache lookup; the kernel set is the data path). */
bool uauth_is_authenticated(struct uauth *u, uint32_t addr);
/* The user authenticated at addr (Xauth: the pool address; cut-through: the source address):
 * name, group (vpngroup for Xauth, "" or the aaa group otherwise) and method; any out pointer may
 * be NULL. 0, or -ENOENT when nobody is authenticated at addr. Loop thread. */
int uauth_lookup(struct uauth *u, uint32_t addr, char *user, size_t ucap, char *group, size_t gcap,
                 enum uauth_method *method);

struct uauth_counts {
	int current, most_seen;
	int in_progress, in_progress_most_seen;
};
void uauth_get_counts(struct uauth *u, struct uauth_counts *c);

/* GET /api/v1/uauth: {"current", "most_seen", "in_progress", "in_progress_most_seen",
 * "items": [{id, user, address, method, group, since, expires, timeout_s, absolute}]} (new ref). */
int uauth_to_json(struct uauth *u, json_t **out);
/* PIX `show uauth` text (NUL-terminated, truncated to len). Returns the length it needed. */
size_t uauth_show_text(struct uauth *u, char *buf, size_t len);
/* The same text from the JSON form (the CLI formats what the API returns). */
size_t uauth_format_text(const json_t *view, char *buf, size_t len);

const char *uauth_method_name(enum uauth_method m);
/* Translates addr/port through cfg's statics: 0 when one matched, -ENOENT otherwise. */
int uauth_static_map(const struct uauth_config *cfg, uint32_t *addr, uint16_t *port);
/* Bound port of the per-service listener for m (UAUTH_METHOD_IPSEC: the redirect listener);
 * tests bind port 0. 0 if that listener is closed. */
uint16_t uauth_listen_port(struct uauth *u, enum uauth_method m);

#endif
