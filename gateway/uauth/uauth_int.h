/* uauth internals shared by the cache (uauth.c) and the listeners (uauth_proxy.c). */
#ifndef PORTCULLIS_UAUTH_INT_H
#define PORTCULLIS_UAUTH_INT_H

#include "gateway/uauth/uauth.h"

struct loop_timer;
struct uauth_conn;

struct uauth_entry {
	struct uauth *u;
	uint64_t id;
	char user[AAA_MAX_USER];
	uint32_t addr;
	enum uauth_method method;
	char group[UAUTH_MAX_GROUP];
	int64_t since_ms;   /* epoch */
	int64_t expires_ms; /* epoch; 0: while the tunnel lasts (ipsec) */
	uint32_t timeout_s;
	bool inactivity;
	struct loop_timer *timer;
	struct uauth_entry *prev, *next;
	struct uauth_entry *hnext; /* chain in uauth.by_addr */
};

#define UAUTH_ADDR_BUCKETS 4096 /* power of two */

#define UAUTH_NLISTENERS   4

struct uauth_listener {
	struct uauth *u;
	enum uauth_method svc; /* UAUTH_METHOD_IPSEC marks the redirect listener */
	int fd;
	uint16_t port; /* configured; the bound one is in bound_port */
	uint16_t bound_port;
	struct loop_timer *pause; /* accept paused after EMFILE */
};

struct uauth {
	struct loop *loop;
	struct db *db;
	struct uauth_config cfg;
	struct uauth_hooks hooks;
	struct uauth_entry *entries;
	struct uauth_entry *by_addr[UAUTH_ADDR_BUCKETS]; /* the same entries by address */
	int nentries, most_seen;
	struct uauth_conn *conns;
	int nconns;
	int in_progress, in_progress_most_seen;
	struct uauth_listener lst[UAUTH_NLISTENERS]; /* http, ftp, telnet, redirect (mux) */
	uint64_t next_id;                            /* ids when there is no database */
};

int64_t uauth_epoch_ms(void);
/* Adds a cut-through user with the configured timeout (caller checks cfg.timeout_s != 0). */
int uauth_add_cut_through(struct uauth *u, const char *user, uint32_t addr, enum uauth_method m,
                          const char *group);
/* First matching rule for a connection: 1 include (group set), 0 exclude, -ENOENT none. */
int uauth_rule_lookup(const struct uauth_config *cfg, enum uauth_method svc, uint32_t src,
                      uint32_t dst, uint32_t real_dst, uint16_t dport, char *group, size_t gcap);
void uauth_progress(struct uauth *u, int delta);

int uauth_proxy_open(struct uauth *u, struct pc_err *err);
void uauth_proxy_close_listeners(struct uauth *u);
void uauth_proxy_close_all(struct uauth *u);

#endif
