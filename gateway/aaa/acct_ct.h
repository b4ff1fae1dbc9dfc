/* Per-connection accounting (`aaa accounting include|exclude SERVICE IF|inbound|outbound LOCAL MASK
 * FOREIGN MASK GROUP`): conntrack NEW and DESTROY events over ctnetlink (with conntrack accounting
 * turned on in the data plane's namespace) become START and STOP records through aaa_account()
 * for every TCP connection whose original source is an authenticated user (the uauth table:
 * Xauth users at their pool address, cut-through users at their source address) and that an
 * include rule (and no exclude rule before it) selects. ICMP and UDP are not accounted, as in the
 * PIX.
 *
 * Records: service "telnet", "http", "ftp" for destination ports 23, 80, 21, else "tcp/PORT";
 * caller = the user's address; bytes_in/packets_in = what the client sent (the original
 * direction's counters), bytes_out/packets_out = what it received (the reply direction's), as
 * Acct-Input/Output-Octets count from the user's side and as the tunnel records do; elapsed =
 * seconds from NEW to the close; task id = the conntrack id (CTA_ID); session id unique per
 * connection (start epoch, conntrack id, a counter). A connection ends when conntrack sees it
 * closed (UPDATE event to TCP TIME_WAIT or CLOSE: FINs both ways, or a RST): that is when its
 * elapsed time stops; the STOP record waits for the DESTROY event (after the TIME_WAIT timeout and
 * the kernel's garbage collection) that carries the final counters.
 *
 * Direction: the interface a source or destination address is on comes from the configuration
 * (connected subnets, then `route` lines, longest prefix); Xauth users enter on the crypto map's
 * interface. A connection is inbound when it goes from a lower to a higher security level,
 * outbound the other way. For inbound (and interface rules on a lower-security interface) LOCAL
 * matches the destination (the real address behind a static, or the mapped one) and FOREIGN the
 * source; for outbound LOCAL matches the source and FOREIGN the destination. */
#ifndef PORTCULLIS_AAA_ACCT_CT_H
#define PORTCULLIS_AAA_ACCT_CT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/core/err.h"

struct loop;
struct db;
struct aaa;
struct uauth;
struct acct_ct;

/* ---- ctnetlink messages (pure: the unit tests and a fuzzer drive this) ---- */

struct acct_ct_tuple {
	uint32_t src, dst; /* host order */
	uint8_t proto;
	uint16_t sport, dport; /* host order; 0 when the protocol has no ports */
};

enum acct_ct_event {
	ACCT_CT_EV_NEW,
	ACCT_CT_EV_UPDATE, /* a state change (TCP: FIN, RST), without NLM_F_CREATE */
	ACCT_CT_EV_DESTROY,
};

struct acct_ct_msg {
	enum acct_ct_event event;
	uint32_t id; /* CTA_ID; 0 when absent */
	struct acct_ct_tuple orig;
	bool has_reply;
	struct acct_ct_tuple reply;
	bool has_counters; /* CTA_COUNTERS_ORIG and _REPLY (conntrack accounting on) */
	uint64_t orig_bytes, orig_packets, reply_bytes, reply_packets;
	bool has_tcp_state;
	uint8_t tcp_state; /* CTA_PROTOINFO_TCP_STATE: enum tcp_conntrack */
};

/* Parses one netlink message (header included, len bytes) of the conntrack NEW/UPDATE/DESTROY
 * groups.
 * 0 on success; -EINVAL with *why (static text) when it is malformed or not an IPv4 conntrack
 * NEW/DELETE event; -EAFNOSUPPORT for an IPv6 event (not accounted). */
int acct_ct_parse_msg(const void *buf, size_t len, struct acct_ct_msg *out, const char **why);

/* ---- the accounting rules and the interface model ---- */

#define ACCT_CT_MAX_RULES  64  /* aaa accounting lines */
#define ACCT_CT_MAX_IFS    32  /* named interfaces */
#define ACCT_CT_MAX_ROUTES 256 /* route lines */
#define ACCT_CT_MAX_GROUP  64

enum acct_ct_svc {
	ACCT_CT_SVC_ANY,      /* any, tcp/0 */
	ACCT_CT_SVC_TCP_PORT, /* tcp/N, telnet, http, ftp */
	ACCT_CT_SVC_OTHER,    /* udp/N, icmp...: never matches a TCP connection */
};

enum acct_ct_dir {
	ACCT_CT_DIR_NONE, /* same security level, or an address on no known interface */
	ACCT_CT_DIR_INBOUND,
	ACCT_CT_DIR_OUTBOUND,
};

struct acct_ct_rule {
	bool include;
	enum acct_ct_svc service;
	uint16_t port;
	int64_t interface_id; /* 0: direction rule */
	enum acct_ct_dir direction;
	uint32_t local_addr, local_mask, foreign_addr, foreign_mask; /* host order */
	char group[ACCT_CT_MAX_GROUP];
};

struct acct_ct_iface {
	int64_t id;
	uint32_t addr, mask;
	int security;
};

struct acct_ct_route {
	int64_t interface_id;
	uint32_t dst, mask;
};

struct acct_ct_config {
	int nrules;
	struct acct_ct_rule rules[ACCT_CT_MAX_RULES];
	int nifs;
	struct acct_ct_iface ifs[ACCT_CT_MAX_IFS];
	int nroutes;
	struct acct_ct_route routes[ACCT_CT_MAX_ROUTES];
	int64_t vpn_interface_id; /* crypto map interface: where Xauth users come from; 0 none */
};

/* Reads the accounting rules, interfaces, routes and the crypto map interface. Rules whose
 * service is not TCP are kept (they never match) and logged. */
int acct_ct_config_load(struct db *db, struct acct_ct_config *cfg, struct pc_err *err);
/* Parses a rule's service text into r->service/r->port; -EINVAL if it is not one. */
int acct_ct_service_parse(const char *s, struct acct_ct_rule *r);

/* One TCP connection to decide on. */
struct acct_ct_conn {
	uint32_t src;      /* original source */
	uint32_t dst;      /* original destination (a static's mapped address, maybe) */
	uint32_t real_dst; /* reply source: the real server behind a static; = dst without NAT */
	uint16_t dport;
	bool from_vpn; /* the source is an Xauth user's pool address */
};

/* First rule that matches c: 1 include (its group copied), 0 exclude, -ENOENT none. */
int acct_ct_rule_match(const struct acct_ct_config *cfg, const struct acct_ct_conn *c, char *group,
                       size_t gcap);
/* "telnet", "http", "ftp" for 23, 80, 21; "tcp/PORT" otherwise. */
void acct_ct_service_name(uint16_t dport, char *buf, size_t len);

/* ---- the live subscriber (engine loop thread) ---- */

#define ACCT_CT_MAX_CONNS 16384 /* connections being accounted; more are logged, not accounted */

/* Turns on conntrack accounting in this namespace (nf_conntrack_acct), subscribes to the NEW,
 * UPDATE and DESTROY groups and registers the socket on loop. aaa and uauth must outlive it. */
int acct_ct_new(struct loop *loop, struct db *db, struct aaa *aaa, struct uauth *uauth,
                int64_t started_epoch, struct acct_ct **out, struct pc_err *err);
/* Re-reads the rules and interfaces (connections already accounted keep their records). */
int acct_ct_reload(struct acct_ct *ac, struct db *db, struct pc_err *err);
/* Unsubscribes. Connections still open get no STOP record. */
void acct_ct_free(struct acct_ct *ac);
/* Connections currently accounted (for tests and stats). */
int acct_ct_count(const struct acct_ct *ac);

#endif
