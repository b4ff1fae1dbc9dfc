/* PIX 6.x `show running-config` parser: a line splitter (CRLF, prompts, wrapped lines), a tokenizer,
 * and a command table with one handler per keyword that fills the in-memory model (db/model.h).
 * Every handler validates all of its line before it adds or changes a row, so a rejected line leaves
 * the model as it was. */
#include "db/pix_parse.h"
#include "db/db.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_TOKS 96

enum pr { PR_OK = 0, PR_UNSUP = 1, PR_ERROR = 2, PR_NOMEM = 3 };

const char *const pix_sections[] = {
        "header",        "interface",  "nameif",     "enable",       "hostname",
        "domain-name",   "fixup",      "names",      "object-group", "access-list",
        "pager",         "logging",    "mtu",        "ip address",   "ip audit",
        "ip local pool", "failover",   "pdm",        "arp",          "global",
        "nat",           "static",     "conduit",    "outbound",     "access-group",
        "route",         "timeout",    "aaa-server", "aaa",          "http",
        "snmp-server",   "floodguard", "sysopt",     "crypto ipsec", "crypto dynamic-map",
        "crypto map",    "isakmp",     "vpngroup",   "telnet",       "ssh",
        "console",       "terminal",   "username",
};
const size_t pix_nsections = sizeof(pix_sections) / sizeof(pix_sections[0]);

/* ---- parser state ---- */

enum pmap {
	PM_HW,       /* interface hw_name -> row */
	PM_IF,       /* nameif -> row */
	PM_NAME,     /* name -> row of MT_NAME */
	PM_OG,       /* object-group name -> row */
	PM_ACL,      /* access-list name -> row */
	PM_AAA,      /* aaa-server group -> row */
	PM_POOL,     /* pool -> row */
	PM_TSET,     /* transform-set -> row */
	PM_CMAP,     /* "map\x1fdyn\x1fseq" -> row */
	PM_CMOPT,    /* map -> crypto_map_option row */
	PM_CMIF,     /* nameif -> crypto_map_interface row */
	PM_POLICY,   /* isakmp policy priority -> row */
	PM_VPNGROUP, /* vpngroup -> row */
	PM_SETTING,  /* setting name -> row */
	PM_TIMEOUT,  /* timeout name -> row */
	PM_SYSOPT,   /* sysopt name -> row */
	PM_DYNMAP,   /* dynamic map names -> 1 */
	PM_KEYED,    /* "table\x1fkey" for rows that must be unique (routes, keys, hosts...) */
	PM_COUNT
};

struct toks {
	int n;
	char *t[MAX_TOKS];
	size_t off[MAX_TOKS]; /* offset of each token in the line */
	const char *line;
};

struct pctx {
	struct model *m;
	struct pix_report *rep;
	struct pix_smap maps[PM_COUNT];
	bool names_on;
	long og_cur; /* current object-group row, -1 outside a block */
	const char *section;
	const char *cmd_section;
	uint32_t line;
	bool negated;
	char reason[512];
	char warn[512];
	const char *shown; /* the current line with its secret masked, NULL if it has none */
};

static enum pr fail(struct pctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static enum pr unsup(struct pctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static enum pr
fail(struct pctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
	return PR_ERROR;
}

/* A name PIX would not take (and the NAT model could not hold whole): an error on its line. */
static enum pr
name_fits(struct pctx *c, const char *what, const char *name, size_t max)
{
	size_t n = strlen(name);

	if (n <= max)
		return PR_OK;
	return fail(c, "%s name '%.32s...' is %zu characters long: at most %zu", what, name, n,
	            max);
}

static enum pr
unsup(struct pctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
	return PR_UNSUP;
}

static const char *
tok(const struct toks *t, int i)
{
	return i < t->n ? t->t[i] : NULL;
}

static bool
teq(const struct toks *t, int i, const char *s)
{
	return i < t->n && strcmp(t->t[i], s) == 0;
}

static const char *
rest(const struct toks *t, int i)
{
	return i < t->n ? t->line + t->off[i] : "";
}

/* ---- value parsers ---- */

static bool
parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (s == NULL || *s == '\0' || !(isdigit((unsigned char)*s) || *s == '-'))
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static void
ip4_str(uint32_t a, char out[16])
{
	snprintf(out, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

/* Address: dotted quad, "0" (PIX shorthand for 0.0.0.0), or a `name`. */
static enum pr
parse_addr(struct pctx *c, const char *s, char out[16])
{
	uint32_t a;
	size_t row;

	if (s == NULL)
		return fail(c, "expected an IPv4 address, got end of line");
	if (strcmp(s, "0") == 0) {
		strcpy(out, "0.0.0.0");
		return PR_OK;
	}
	if (db_ip4_parse(s, &a) == 0) {
		ip4_str(a, out);
		return PR_OK;
	}
	if (pix_smap_get(&c->maps[PM_NAME], s, &row)) {
		snprintf(out, 16, "%s", c->m->t[MT_NAME].rows[row].v[0]);
		return PR_OK;
	}
	if (isdigit((unsigned char)s[0]))
		return fail(c, "bad IPv4 address '%s'", s);
	return fail(c, "'%s' is neither an IPv4 address nor a defined name", s);
}

static enum pr
parse_mask(struct pctx *c, const char *s, char out[16])
{
	uint32_t a;

	if (s == NULL)
		return fail(c, "expected a netmask, got end of line");
	if (strcmp(s, "0") == 0) {
		strcpy(out, "0.0.0.0");
		return PR_OK;
	}
	if (db_ip4_parse(s, &a) < 0)
		return fail(c, "bad netmask '%s'", s);
	if (!db_ip4_mask_ok(a))
		return fail(c, "bad netmask '%s' (not contiguous ones)", s);
	ip4_str(a, out);
	return PR_OK;
}

static const struct {
	const char *name;
	int port;
} port_names[] = {
        {"aol", 5190},
        {"bgp", 179},
        {"biff", 512},
        {"bootpc", 68},
        {"bootps", 67},
        {"chargen", 19},
        {"citrix-ica", 1494},
        {"cmd", 514},
        {"ctiqbe", 2748},
        {"daytime", 13},
        {"discard", 9},
        {"dnsix", 195},
        {"domain", 53},
        {"echo", 7},
        {"exec", 512},
        {"finger", 79},
        {"ftp", 21},
        {"ftp-data", 20},
        {"gopher", 70},
        {"h323", 1720},
        {"hostname", 101},
        {"http", 80},
        {"https", 443},
        {"ident", 113},
        {"imap4", 143},
        {"irc", 194},
        {"isakmp", 500},
        {"kerberos", 750},
        {"klogin", 543},
        {"kshell", 544},
        {"ldap", 389},
        {"ldaps", 636},
        {"login", 513},
        {"lotusnotes", 1352},
        {"lpd", 515},
        {"mobile-ip", 434},
        {"nameserver", 42},
        {"netbios-dgm", 138},
        {"netbios-ns", 137},
        {"netbios-ssn", 139},
        {"nntp", 119},
        {"ntp", 123},
        {"pcanywhere-data", 5631},
        {"pcanywhere-status", 5632},
        {"pim-auto-rp", 496},
        {"pop2", 109},
        {"pop3", 110},
        {"pptp", 1723},
        {"radius", 1645},
        {"radius-acct", 1646},
        {"rip", 520},
        {"rsh", 514},
        {"rtsp", 554},
        {"sip", 5060},
        {"smtp", 25},
        {"snmp", 161},
        {"snmptrap", 162},
        {"sqlnet", 1521},
        {"ssh", 22},
        {"sunrpc", 111},
        {"syslog", 514},
        {"tacacs", 49},
        {"talk", 517},
        {"telnet", 23},
        {"tftp", 69},
        {"time", 37},
        {"uucp", 540},
        {"who", 513},
        {"whois", 43},
        {"www", 80},
        {"xdmcp", 177},
};

int
pix_port_lookup(const char *name)
{
	for (size_t i = 0; i < sizeof(port_names) / sizeof(port_names[0]); i++)
		if (strcmp(port_names[i].name, name) == 0)
			return port_names[i].port;
	return -1;
}

const char *
pix_port_name(long port)
{
	/* the name PIX prints; ambiguous numbers (512-514) stay numeric */
	if (port == 80)
		return "www";
	if (port >= 512 && port <= 514)
		return NULL;
	for (size_t i = 0; i < sizeof(port_names) / sizeof(port_names[0]); i++)
		if (port_names[i].port == port)
			return port_names[i].name;
	return NULL;
}

static enum pr
parse_port(struct pctx *c, const char *s, long *out)
{
	int p;

	if (s == NULL)
		return fail(c, "expected a port, got end of line");
	if (parse_long(s, 0, 65535, out))
		return PR_OK;
	p = pix_port_lookup(s);
	if (p < 0)
		return fail(c, "unknown port '%s' (expected 0-65535 or a PIX port name)", s);
	*out = p;
	return PR_OK;
}

static const char *const icmp_names[] = {
        "echo-reply",           "unreachable",
        "source-quench",        "redirect",
        "alternate-address",    "echo",
        "router-advertisement", "router-solicitation",
        "time-exceeded",        "parameter-problem",
        "timestamp-request",    "timestamp-reply",
        "information-request",  "information-reply",
        "mask-request",         "mask-reply",
        "conversion-error",     "mobile-redirect",
        "traceroute",
};

static bool
icmp_type_ok(const char *s)
{
	long v;

	if (parse_long(s, 0, 255, &v))
		return true;
	for (size_t i = 0; i < sizeof(icmp_names) / sizeof(icmp_names[0]); i++)
		if (strcmp(icmp_names[i], s) == 0)
			return true;
	return false;
}

static const char *const proto_names[] = {
        "ip",     "tcp",   "udp", "icmp", "ah",  "eigrp", "esp",  "gre", "igmp",  "igrp",
        "ipinip", "ipsec", "nos", "ospf", "pcp", "pim",   "pptp", "snp", "icmp6",
};

static bool
proto_ok(const char *s)
{
	long v;

	if (parse_long(s, 0, 255, &v))
		return true;
	for (size_t i = 0; i < sizeof(proto_names) / sizeof(proto_names[0]); i++)
		if (strcmp(proto_names[i], s) == 0)
			return true;
	return false;
}

/* H:MM:SS (or H:MM) */
static bool
parse_hms(const char *s, long *out)
{
	long h = 0, m = 0, sec = 0;
	char extra;
	int n;

	if (s == NULL)
		return false;
	n = sscanf(s, "%ld:%ld:%ld%c", &h, &m, &sec, &extra);
	if (n == 2) {
		sec = 0;
	} else if (n != 3) {
		return false;
	}
	if (h < 0 || h > 1193 || m < 0 || m > 59 || sec < 0 || sec > 59)
		return false;
	for (const char *p = s; *p; p++)
		if (!isdigit((unsigned char)*p) && *p != ':')
			return false;
	*out = h * 3600 + m * 60 + sec;
	return true;
}

/* (inside) or (inside,outside) */
static bool
parse_paren(const char *s, char *a, char *b, size_t sz)
{
	size_t l = s ? strlen(s) : 0;
	const char *comma;

	if (l < 3 || s[0] != '(' || s[l - 1] != ')')
		return false;
	comma = memchr(s, ',', l);
	if (b == NULL) {
		if (comma != NULL || l - 2 >= sz)
			return false;
		snprintf(a, sz, "%.*s", (int)(l - 2), s + 1);
		return true;
	}
	if (comma == NULL || (size_t)(comma - s - 1) >= sz || (size_t)(s + l - 1 - comma - 1) >= sz)
		return false;
	snprintf(a, sz, "%.*s", (int)(comma - s - 1), s + 1);
	snprintf(b, sz, "%.*s", (int)(s + l - 1 - comma - 1), comma + 1);
	return *a != '\0' && *b != '\0';
}

static enum pr
need_if(struct pctx *c, const char *nameif, size_t *row)
{
	if (nameif == NULL)
		return fail(c, "expected an interface name, got end of line");
	if (!pix_smap_get(&c->maps[PM_IF], nameif, row))
		return fail(c, "undefined interface '%s' (no nameif for it)", nameif);
	return PR_OK;
}

static enum pr
need_acl(struct pctx *c, const char *acl)
{
	if (acl == NULL)
		return fail(c, "expected an access-list name, got end of line");
	if (!pix_smap_get(&c->maps[PM_ACL], acl, NULL))
		return fail(c, "undefined access-list '%s'", acl);
	return PR_OK;
}

static enum pr
need_aaa(struct pctx *c, const char *g)
{
	if (g == NULL)
		return fail(c, "expected an aaa-server group, got end of line");
	if (!pix_smap_get(&c->maps[PM_AAA], g, NULL))
		return fail(c, "undefined aaa-server group '%s'", g);
	return PR_OK;
}

/* ---- row helpers ---- */

#define SET(r, t, col, val)                                                                        \
	do {                                                                                       \
		if (model_row_set((r), (t), (col), (val)) < 0)                                     \
			return PR_NOMEM;                                                           \
	} while (0)
#define SETF(r, t, col, ...)                                                                       \
	do {                                                                                       \
		if (model_row_setf((r), (t), (col), __VA_ARGS__) < 0)                              \
			return PR_NOMEM;                                                           \
	} while (0)
#define ADD(r, t)                                                                                  \
	do {                                                                                       \
		(r) = model_row_add(c->m, (t));                                                    \
		if ((r) == NULL)                                                                   \
			return PR_NOMEM;                                                           \
		(r)->line = c->line;                                                               \
	} while (0)
#define PUT(map, key, val)                                                                         \
	do {                                                                                       \
		if (pix_smap_put(&c->maps[map], (key), (val)) < 0)                                 \
			return PR_NOMEM;                                                           \
	} while (0)

static struct model_row *
row_at(struct pctx *c, enum model_table t, size_t i)
{
	return &c->m->t[t].rows[i];
}

static enum pr
set_setting(struct pctx *c, const char *name, const char *value)
{
	size_t i;
	struct model_row *r;

	if (pix_smap_get(&c->maps[PM_SETTING], name, &i)) {
		SET(row_at(c, MT_SETTING, i), MT_SETTING, "value", value);
		return PR_OK;
	}
	ADD(r, MT_SETTING);
	SET(r, MT_SETTING, "name", name);
	SET(r, MT_SETTING, "value", value);
	PUT(PM_SETTING, name, c->m->t[MT_SETTING].n - 1);
	return PR_OK;
}

/* A row that must be unique on some key: returns PR_ERROR if seen already. */
static enum pr
unique_key(struct pctx *c, const char *what, const char *key)
{
	char buf[600];

	snprintf(buf, sizeof(buf), "%s\x1f%s", what, key);
	if (pix_smap_get(&c->maps[PM_KEYED], buf, NULL))
		return fail(c, "duplicate %s", what);
	PUT(PM_KEYED, buf, 1);
	return PR_OK;
}

static enum pr
keep_line(struct pctx *c, const struct toks *t, const char *section, bool supported,
          const char *reason)
{
	struct model_row *r;

	ADD(r, MT_PASSTHROUGH);
	SET(r, MT_PASSTHROUGH, "section", section);
	SET(r, MT_PASSTHROUGH, "text", c->shown != NULL ? c->shown : t->line);
	SET(r, MT_PASSTHROUGH, "supported", supported ? "1" : "0");
	SET(r, MT_PASSTHROUGH, "reason", reason);
	return PR_OK;
}

/* ---- handlers ---- */

static enum pr
h_version(struct pctx *c, struct toks *t)
{
	if (!teq(t, 1, "Version") || t->n != 3)
		return unsup(c, "expected 'PIX Version X'");
	return set_setting(c, "version", t->t[2]);
}

static bool
speed_ok(const char *s)
{
	static const char *const speeds[] = {"auto",       "10baset",  "10full",   "100basetx",
	                                     "100full",    "1000auto", "1000full", "1000sxfull",
	                                     "1000basesx", "aui",      "bnc",      "1000auto"};

	for (size_t i = 0; i < sizeof(speeds) / sizeof(speeds[0]); i++)
		if (strcasecmp(speeds[i], s) == 0)
			return true;
	return false;
}

static enum pr
get_hw(struct pctx *c, const char *hw, struct model_row **out)
{
	size_t i;
	struct model_row *r;

	if (pix_smap_get(&c->maps[PM_HW], hw, &i)) {
		*out = row_at(c, MT_INTERFACE, i);
		return PR_OK;
	}
	ADD(r, MT_INTERFACE);
	SET(r, MT_INTERFACE, "hw_name", hw);
	PUT(PM_HW, hw, c->m->t[MT_INTERFACE].n - 1);
	*out = r;
	return PR_OK;
}

static enum pr
h_interface(struct pctx *c, struct toks *t)
{
	struct model_row *r;
	const char *hw = tok(t, 1);
	long vlan = 0;
	int i = 2;
	enum pr pr;

	if (hw == NULL || t->n < 3)
		return unsup(c,
		             "expected 'interface HW SPEED [shutdown]' (PIX 7 interface blocks are "
		             "not supported)");
	if (strncmp(t->t[2], "vlan", 4) == 0 && t->t[2][4] != '\0') {
		if (!parse_long(t->t[2] + 4, 1, 4094, &vlan))
			return fail(c, "bad VLAN '%s' (expected vlan1-vlan4094)", t->t[2]);
		if (!teq(t, 3, "logical") && !teq(t, 3, "physical"))
			return unsup(c, "expected 'logical' or 'physical' after %s", t->t[2]);
		bool logical = teq(t, 3, "logical");
		bool shut = teq(t, 4, "shutdown");

		if (t->n > (shut ? 5 : 4))
			return unsup(c, "unexpected '%s'", t->t[shut ? 5 : 4]);
		if (logical && !pix_smap_get(&c->maps[PM_HW], hw, NULL))
			return fail(c, "logical interface on undefined physical interface '%s'",
			            hw);
		pr = get_hw(c, logical ? t->t[2] : hw, &r);
		if (pr != PR_OK)
			return pr;
		SETF(r, MT_INTERFACE, "vlan", "%ld", vlan);
		if (logical) {
			SET(r, MT_INTERFACE, "logical", "1");
			SET(r, MT_INTERFACE, "physical_hw_name", hw);
			SET(r, MT_INTERFACE, "shutdown", shut ? "1" : "0");
		}
		return PR_OK;
	}
	if (!speed_ok(t->t[2]) && strcmp(t->t[2], "shutdown") != 0)
		return unsup(c, "unknown interface speed '%s'", t->t[2]);
	const char *speed = strcmp(t->t[2], "shutdown") == 0 ? NULL : t->t[2];

	if (speed != NULL)
		i = 3;
	bool shut = teq(t, i, "shutdown");

	if (shut)
		i++;
	if (i < t->n)
		return unsup(c, "unexpected '%s'", t->t[i]);
	pr = get_hw(c, hw, &r);
	if (pr != PR_OK)
		return pr;
	if (speed != NULL)
		SET(r, MT_INTERFACE, "speed", speed);
	SET(r, MT_INTERFACE, "shutdown", shut ? "1" : "0");
	return PR_OK;
}

static enum pr
h_nameif(struct pctx *c, struct toks *t)
{
	long sec;
	size_t other;
	struct model_row *r;
	enum pr pr;

	if (t->n != 4 || strncmp(t->t[3], "security", 8) != 0)
		return unsup(c, "expected 'nameif HW NAME securityN'");
	if (!parse_long(t->t[3] + 8, 0, 100, &sec))
		return fail(c, "bad security level '%s' (expected security0-security100)", t->t[3]);
	if (name_fits(c, "interface", t->t[2], MODEL_NAMEIF_MAX) != PR_OK)
		return PR_ERROR;
	if (pix_smap_get(&c->maps[PM_IF], t->t[2], &other) &&
	    strcmp(row_at(c, MT_INTERFACE, other)->v[0], t->t[1]) != 0)
		return fail(c, "interface name '%s' already used by %s", t->t[2],
		            row_at(c, MT_INTERFACE, other)->v[0]);
	if (pix_smap_get(&c->maps[PM_HW], t->t[1], &other)) {
		const char *old =
		        model_row_get(row_at(c, MT_INTERFACE, other), MT_INTERFACE, "nameif");

		/* renaming would leave the commands that used the old name dangling */
		if (old != NULL && strcmp(old, t->t[2]) != 0)
			return fail(c, "%s is already named '%s'", t->t[1], old);
	}
	if (strncmp(t->t[1], "vlan", 4) == 0 && !pix_smap_get(&c->maps[PM_HW], t->t[1], NULL))
		return fail(c, "undefined logical interface '%s'", t->t[1]);
	pr = get_hw(c, t->t[1], &r);
	if (pr != PR_OK)
		return pr;
	SET(r, MT_INTERFACE, "nameif", t->t[2]);
	SETF(r, MT_INTERFACE, "security", "%ld", sec);
	PUT(PM_IF, t->t[2], (size_t)(r - c->m->t[MT_INTERFACE].rows));
	return PR_OK;
}

static enum pr
h_mtu(struct pctx *c, struct toks *t)
{
	size_t i;
	long mtu;
	enum pr pr;

	if (t->n != 3)
		return unsup(c, "expected 'mtu IF BYTES'");
	pr = need_if(c, t->t[1], &i);
	if (pr != PR_OK)
		return pr;
	if (!parse_long(t->t[2], 64, 65535, &mtu))
		return fail(c, "bad mtu '%s' (expected 64-65535)", t->t[2]);
	SETF(row_at(c, MT_INTERFACE, i), MT_INTERFACE, "mtu", "%ld", mtu);
	return PR_OK;
}

static enum pr
h_ip_address(struct pctx *c, struct toks *t)
{
	size_t i;
	char a[16], m[16];
	enum pr pr;
	struct model_row *r;

	pr = need_if(c, tok(t, 2), &i);
	if (pr != PR_OK)
		return pr;
	r = row_at(c, MT_INTERFACE, i);
	if (c->negated) {
		if (t->n != 3)
			return unsup(c, "expected 'no ip address IF'");
		SET(r, MT_INTERFACE, "ip_mode", "none");
		SET(r, MT_INTERFACE, "address", NULL);
		SET(r, MT_INTERFACE, "netmask", NULL);
		SET(r, MT_INTERFACE, "dhcp_setroute", "0");
		SET(r, MT_INTERFACE, "dhcp_retry", NULL);
		return PR_OK;
	}
	if (teq(t, 3, "dhcp") || teq(t, 3, "pppoe")) {
		bool setroute = false;
		long retry = -1;
		int k = 4;

		if (teq(t, k, "setroute")) {
			setroute = true;
			k++;
		}
		if (teq(t, 3, "dhcp") && teq(t, k, "retry")) {
			if (!parse_long(tok(t, k + 1), 4, 16, &retry))
				return fail(c, "bad dhcp retry '%s' (expected 4-16)",
				            tok(t, k + 1) ? tok(t, k + 1) : "");
			k += 2;
		}
		if (k < t->n)
			return unsup(c, "unexpected '%s'", t->t[k]);
		SET(r, MT_INTERFACE, "ip_mode", t->t[3]);
		SET(r, MT_INTERFACE, "address", NULL);
		SET(r, MT_INTERFACE, "netmask", NULL);
		SET(r, MT_INTERFACE, "dhcp_setroute", setroute ? "1" : "0");
		if (retry >= 0)
			SETF(r, MT_INTERFACE, "dhcp_retry", "%ld", retry);
		else
			SET(r, MT_INTERFACE, "dhcp_retry", NULL);
		return PR_OK;
	}
	if (t->n != 5)
		return unsup(
		        c, "expected 'ip address IF ADDRESS NETMASK' or 'ip address IF dhcp ...'");
	pr = parse_addr(c, t->t[3], a);
	if (pr == PR_OK)
		pr = parse_mask(c, t->t[4], m);
	if (pr != PR_OK)
		return pr;
	SET(r, MT_INTERFACE, "ip_mode", "static");
	SET(r, MT_INTERFACE, "address", a);
	SET(r, MT_INTERFACE, "netmask", m);
	SET(r, MT_INTERFACE, "dhcp_setroute", "0");
	SET(r, MT_INTERFACE, "dhcp_retry", NULL);
	return PR_OK;
}

static enum pr
h_ip_local_pool(struct pctx *c, struct toks *t)
{
	char a[16], b[16], m[16] = "";
	char range[64];
	const char *dash;
	uint32_t x, y;
	struct model_row *r;
	enum pr pr;

	if (t->n != 5 && !(t->n == 7 && teq(t, 5, "mask")))
		return unsup(c, "expected 'ip local pool NAME START-END [mask M]'");
	dash = strchr(t->t[4], '-');
	if (dash == NULL || strlen(t->t[4]) >= sizeof(range))
		return fail(c, "bad pool range '%s' (expected START-END)", t->t[4]);
	snprintf(range, sizeof(range), "%.*s", (int)(dash - t->t[4]), t->t[4]);
	pr = parse_addr(c, range, a);
	if (pr == PR_OK)
		pr = parse_addr(c, dash + 1, b);
	if (pr == PR_OK && t->n == 7)
		pr = parse_mask(c, t->t[6], m);
	if (pr != PR_OK)
		return pr;
	db_ip4_parse(a, &x);
	db_ip4_parse(b, &y);
	if (y < x)
		return fail(c, "pool end %s is before start %s", b, a);
	if (y - x >= 65536)
		return fail(c, "pool %s-%s has more than 65536 addresses", a, b);
	if (pix_smap_get(&c->maps[PM_POOL], t->t[3], NULL))
		return fail(c, "duplicate pool '%s'", t->t[3]);
	if (name_fits(c, "ip local pool", t->t[3], MODEL_NAME_MAX) != PR_OK)
		return PR_ERROR;
	ADD(r, MT_IP_POOL);
	SET(r, MT_IP_POOL, "name", t->t[3]);
	SET(r, MT_IP_POOL, "start_address", a);
	SET(r, MT_IP_POOL, "end_address", b);
	if (*m)
		SET(r, MT_IP_POOL, "netmask", m);
	PUT(PM_POOL, t->t[3], c->m->t[MT_IP_POOL].n - 1);
	return PR_OK;
}

static enum pr
h_ip(struct pctx *c, struct toks *t)
{
	if (c->negated && !teq(t, 1, "address") && !teq(t, 1, "audit"))
		return unsup(c, "'no ip %s' is not supported", tok(t, 1) ? tok(t, 1) : "");
	if (teq(t, 1, "address")) {
		c->cmd_section = "ip address";
		return h_ip_address(c, t);
	}
	if (teq(t, 1, "local") && teq(t, 2, "pool")) {
		c->cmd_section = "ip local pool";
		return h_ip_local_pool(c, t);
	}
	if (teq(t, 1, "audit")) {
		c->cmd_section = "ip audit";
		if (t->n < 3)
			return unsup(c, "expected 'ip audit ...'");
		return keep_line(c, t, "ip audit", true, "kept verbatim: ip audit is not enforced");
	}
	return unsup(c, "'ip %s' is not supported", tok(t, 1) ? tok(t, 1) : "");
}

static enum pr
set_hash(struct pctx *c, const char *key, const char *hash)
{
	char kind[64];
	enum pr pr = set_setting(c, key, hash);

	if (pr != PR_OK)
		return pr;
	snprintf(kind, sizeof(kind), "%s-kind", key);
	return set_setting(c, kind, "pix-md5");
}

static enum pr
h_enable(struct pctx *c, struct toks *t)
{
	char hash[17];

	if (!teq(t, 1, "password") || t->n < 3)
		return unsup(c, "expected 'enable password HASH encrypted'");
	if (t->n == 5 && teq(t, 3, "level"))
		return unsup(c, "enable password levels are not supported");
	if (t->n == 4 && teq(t, 3, "encrypted"))
		return set_hash(c, "enable-password", t->t[2]);
	if (t->n != 3)
		return unsup(c, "unexpected '%s'", t->t[3]);
	pix_md5_hash(t->t[2], NULL, hash);
	c->reason[0] = '\0';
	snprintf(c->warn, sizeof(c->warn), "clear-text enable password stored as its PIX-MD5 hash");
	return set_hash(c, "enable-password", hash);
}

static enum pr
h_passwd(struct pctx *c, struct toks *t)
{
	char hash[17];

	if (t->n == 3 && teq(t, 2, "encrypted"))
		return set_hash(c, "passwd", t->t[1]);
	if (t->n != 2)
		return unsup(c, "expected 'passwd HASH encrypted'");
	pix_md5_hash(t->t[1], NULL, hash);
	snprintf(c->warn, sizeof(c->warn), "clear-text passwd stored as its PIX-MD5 hash");
	return set_hash(c, "passwd", hash);
}

static enum pr
h_simple_setting(struct pctx *c, struct toks *t, const char *key, int ntok, long min, long max)
{
	long v;

	if (t->n != ntok + 1)
		return unsup(c, "expected '%.*s VALUE'",
		             (int)(t->off[ntok - 1] + strlen(t->t[ntok - 1])), t->line);
	if (max > min && !parse_long(t->t[ntok], min, max, &v))
		return fail(c, "bad value '%s' (expected %ld-%ld)", t->t[ntok], min, max);
	return set_setting(c, key, t->t[ntok]);
}

static enum pr
h_hostname(struct pctx *c, struct toks *t)
{
	return h_simple_setting(c, t, "hostname", 1, 0, 0);
}

static enum pr
h_domain(struct pctx *c, struct toks *t)
{
	return h_simple_setting(c, t, "domain-name", 1, 0, 0);
}

static enum pr
h_pager(struct pctx *c, struct toks *t)
{
	if (c->negated && t->n == 1)
		return set_setting(c, "pager-lines", "off");
	if (!teq(t, 1, "lines"))
		return unsup(c, "expected 'pager lines N'");
	return h_simple_setting(c, t, "pager-lines", 2, 0, 512);
}

static enum pr
h_arp(struct pctx *c, struct toks *t)
{
	if (!teq(t, 1, "timeout"))
		return unsup(c, "only 'arp timeout N' is supported");
	return h_simple_setting(c, t, "arp-timeout", 2, 0, 1000000);
}

static enum pr
h_floodguard(struct pctx *c, struct toks *t)
{
	if (t->n != 2 || (!teq(t, 1, "enable") && !teq(t, 1, "disable")))
		return unsup(c, "expected 'floodguard enable|disable'");
	return set_setting(c, "floodguard", t->t[1]);
}

static enum pr
h_console(struct pctx *c, struct toks *t)
{
	if (!teq(t, 1, "timeout"))
		return unsup(c, "expected 'console timeout N'");
	return h_simple_setting(c, t, "console-timeout", 2, 0, 60);
}

static enum pr
h_terminal(struct pctx *c, struct toks *t)
{
	if (!teq(t, 1, "width"))
		return unsup(c, "expected 'terminal width N'");
	return h_simple_setting(c, t, "terminal-width", 2, 40, 511);
}

static enum pr
h_names(struct pctx *c, struct toks *t)
{
	if (t->n != 1)
		return unsup(c, "unexpected '%s'", t->t[1]);
	c->names_on = !c->negated;
	return set_setting(c, "names", c->negated ? "off" : "on");
}

static enum pr
h_name(struct pctx *c, struct toks *t)
{
	char a[16];
	uint32_t x;
	size_t i;
	struct model_row *r;

	if (t->n != 3)
		return unsup(c, "expected 'name ADDRESS NAME'");
	if (db_ip4_parse(t->t[1], &x) < 0)
		return fail(c, "bad IPv4 address '%s'", t->t[1]);
	ip4_str(x, a);
	if (db_ip4_parse(t->t[2], &x) == 0 || strspn(t->t[2], "0123456789") == strlen(t->t[2]))
		return fail(c, "name '%s' looks like an address", t->t[2]);
	{
		/* words that may stand where an address stands */
		static const char *const reserved[] = {
		        "any", "host",    "interface", "object-group", "access-list", "netmask",
		        "eq",  "neq",     "lt",        "gt",           "range",       "log",
		        "tcp", "udp",     "dns",       "norandomseq",  "outside",     "timeout",
		        "key", "retries", "inbound",   "outbound",     "mask"};

		for (size_t k = 0; k < sizeof(reserved) / sizeof(reserved[0]); k++)
			if (strcmp(t->t[2], reserved[k]) == 0)
				return fail(c, "'%s' is a keyword and cannot be a name", t->t[2]);
	}
	if (pix_smap_get(&c->maps[PM_NAME], t->t[2], &i)) {
		snprintf(c->warn, sizeof(c->warn), "name '%s' redefined", t->t[2]);
		SET(row_at(c, MT_NAME, i), MT_NAME, "address", a);
		return PR_OK;
	}
	ADD(r, MT_NAME);
	SET(r, MT_NAME, "address", a);
	SET(r, MT_NAME, "name", t->t[2]);
	PUT(PM_NAME, t->t[2], c->m->t[MT_NAME].n - 1);
	return PR_OK;
}

/* object-group KIND NAME [tcp|udp|tcp-udp] */
static enum pr
h_object_group(struct pctx *c, struct toks *t)
{
	struct model_row *r;
	const char *kind = tok(t, 1), *name = tok(t, 2);

	if (kind == NULL || name == NULL)
		return unsup(c, "expected 'object-group KIND NAME'");
	if (strcmp(kind, "network") != 0 && strcmp(kind, "service") != 0 &&
	    strcmp(kind, "protocol") != 0 && strcmp(kind, "icmp-type") != 0)
		return unsup(c, "object-group kind '%s' is not supported", kind);
	if (strcmp(kind, "service") == 0) {
		if (t->n != 4 || (!teq(t, 3, "tcp") && !teq(t, 3, "udp") && !teq(t, 3, "tcp-udp")))
			return unsup(c, "expected 'object-group service NAME tcp|udp|tcp-udp'");
	} else if (t->n != 3) {
		return unsup(c, "unexpected '%s'", t->t[3]);
	}
	if (pix_smap_get(&c->maps[PM_OG], name, NULL))
		return fail(c, "object-group '%s' already defined", name);
	if (name_fits(c, "object-group", name, MODEL_NAME_MAX) != PR_OK)
		return PR_ERROR;
	ADD(r, MT_OBJECT_GROUP);
	SET(r, MT_OBJECT_GROUP, "name", name);
	SET(r, MT_OBJECT_GROUP, "kind", kind);
	if (t->n == 4)
		SET(r, MT_OBJECT_GROUP, "service_protocol", t->t[3]);
	PUT(PM_OG, name, c->m->t[MT_OBJECT_GROUP].n - 1);
	c->og_cur = (long)c->m->t[MT_OBJECT_GROUP].n - 1;
	return PR_OK;
}

static enum pr
h_og_sub(struct pctx *c, struct toks *t)
{
	struct model_row *g, *r;
	const char *kind;
	const char *sub = t->t[0];
	char a[16], m[16];
	long lo = 0, hi = -1;
	enum pr pr;

	c->cmd_section = "object-group";
	if (c->og_cur < 0)
		return unsup(c, "'%s' outside an object-group", sub);
	g = row_at(c, MT_OBJECT_GROUP, (size_t)c->og_cur);
	kind = g->v[1];
	if (strcmp(sub, "description") == 0) {
		const char *d = rest(t, 1);

		if (*d == '\0')
			return fail(c, "empty description");
		SET(g, MT_OBJECT_GROUP, "description", d);
		return PR_OK;
	}
	if (strcmp(sub, "group-object") == 0) {
		size_t gi;

		if (t->n != 2)
			return unsup(c, "expected 'group-object NAME'");
		if (!pix_smap_get(&c->maps[PM_OG], t->t[1], &gi))
			return fail(c, "undefined object-group '%s'", t->t[1]);
		if ((long)gi == c->og_cur)
			return fail(c, "object-group '%s' cannot contain itself", t->t[1]);
		if (strcmp(row_at(c, MT_OBJECT_GROUP, gi)->v[1], kind) != 0)
			return fail(c, "object-group '%s' is %s, not %s", t->t[1],
			            row_at(c, MT_OBJECT_GROUP, gi)->v[1], kind);
		ADD(r, MT_OG_MEMBER);
		SET(r, MT_OG_MEMBER, "group_id", g->v[0]);
		SET(r, MT_OG_MEMBER, "kind", "group");
		SET(r, MT_OG_MEMBER, "ref_group_id", t->t[1]);
		return PR_OK;
	}
	if (strcmp(sub, "network-object") == 0) {
		if (strcmp(kind, "network") != 0)
			return fail(c, "network-object in a %s object-group", kind);
		if (t->n == 3 && teq(t, 1, "host")) {
			pr = parse_addr(c, t->t[2], a);
			if (pr != PR_OK)
				return pr;
			ADD(r, MT_OG_MEMBER);
			SET(r, MT_OG_MEMBER, "kind", "host");
		} else if (t->n == 3) {
			pr = parse_addr(c, t->t[1], a);
			if (pr == PR_OK)
				pr = parse_mask(c, t->t[2], m);
			if (pr != PR_OK)
				return pr;
			ADD(r, MT_OG_MEMBER);
			SET(r, MT_OG_MEMBER, "kind", "network");
			SET(r, MT_OG_MEMBER, "netmask", m);
		} else {
			return unsup(c, "expected 'network-object host A' or 'network-object A M'");
		}
		SET(r, MT_OG_MEMBER, "group_id", g->v[0]);
		SET(r, MT_OG_MEMBER, "address", a);
		return PR_OK;
	}
	if (strcmp(sub, "port-object") == 0) {
		if (strcmp(kind, "service") != 0)
			return fail(c, "port-object in a %s object-group", kind);
		if (t->n == 3 && teq(t, 1, "eq")) {
			pr = parse_port(c, t->t[2], &lo);
		} else if (t->n == 4 && teq(t, 1, "range")) {
			pr = parse_port(c, t->t[2], &lo);
			if (pr == PR_OK)
				pr = parse_port(c, t->t[3], &hi);
			if (pr == PR_OK && hi < lo)
				pr = fail(c, "port range %ld-%ld ends before it starts", lo, hi);
		} else {
			return unsup(c, "expected 'port-object eq P' or 'port-object range P1 P2'");
		}
		if (pr != PR_OK)
			return pr;
		ADD(r, MT_OG_MEMBER);
		SET(r, MT_OG_MEMBER, "group_id", g->v[0]);
		SET(r, MT_OG_MEMBER, "kind", "port");
		SET(r, MT_OG_MEMBER, "port_op", t->t[1]);
		SETF(r, MT_OG_MEMBER, "port_low", "%ld", lo);
		if (hi >= 0)
			SETF(r, MT_OG_MEMBER, "port_high", "%ld", hi);
		return PR_OK;
	}
	if (strcmp(sub, "protocol-object") == 0 || strcmp(sub, "icmp-object") == 0) {
		bool proto = strcmp(sub, "protocol-object") == 0;

		if (strcmp(kind, proto ? "protocol" : "icmp-type") != 0)
			return fail(c, "%s in a %s object-group", sub, kind);
		if (t->n != 2)
			return unsup(c, "expected '%s VALUE'", sub);
		if (proto ? !proto_ok(t->t[1]) : !icmp_type_ok(t->t[1]))
			return fail(c, "unknown %s '%s'", proto ? "protocol" : "icmp type",
			            t->t[1]);
		ADD(r, MT_OG_MEMBER);
		SET(r, MT_OG_MEMBER, "group_id", g->v[0]);
		SET(r, MT_OG_MEMBER, "kind", proto ? "protocol" : "icmp-type");
		SET(r, MT_OG_MEMBER, "value", t->t[1]);
		return PR_OK;
	}
	return unsup(c, "'%s' is not supported in an object-group", sub);
}

/* ---- access-list ---- */

struct endpoint {
	const char *kind; /* any host network group interface */
	char addr[16], mask[16];
	const char *ref; /* group or interface name */
	const char *op;  /* port op */
	long lo, hi;
	const char *port_group;
};

static const char *
og_kind(struct pctx *c, const char *name)
{
	size_t i;

	if (name == NULL || !pix_smap_get(&c->maps[PM_OG], name, &i))
		return NULL;
	return row_at(c, MT_OBJECT_GROUP, i)->v[1];
}

static enum pr
parse_endpoint(struct pctx *c, struct toks *t, int *i, struct endpoint *e)
{
	const char *s = tok(t, *i);
	enum pr pr;

	if (s == NULL)
		return fail(
		        c,
		        "expected an address (any, host A, A M, object-group G), got end of line");
	if (strcmp(s, "any") == 0) {
		e->kind = "any";
		(*i)++;
		return PR_OK;
	}
	if (strcmp(s, "host") == 0) {
		pr = parse_addr(c, tok(t, *i + 1), e->addr);
		if (pr != PR_OK)
			return pr;
		e->kind = "host";
		*i += 2;
		return PR_OK;
	}
	if (strcmp(s, "object-group") == 0) {
		const char *k = og_kind(c, tok(t, *i + 1));

		if (k == NULL)
			return fail(c, "undefined object-group '%s'",
			            tok(t, *i + 1) ? tok(t, *i + 1) : "");
		if (strcmp(k, "network") != 0)
			return fail(c, "object-group '%s' is %s, expected network", t->t[*i + 1],
			            k);
		e->kind = "group";
		e->ref = t->t[*i + 1];
		*i += 2;
		return PR_OK;
	}
	if (strcmp(s, "interface") == 0) {
		size_t ifi;

		pr = need_if(c, tok(t, *i + 1), &ifi);
		if (pr != PR_OK)
			return pr;
		e->kind = "interface";
		e->ref = t->t[*i + 1];
		*i += 2;
		return PR_OK;
	}
	pr = parse_addr(c, s, e->addr);
	if (pr == PR_OK)
		pr = parse_mask(c, tok(t, *i + 1), e->mask);
	if (pr != PR_OK)
		return pr;
	e->kind = "network";
	*i += 2;
	return PR_OK;
}

static enum pr
parse_ports(struct pctx *c, struct toks *t, int *i, struct endpoint *e)
{
	const char *s = tok(t, *i);
	enum pr pr;

	if (s == NULL)
		return PR_OK;
	if (strcmp(s, "eq") == 0 || strcmp(s, "neq") == 0 || strcmp(s, "lt") == 0 ||
	    strcmp(s, "gt") == 0) {
		pr = parse_port(c, tok(t, *i + 1), &e->lo);
		if (pr != PR_OK)
			return pr;
		e->op = s;
		*i += 2;
		return PR_OK;
	}
	if (strcmp(s, "range") == 0) {
		pr = parse_port(c, tok(t, *i + 1), &e->lo);
		if (pr == PR_OK)
			pr = parse_port(c, tok(t, *i + 2), &e->hi);
		if (pr != PR_OK)
			return pr;
		if (e->hi < e->lo)
			return fail(c, "port range %ld-%ld ends before it starts", e->lo, e->hi);
		e->op = s;
		*i += 3;
		return PR_OK;
	}
	if (strcmp(s, "object-group") == 0) {
		const char *k = og_kind(c, tok(t, *i + 1));

		if (k != NULL && strcmp(k, "service") == 0) {
			e->port_group = t->t[*i + 1];
			*i += 2;
		}
	}
	return PR_OK;
}

enum ecol { EC_KIND, EC_ADDRESS, EC_NETMASK, EC_GROUP, EC_IF, EC_OP, EC_LOW, EC_HIGH, EC_PGROUP };

static const char *const ecols[2][9] = {
        {"src_kind", "src_address", "src_netmask", "src_group_id", "src_interface_id",
         "src_port_op", "src_port_low", "src_port_high", "src_port_group_id"},
        {"dst_kind", "dst_address", "dst_netmask", "dst_group_id", "dst_interface_id",
         "dst_port_op", "dst_port_low", "dst_port_high", "dst_port_group_id"},
};

static enum pr
set_endpoint(struct model_row *r, int dst, const struct endpoint *e)
{
	const char *const *col = ecols[dst];

	SET(r, MT_ACE, col[EC_KIND], e->kind);
	if (strcmp(e->kind, "host") == 0 || strcmp(e->kind, "network") == 0)
		SET(r, MT_ACE, col[EC_ADDRESS], e->addr);
	if (strcmp(e->kind, "network") == 0)
		SET(r, MT_ACE, col[EC_NETMASK], e->mask);
	if (strcmp(e->kind, "group") == 0)
		SET(r, MT_ACE, col[EC_GROUP], e->ref);
	if (strcmp(e->kind, "interface") == 0)
		SET(r, MT_ACE, col[EC_IF], e->ref);
	if (e->op != NULL) {
		SET(r, MT_ACE, col[EC_OP], e->op);
		SETF(r, MT_ACE, col[EC_LOW], "%ld", e->lo);
		if (strcmp(e->op, "range") == 0)
			SETF(r, MT_ACE, col[EC_HIGH], "%ld", e->hi);
	}
	if (e->port_group != NULL)
		SET(r, MT_ACE, col[EC_PGROUP], e->port_group);
	return PR_OK;
}

static enum pr
ensure_acl(struct pctx *c, const char *name)
{
	struct model_row *r;

	if (pix_smap_get(&c->maps[PM_ACL], name, NULL))
		return PR_OK;
	if (name_fits(c, "access-list", name, MODEL_NAME_MAX) != PR_OK)
		return PR_ERROR;
	ADD(r, MT_ACCESS_LIST);
	SET(r, MT_ACCESS_LIST, "name", name);
	PUT(PM_ACL, name, c->m->t[MT_ACCESS_LIST].n - 1);
	return PR_OK;
}

static enum pr
h_access_list(struct pctx *c, struct toks *t)
{
	struct endpoint src = {0}, dst = {0};
	const char *name = tok(t, 1), *action;
	const char *proto = NULL, *proto_group = NULL, *icmp = NULL, *icmp_group = NULL;
	long level = -1, interval = -1;
	bool log = false, ports = false;
	struct model_row *r;
	int i = 2;
	enum pr pr;

	if (name == NULL || t->n < 3)
		return unsup(c, "expected 'access-list NAME permit|deny|remark ...'");
	if (teq(t, 2, "line"))
		i = 4; /* access-list X line N ...: an input form */
	if (teq(t, i, "extended"))
		return unsup(c, "PIX 7 'access-list NAME extended' syntax is not supported");
	action = tok(t, i);
	if (action == NULL)
		return unsup(c, "expected permit, deny or remark");
	if (strcmp(action, "remark") == 0) {
		const char *text = rest(t, i + 1);

		if (*text == '\0')
			return fail(c, "empty remark");
		pr = ensure_acl(c, name);
		if (pr != PR_OK)
			return pr;
		ADD(r, MT_ACE);
		SET(r, MT_ACE, "acl_id", name);
		SET(r, MT_ACE, "action", "remark");
		SET(r, MT_ACE, "remark", text);
		return PR_OK;
	}
	if (strcmp(action, "permit") != 0 && strcmp(action, "deny") != 0)
		return unsup(c, "'access-list %s %s' is not supported", name, action);
	i++;
	if (teq(t, i, "object-group")) {
		const char *k = og_kind(c, tok(t, i + 1));

		if (k == NULL)
			return fail(c, "undefined object-group '%s'",
			            tok(t, i + 1) ? tok(t, i + 1) : "");
		if (strcmp(k, "protocol") != 0)
			return fail(c, "object-group '%s' is %s, expected protocol", t->t[i + 1],
			            k);
		proto_group = t->t[i + 1];
		ports = true;
		i += 2;
	} else {
		proto = tok(t, i);
		if (proto == NULL)
			return fail(c, "expected a protocol, got end of line");
		if (!proto_ok(proto))
			return fail(c, "unknown protocol '%s'", proto);
		ports = strcmp(proto, "tcp") == 0 || strcmp(proto, "udp") == 0;
		i++;
	}
	pr = parse_endpoint(c, t, &i, &src);
	if (pr == PR_OK && ports)
		pr = parse_ports(c, t, &i, &src);
	if (pr == PR_OK)
		pr = parse_endpoint(c, t, &i, &dst);
	if (pr == PR_OK && ports)
		pr = parse_ports(c, t, &i, &dst);
	if (pr != PR_OK)
		return pr;
	if (proto != NULL && strcmp(proto, "icmp") == 0 && i < t->n && !teq(t, i, "log")) {
		if (teq(t, i, "object-group")) {
			const char *k = og_kind(c, tok(t, i + 1));

			if (k == NULL || strcmp(k, "icmp-type") != 0)
				return fail(c, "'%s' is not an icmp-type object-group",
				            tok(t, i + 1) ? tok(t, i + 1) : "");
			icmp_group = t->t[i + 1];
			i += 2;
		} else {
			if (!icmp_type_ok(t->t[i]))
				return fail(c, "unknown icmp type '%s'", t->t[i]);
			icmp = t->t[i];
			i++;
		}
	}
	if (teq(t, i, "log")) {
		log = true;
		i++;
		if (teq(t, i, "disable") || teq(t, i, "default"))
			return unsup(c, "'log %s' is not supported", t->t[i]);
		if (i < t->n && parse_long(t->t[i], 0, 7, &level))
			i++;
		if (teq(t, i, "interval")) {
			if (!parse_long(tok(t, i + 1), 1, 600, &interval))
				return fail(c, "bad log interval '%s' (expected 1-600)",
				            tok(t, i + 1) ? tok(t, i + 1) : "");
			i += 2;
		}
	}
	if (i < t->n)
		return unsup(c, "unexpected '%s' in access-list entry", t->t[i]);
	pr = ensure_acl(c, name);
	if (pr != PR_OK)
		return pr;
	ADD(r, MT_ACE);
	SET(r, MT_ACE, "acl_id", name);
	SET(r, MT_ACE, "action", action);
	if (proto != NULL)
		SET(r, MT_ACE, "protocol", proto);
	if (proto_group != NULL)
		SET(r, MT_ACE, "protocol_group_id", proto_group);
	if (set_endpoint(r, 0, &src) != PR_OK || set_endpoint(r, 1, &dst) != PR_OK)
		return PR_NOMEM;
	if (icmp != NULL)
		SET(r, MT_ACE, "icmp_type", icmp);
	if (icmp_group != NULL)
		SET(r, MT_ACE, "icmp_group_id", icmp_group);
	if (log) {
		SET(r, MT_ACE, "log", "1");
		if (level >= 0)
			SETF(r, MT_ACE, "log_level", "%ld", level);
		if (interval >= 0)
			SETF(r, MT_ACE, "log_interval", "%ld", interval);
	}
	return PR_OK;
}

static enum pr
h_access_group(struct pctx *c, struct toks *t)
{
	size_t ifi;
	struct model_row *r;
	enum pr pr;
	char key[300];

	if (t->n != 5 || (!teq(t, 2, "in") && !teq(t, 2, "out")) || !teq(t, 3, "interface"))
		return unsup(c, "expected 'access-group ACL in|out interface IF'");
	pr = need_acl(c, t->t[1]);
	if (pr == PR_OK)
		pr = need_if(c, t->t[4], &ifi);
	if (pr != PR_OK)
		return pr;
	snprintf(key, sizeof(key), "%s %s", t->t[4], t->t[2]);
	pr = unique_key(c, "access-group for this interface and direction", key);
	if (pr != PR_OK)
		return pr;
	ADD(r, MT_ACCESS_GROUP);
	SET(r, MT_ACCESS_GROUP, "acl_id", t->t[1]);
	SET(r, MT_ACCESS_GROUP, "interface_id", t->t[4]);
	SET(r, MT_ACCESS_GROUP, "direction", t->t[2]);
	return PR_OK;
}

/* ---- NAT ---- */

static enum pr
h_global(struct pctx *c, struct toks *t)
{
	char ifn[64], a[16], b[16] = "", m[16] = "";
	size_t ifi;
	long id;
	struct model_row *r;
	const char *kind;
	enum pr pr;

	if (t->n < 4 || !parse_paren(t->t[1], ifn, NULL, sizeof(ifn)))
		return unsup(c, "expected 'global (IF) ID ADDRESS[-ADDRESS] [netmask M]'");
	pr = need_if(c, ifn, &ifi);
	if (pr != PR_OK)
		return pr;
	if (!parse_long(t->t[2], 1, INT_MAX, &id))
		return fail(c, "bad global id '%s' (expected 1-2147483647)", t->t[2]);
	if (strcmp(t->t[3], "interface") == 0) {
		if (t->n != 4)
			return unsup(c, "unexpected '%s'", t->t[4]);
		kind = "interface";
	} else {
		const char *dash = strchr(t->t[3], '-');
		char first[64];

		if (dash != NULL) {
			snprintf(first, sizeof(first), "%.*s", (int)(dash - t->t[3]), t->t[3]);
			pr = parse_addr(c, first, a);
			if (pr == PR_OK)
				pr = parse_addr(c, dash + 1, b);
			if (pr != PR_OK)
				return pr;
			uint32_t x, y;

			db_ip4_parse(a, &x);
			db_ip4_parse(b, &y);
			if (y < x)
				return fail(c, "global range end %s is before start %s", b, a);
			kind = "range";
		} else {
			pr = parse_addr(c, t->t[3], a);
			if (pr != PR_OK)
				return pr;
			kind = "pat";
		}
		if (t->n == 6 && teq(t, 4, "netmask")) {
			pr = parse_mask(c, t->t[5], m);
			if (pr != PR_OK)
				return pr;
		} else if (t->n != 4) {
			return unsup(c, "unexpected '%s'", t->t[4]);
		}
	}
	ADD(r, MT_NAT_GLOBAL);
	SET(r, MT_NAT_GLOBAL, "interface_id", ifn);
	SETF(r, MT_NAT_GLOBAL, "nat_id", "%ld", id);
	SET(r, MT_NAT_GLOBAL, "kind", kind);
	if (strcmp(kind, "interface") != 0)
		SET(r, MT_NAT_GLOBAL, "start_address", a);
	if (*b)
		SET(r, MT_NAT_GLOBAL, "end_address", b);
	if (*m)
		SET(r, MT_NAT_GLOBAL, "netmask", m);
	return PR_OK;
}

struct natopts {
	bool outside, dns, norandomseq;
	long max, emb;
};

static enum pr
parse_natopts(struct pctx *c, struct toks *t, int i, struct natopts *o, bool allow_outside)
{
	int nums = 0;

	for (; i < t->n; i++) {
		long v;

		if (allow_outside && strcmp(t->t[i], "outside") == 0) {
			o->outside = true;
		} else if (strcmp(t->t[i], "dns") == 0) {
			o->dns = true;
		} else if (strcmp(t->t[i], "norandomseq") == 0) {
			o->norandomseq = true;
		} else if (nums < 2 && parse_long(t->t[i], 0, 65535, &v)) {
			if (nums++ == 0)
				o->max = v;
			else
				o->emb = v;
		} else {
			return unsup(c, "unexpected '%s'", t->t[i]);
		}
	}
	return PR_OK;
}

static enum pr
h_nat(struct pctx *c, struct toks *t)
{
	char ifn[64], a[16] = "", m[16] = "";
	size_t ifi;
	long id;
	const char *acl = NULL;
	struct natopts o = {0};
	struct model_row *r;
	int i;
	enum pr pr;

	if (t->n < 4 || !parse_paren(t->t[1], ifn, NULL, sizeof(ifn)))
		return unsup(
		        c, "expected 'nat (IF) ID ADDRESS NETMASK ...' or 'nat (IF) ID access-list "
		           "ACL'");
	pr = need_if(c, ifn, &ifi);
	if (pr != PR_OK)
		return pr;
	if (!parse_long(t->t[2], 0, INT_MAX, &id))
		return fail(c, "bad nat id '%s' (expected 0-2147483647)", t->t[2]);
	if (strcmp(t->t[3], "access-list") == 0) {
		pr = need_acl(c, tok(t, 4));
		if (pr != PR_OK)
			return pr;
		acl = t->t[4];
		i = 5;
	} else {
		pr = parse_addr(c, t->t[3], a);
		if (pr == PR_OK)
			pr = parse_mask(c, tok(t, 4), m);
		if (pr != PR_OK)
			return pr;
		i = 5;
	}
	pr = parse_natopts(c, t, i, &o, true);
	if (pr != PR_OK)
		return pr;
	ADD(r, MT_NAT_RULE);
	SET(r, MT_NAT_RULE, "interface_id", ifn);
	SETF(r, MT_NAT_RULE, "nat_id", "%ld", id);
	if (acl != NULL) {
		SET(r, MT_NAT_RULE, "acl_id", acl);
	} else {
		SET(r, MT_NAT_RULE, "address", a);
		SET(r, MT_NAT_RULE, "netmask", m);
	}
	SET(r, MT_NAT_RULE, "outside", o.outside ? "1" : "0");
	SET(r, MT_NAT_RULE, "dns", o.dns ? "1" : "0");
	SET(r, MT_NAT_RULE, "norandomseq", o.norandomseq ? "1" : "0");
	SETF(r, MT_NAT_RULE, "max_conns", "%ld", o.max);
	SETF(r, MT_NAT_RULE, "emb_limit", "%ld", o.emb);
	return PR_OK;
}

/* static (real,mapped) [tcp|udp] MAPPED|interface [MPORT] REAL [RPORT] [netmask M] [opts]
 * static (real,mapped) [tcp|udp] MAPPED|interface [MPORT] access-list ACL [opts] */
static enum pr
h_static(struct pctx *c, struct toks *t)
{
	char rif[64], mif[64], ma[16] = "", ra[16] = "", m[16] = "255.255.255.255";
	size_t ifi;
	const char *proto = NULL, *acl = NULL;
	long mport = -1, rport = -1;
	bool mapped_if = false;
	struct natopts o = {0};
	struct model_row *r;
	int i = 2;
	enum pr pr;

	if (t->n < 4 || !parse_paren(t->t[1], rif, mif, sizeof(rif)))
		return unsup(c, "expected 'static (REAL_IF,MAPPED_IF) ...'");
	pr = need_if(c, rif, &ifi);
	if (pr == PR_OK)
		pr = need_if(c, mif, &ifi);
	if (pr != PR_OK)
		return pr;
	if (teq(t, i, "tcp") || teq(t, i, "udp"))
		proto = t->t[i++];
	if (teq(t, i, "interface")) {
		mapped_if = true;
		i++;
	} else {
		pr = parse_addr(c, tok(t, i), ma);
		if (pr != PR_OK)
			return pr;
		i++;
	}
	if (proto != NULL) {
		pr = parse_port(c, tok(t, i), &mport);
		if (pr != PR_OK)
			return pr;
		i++;
	}
	if (teq(t, i, "access-list")) {
		pr = need_acl(c, tok(t, i + 1));
		if (pr != PR_OK)
			return pr;
		acl = t->t[i + 1];
		i += 2;
	} else {
		pr = parse_addr(c, tok(t, i), ra);
		if (pr != PR_OK)
			return pr;
		i++;
		if (proto != NULL) {
			pr = parse_port(c, tok(t, i), &rport);
			if (pr != PR_OK)
				return pr;
			i++;
		}
		if (teq(t, i, "netmask")) {
			pr = parse_mask(c, tok(t, i + 1), m);
			if (pr != PR_OK)
				return pr;
			i += 2;
		}
	}
	pr = parse_natopts(c, t, i, &o, false);
	if (pr != PR_OK)
		return pr;
	ADD(r, MT_NAT_STATIC);
	SET(r, MT_NAT_STATIC, "real_interface_id", rif);
	SET(r, MT_NAT_STATIC, "mapped_interface_id", mif);
	if (proto != NULL) {
		SET(r, MT_NAT_STATIC, "protocol", proto);
		SETF(r, MT_NAT_STATIC, "mapped_port", "%ld", mport);
		if (rport >= 0)
			SETF(r, MT_NAT_STATIC, "real_port", "%ld", rport);
	}
	if (mapped_if)
		SET(r, MT_NAT_STATIC, "mapped_kind", "interface");
	else
		SET(r, MT_NAT_STATIC, "mapped_address", ma);
	if (acl != NULL)
		SET(r, MT_NAT_STATIC, "acl_id", acl);
	else
		SET(r, MT_NAT_STATIC, "real_address", ra);
	SET(r, MT_NAT_STATIC, "netmask", m);
	SET(r, MT_NAT_STATIC, "dns", o.dns ? "1" : "0");
	SET(r, MT_NAT_STATIC, "norandomseq", o.norandomseq ? "1" : "0");
	SETF(r, MT_NAT_STATIC, "max_conns", "%ld", o.max);
	SETF(r, MT_NAT_STATIC, "emb_limit", "%ld", o.emb);
	return PR_OK;
}

static enum pr
h_route(struct pctx *c, struct toks *t)
{
	char d[16], m[16], g[16], key[64];
	size_t ifi;
	long metric = 1;
	struct model_row *r;
	enum pr pr;

	if (t->n != 5 && t->n != 6)
		return unsup(c, "expected 'route IF DEST NETMASK GATEWAY [METRIC]'");
	pr = need_if(c, t->t[1], &ifi);
	if (pr == PR_OK)
		pr = parse_addr(c, t->t[2], d);
	if (pr == PR_OK)
		pr = parse_mask(c, t->t[3], m);
	if (pr == PR_OK)
		pr = parse_addr(c, t->t[4], g);
	if (pr != PR_OK)
		return pr;
	if (t->n == 6 && !parse_long(t->t[5], 1, 255, &metric))
		return fail(c, "bad metric '%s' (expected 1-255)", t->t[5]);
	snprintf(key, sizeof(key), "%s %s %s", d, m, g);
	pr = unique_key(c, "route", key);
	if (pr != PR_OK)
		return pr;
	ADD(r, MT_ROUTE);
	SET(r, MT_ROUTE, "interface_id", t->t[1]);
	SET(r, MT_ROUTE, "destination", d);
	SET(r, MT_ROUTE, "netmask", m);
	SET(r, MT_ROUTE, "gateway", g);
	SETF(r, MT_ROUTE, "metric", "%ld", metric);
	return PR_OK;
}

static enum pr
h_timeout(struct pctx *c, struct toks *t)
{
	struct {
		const char *name, *opt;
		long secs;
	} v[16];
	int n = 0;

	for (int i = 1; i < t->n;) {
		if (n == 16)
			return unsup(c, "too many timeouts on one line");
		v[n].name = t->t[i];
		v[n].opt = NULL;
		if (!parse_hms(tok(t, i + 1), &v[n].secs))
			return fail(c, "bad time '%s' for timeout %s (expected H:MM:SS)",
			            tok(t, i + 1) ? tok(t, i + 1) : "", t->t[i]);
		i += 2;
		if (teq(t, i, "absolute") || teq(t, i, "inactivity")) {
			if (strcmp(v[n].name, "uauth") != 0)
				return fail(c, "'%s' applies to uauth only", t->t[i]);
			v[n].opt = t->t[i++];
		}
		n++;
	}
	if (n == 0)
		return unsup(c, "expected 'timeout KIND H:MM:SS ...'");
	for (int k = 0; k < n; k++) {
		size_t ri;
		struct model_row *r;

		if (pix_smap_get(&c->maps[PM_TIMEOUT], v[k].name, &ri)) {
			r = row_at(c, MT_TIMEOUT, ri);
			snprintf(c->warn, sizeof(c->warn),
			         "timeout %s given twice: the last one is kept", v[k].name);
		} else {
			ADD(r, MT_TIMEOUT);
			SET(r, MT_TIMEOUT, "name", v[k].name);
			PUT(PM_TIMEOUT, v[k].name, c->m->t[MT_TIMEOUT].n - 1);
		}
		SETF(r, MT_TIMEOUT, "seconds", "%ld", v[k].secs);
		SET(r, MT_TIMEOUT, "option", v[k].opt);
	}
	return PR_OK;
}

/* ---- AAA ---- */

static enum pr
h_aaa_server(struct pctx *c, struct toks *t)
{
	const char *g = tok(t, 1);
	size_t gi;
	struct model_row *r;
	long v;
	enum pr pr;

	if (g == NULL || t->n < 3)
		return unsup(c, "expected 'aaa-server GROUP ...'");
	if (teq(t, 2, "protocol")) {
		if (t->n != 4 ||
		    (!teq(t, 3, "tacacs+") && !teq(t, 3, "radius") && !teq(t, 3, "local")))
			return unsup(c,
			             "expected 'aaa-server GROUP protocol tacacs+|radius|local'");
		if (pix_smap_get(&c->maps[PM_AAA], g, &gi)) {
			SET(row_at(c, MT_AAA_GROUP, gi), MT_AAA_GROUP, "protocol", t->t[3]);
			return PR_OK;
		}
		ADD(r, MT_AAA_GROUP);
		SET(r, MT_AAA_GROUP, "name", g);
		SET(r, MT_AAA_GROUP, "protocol", t->t[3]);
		PUT(PM_AAA, g, c->m->t[MT_AAA_GROUP].n - 1);
		return PR_OK;
	}
	if (teq(t, 2, "max-failed-attempts") || teq(t, 2, "deadtime") ||
	    teq(t, 2, "accounting-mode")) {
		pr = need_aaa(c, g);
		if (pr != PR_OK)
			return pr;
		r = row_at(c, MT_AAA_GROUP, (pix_smap_get(&c->maps[PM_AAA], g, &gi), gi));
		if (t->n != 4)
			return unsup(c, "expected 'aaa-server GROUP %s VALUE'", t->t[2]);
		if (teq(t, 2, "accounting-mode")) {
			if (!teq(t, 3, "single") && !teq(t, 3, "simultaneous"))
				return fail(c, "bad accounting-mode '%s'", t->t[3]);
			SET(r, MT_AAA_GROUP, "accounting_mode", t->t[3]);
			return PR_OK;
		}
		bool mfa = teq(t, 2, "max-failed-attempts");

		if (!parse_long(t->t[3], mfa ? 1 : 0, mfa ? 5 : 1440, &v))
			return fail(c, "bad %s '%s'", t->t[2], t->t[3]);
		SETF(r, MT_AAA_GROUP, mfa ? "max_failed_attempts" : "deadtime_min", "%ld", v);
		return PR_OK;
	}
	/* aaa-server G [(IF)] host A [KEY] [timeout N] [retries N] */
	char ifn[64] = "", a[16], key[600];
	int i = 2;
	const char *secret = NULL;
	bool masked = false;
	long tmo = 5, retries = 2;

	if (t->t[2][0] == '(') {
		size_t ifi;

		if (!parse_paren(t->t[2], ifn, NULL, sizeof(ifn)))
			return unsup(c, "bad interface '%s'", t->t[2]);
		pr = need_if(c, ifn, &ifi);
		if (pr != PR_OK)
			return pr;
		i = 3;
	}
	if (!teq(t, i, "host"))
		return unsup(c, "'aaa-server %s %s' is not supported", g, t->t[2]);
	pr = need_aaa(c, g);
	if (pr == PR_OK)
		pr = parse_addr(c, tok(t, i + 1), a);
	if (pr != PR_OK)
		return pr;
	i += 2;
	if (i < t->n && strcmp(t->t[i], "timeout") != 0 && strcmp(t->t[i], "retries") != 0) {
		if (strcmp(t->t[i], "key") == 0)
			i++;
		if (i >= t->n)
			return fail(c, "expected a key after 'key'");
		if (strlen(t->t[i]) > PIX_MAX_SECRET)
			return fail(c, "key longer than %d characters", PIX_MAX_SECRET);
		masked = pix_is_masked(t->t[i]);
		secret = masked ? NULL : t->t[i];
		i++;
	}
	while (i < t->n) {
		if (teq(t, i, "timeout")) {
			if (!parse_long(tok(t, i + 1), 1, 300, &tmo))
				return fail(c, "bad timeout '%s' (expected 1-300)",
				            tok(t, i + 1) ? tok(t, i + 1) : "");
		} else if (teq(t, i, "retries")) {
			if (!parse_long(tok(t, i + 1), 0, 10, &retries))
				return fail(c, "bad retries '%s' (expected 0-10)",
				            tok(t, i + 1) ? tok(t, i + 1) : "");
		} else {
			return unsup(c, "unexpected '%s'", t->t[i]);
		}
		i += 2;
	}
	snprintf(key, sizeof(key), "%s %s", g, a);
	pr = unique_key(c, "aaa-server host", key);
	if (pr != PR_OK)
		return pr;
	ADD(r, MT_AAA_HOST);
	SET(r, MT_AAA_HOST, "group_id", g);
	if (*ifn)
		SET(r, MT_AAA_HOST, "interface_id", ifn);
	SET(r, MT_AAA_HOST, "address", a);
	SET(r, MT_AAA_HOST, "key_secret", secret);
	r->secret_masked = masked;
	SETF(r, MT_AAA_HOST, "timeout_s", "%ld", tmo);
	SETF(r, MT_AAA_HOST, "retries", "%ld", retries);
	return PR_OK;
}

static enum pr
h_aaa(struct pctx *c, struct toks *t)
{
	const char *kind = tok(t, 1), *action = tok(t, 2);
	struct model_row *r;
	enum pr pr;

	if (kind == NULL || action == NULL ||
	    (strcmp(kind, "authentication") != 0 && strcmp(kind, "authorization") != 0 &&
	     strcmp(kind, "accounting") != 0))
		return unsup(c, "expected 'aaa authentication|authorization|accounting ...'");
	if (teq(t, 3, "console")) {
		static const char *const svcs[] = {"serial", "telnet", "ssh", "http", "enable"};
		bool ok = false;

		for (size_t k = 0; k < 5; k++)
			ok = ok || strcmp(svcs[k], action) == 0;
		if (strcmp(kind, "authentication") != 0 || !ok || t->n != 5)
			return unsup(c,
			             "expected 'aaa authentication serial|telnet|ssh|http|enable "
			             "console GROUP'");
		pr = need_aaa(c, t->t[4]);
		if (pr == PR_OK)
			pr = unique_key(c, "aaa authentication console service", action);
		if (pr != PR_OK)
			return pr;
		ADD(r, MT_AAA_CONSOLE);
		SET(r, MT_AAA_CONSOLE, "service", action);
		SET(r, MT_AAA_CONSOLE, "group_id", t->t[4]);
		return PR_OK;
	}
	if (strcmp(action, "match") == 0) {
		size_t ifi;

		if (t->n != 6)
			return unsup(c, "expected 'aaa %s match ACL IF GROUP'", kind);
		pr = need_acl(c, t->t[3]);
		if (pr == PR_OK)
			pr = need_if(c, t->t[4], &ifi);
		if (pr == PR_OK)
			pr = need_aaa(c, t->t[5]);
		if (pr != PR_OK)
			return pr;
		ADD(r, MT_AAA_RULE);
		SET(r, MT_AAA_RULE, "kind", kind);
		SET(r, MT_AAA_RULE, "action", "match");
		SET(r, MT_AAA_RULE, "acl_id", t->t[3]);
		SET(r, MT_AAA_RULE, "interface_id", t->t[4]);
		SET(r, MT_AAA_RULE, "group_id", t->t[5]);
		return PR_OK;
	}
	if (strcmp(action, "include") != 0 && strcmp(action, "exclude") != 0)
		return unsup(c, "'aaa %s %s' is not supported", kind, action);
	/* aaa K include|exclude SERVICE IF|inbound|outbound LA LM [FA FM] [GROUP] */
	const char *svc = tok(t, 3), *where = tok(t, 4), *group = NULL;
	char la[16], lm[16], fa[16] = "0.0.0.0", fm[16] = "0.0.0.0";
	bool dir;
	size_t ifi;
	int n = t->n;

	if (svc == NULL || where == NULL || n < 7)
		return unsup(c,
		             "expected 'aaa %s %s SERVICE IF LOCAL_IP MASK [FOREIGN_IP MASK] "
		             "GROUP'",
		             kind, action);
	dir = strcmp(where, "inbound") == 0 || strcmp(where, "outbound") == 0;
	if (!dir) {
		pr = need_if(c, where, &ifi);
		if (pr != PR_OK)
			return pr;
	}
	/* the group is the last token when the count of address tokens is odd */
	if ((n - 5) % 2 == 1) {
		group = t->t[n - 1];
		n--;
	}
	if (n - 5 != 2 && n - 5 != 4)
		return unsup(c, "expected LOCAL_IP MASK [FOREIGN_IP MASK] GROUP");
	pr = parse_addr(c, t->t[5], la);
	if (pr == PR_OK)
		pr = parse_mask(c, t->t[6], lm);
	if (pr == PR_OK && n - 5 == 4)
		pr = parse_addr(c, t->t[7], fa);
	if (pr == PR_OK && n - 5 == 4)
		pr = parse_mask(c, t->t[8], fm);
	if (pr == PR_OK && group != NULL)
		pr = need_aaa(c, group);
	if (pr != PR_OK)
		return pr;
	if (group == NULL && strcmp(action, "include") == 0)
		return fail(c, "aaa %s include needs an aaa-server group", kind);
	ADD(r, MT_AAA_RULE);
	SET(r, MT_AAA_RULE, "kind", kind);
	SET(r, MT_AAA_RULE, "action", action);
	SET(r, MT_AAA_RULE, "service", svc);
	SET(r, MT_AAA_RULE, dir ? "direction" : "interface_id", where);
	SET(r, MT_AAA_RULE, "local_address", la);
	SET(r, MT_AAA_RULE, "local_netmask", lm);
	SET(r, MT_AAA_RULE, "foreign_address", fa);
	SET(r, MT_AAA_RULE, "foreign_netmask", fm);
	if (group != NULL)
		SET(r, MT_AAA_RULE, "group_id", group);
	return PR_OK;
}

static enum pr
h_username(struct pctx *c, struct toks *t)
{
	const char *hash;
	char h[17];
	long priv = 2;
	int i = 4;
	struct model_row *r;
	enum pr pr;

	if (t->n < 4 || !teq(t, 2, "password"))
		return unsup(c, "expected 'username NAME password HASH encrypted [privilege N]'");
	bool encrypted = teq(t, 4, "encrypted");

	if (encrypted)
		i++;
	if (teq(t, i, "privilege")) {
		if (!parse_long(tok(t, i + 1), 0, 15, &priv))
			return fail(c, "bad privilege '%s' (expected 0-15)",
			            tok(t, i + 1) ? tok(t, i + 1) : "");
		i += 2;
	}
	if (i < t->n)
		return unsup(c, "unexpected '%s'", t->t[i]);
	if (encrypted) {
		hash = t->t[3];
	} else {
		pix_md5_hash(t->t[3], t->t[1], h);
		hash = h;
		snprintf(c->warn, sizeof(c->warn),
		         "clear-text password stored as its PIX-MD5 hash");
	}
	pr = unique_key(c, "username", t->t[1]);
	if (pr != PR_OK)
		return pr;
	ADD(r, MT_LOCAL_USER);
	SET(r, MT_LOCAL_USER, "name", t->t[1]);
	if (pix_is_masked(hash)) {
		SET(r, MT_LOCAL_USER, "password_hash", NULL);
		snprintf(c->warn, sizeof(c->warn),
		         "password hash masked: username %s has no password", t->t[1]);
	} else {
		SET(r, MT_LOCAL_USER, "password_hash", hash);
	}
	SETF(r, MT_LOCAL_USER, "privilege", "%ld", priv);
	return PR_OK;
}

/* ---- ISAKMP / IPsec ---- */

static enum pr
h_isakmp(struct pctx *c, struct toks *t)
{
	struct model_row *r;
	size_t ifi;
	enum pr pr;
	long v;

	if (teq(t, 1, "enable")) {
		if (t->n != 3)
			return unsup(c, "expected 'isakmp enable IF'");
		pr = need_if(c, t->t[2], &ifi);
		if (pr == PR_OK)
			pr = unique_key(c, "isakmp enable", t->t[2]);
		if (pr != PR_OK)
			return pr;
		ADD(r, MT_ISAKMP_IF);
		SET(r, MT_ISAKMP_IF, "interface_id", t->t[2]);
		return PR_OK;
	}
	if (teq(t, 1, "key")) {
		char a[16], m[16] = "255.255.255.255", key[64];
		bool noxauth = false, nocfg = false;
		int i = 5;

		if (t->n < 5 || !teq(t, 3, "address"))
			return unsup(c, "expected 'isakmp key KEY address A [netmask M]'");
		if (strlen(t->t[2]) > PIX_MAX_SECRET)
			return fail(c, "key longer than %d characters", PIX_MAX_SECRET);
		pr = parse_addr(c, t->t[4], a);
		if (pr != PR_OK)
			return pr;
		if (teq(t, i, "netmask")) {
			pr = parse_mask(c, tok(t, i + 1), m);
			if (pr != PR_OK)
				return pr;
			i += 2;
		}
		for (; i < t->n; i++) {
			if (strcmp(t->t[i], "no-xauth") == 0)
				noxauth = true;
			else if (strcmp(t->t[i], "no-config-mode") == 0)
				nocfg = true;
			else
				return unsup(c, "unexpected '%s'", t->t[i]);
		}
		snprintf(key, sizeof(key), "%s/%s", a, m);
		pr = unique_key(c, "isakmp key for this address", key);
		if (pr != PR_OK)
			return pr;
		ADD(r, MT_ISAKMP_KEY);
		SET(r, MT_ISAKMP_KEY, "address", a);
		SET(r, MT_ISAKMP_KEY, "netmask", m);
		r->secret_masked = pix_is_masked(t->t[2]);
		SET(r, MT_ISAKMP_KEY, "key_secret", r->secret_masked ? NULL : t->t[2]);
		SET(r, MT_ISAKMP_KEY, "no_xauth", noxauth ? "1" : "0");
		SET(r, MT_ISAKMP_KEY, "no_config_mode", nocfg ? "1" : "0");
		return PR_OK;
	}
	if (teq(t, 1, "identity")) {
		if (t->n < 3 || t->n > 4)
			return unsup(c, "expected 'isakmp identity address|hostname|key-id ID'");
		return set_setting(c, "isakmp-identity", rest(t, 2));
	}
	if (teq(t, 1, "keepalive")) {
		if (t->n < 3 || t->n > 4 || !parse_long(t->t[2], 10, 3600, &v) ||
		    (t->n == 4 && !parse_long(t->t[3], 2, 10, &v)))
			return fail(c, "expected 'isakmp keepalive 10-3600 [2-10]'");
		return set_setting(c, "isakmp-keepalive", rest(t, 2));
	}
	if (teq(t, 1, "nat-traversal")) {
		if (t->n > 3 || (t->n == 3 && !parse_long(t->t[2], 10, 3600, &v)))
			return fail(c, "expected 'isakmp nat-traversal [10-3600]'");
		return set_setting(c, "isakmp-nat-traversal", t->n == 3 ? t->t[2] : "20");
	}
	if (teq(t, 1, "client")) {
		if (t->n < 6 || t->n > 7 || !teq(t, 2, "configuration") ||
		    !teq(t, 3, "address-pool") || !teq(t, 4, "local"))
			return unsup(
			        c, "expected 'isakmp client configuration address-pool local POOL "
			           "[IF]'");
		if (!pix_smap_get(&c->maps[PM_POOL], t->t[5], NULL))
			return fail(c, "undefined ip local pool '%s'", t->t[5]);
		if (t->n == 7) {
			pr = need_if(c, t->t[6], &ifi);
			if (pr != PR_OK)
				return pr;
		}
		char key[300];

		snprintf(key, sizeof(key), "%s %s", t->t[5], t->n == 7 ? t->t[6] : "");
		pr = unique_key(c, "isakmp client configuration address-pool", key);
		if (pr != PR_OK)
			return pr;
		ADD(r, MT_ISAKMP_CLIENT_POOL);
		SET(r, MT_ISAKMP_CLIENT_POOL, "pool_id", t->t[5]);
		if (t->n == 7)
			SET(r, MT_ISAKMP_CLIENT_POOL, "interface_id", t->t[6]);
		return PR_OK;
	}
	if (teq(t, 1, "policy")) {
		long prio;
		const char *attr = tok(t, 3), *val = tok(t, 4), *col;
		char buf[16];
		size_t pi;

		if (t->n != 5 || !parse_long(t->t[2], 1, 65534, &prio))
			return fail(c, "expected 'isakmp policy 1-65534 ATTRIBUTE VALUE'");
		if (strcmp(attr, "authentication") == 0) {
			if (strcmp(val, "pre-share") && strcmp(val, "rsa-sig") &&
			    strcmp(val, "dsa-sig"))
				return fail(c, "bad authentication '%s'", val);
			col = "authentication";
		} else if (strcmp(attr, "encryption") == 0) {
			if (strcmp(val, "des") && strcmp(val, "3des") && strcmp(val, "aes") &&
			    strcmp(val, "aes-192") && strcmp(val, "aes-256"))
				return fail(c, "bad encryption '%s'", val);
			col = "encryption";
		} else if (strcmp(attr, "hash") == 0) {
			if (strcmp(val, "md5") && strcmp(val, "sha"))
				return fail(c, "bad hash '%s'", val);
			col = "hash";
		} else if (strcmp(attr, "group") == 0) {
			if (!parse_long(val, 1, 14, &v) || (v != 1 && v != 2 && v != 5 && v != 14))
				return fail(c, "bad DH group '%s' (expected 1, 2, 5 or 14)", val);
			col = "dh_group";
		} else if (strcmp(attr, "lifetime") == 0) {
			if (!parse_long(val, 60, INT_MAX, &v))
				return fail(c, "bad lifetime '%s' (expected 60-2147483647)", val);
			col = "lifetime_s";
		} else {
			return unsup(c, "isakmp policy attribute '%s' is not supported", attr);
		}
		snprintf(buf, sizeof(buf), "%ld", prio);
		if (pix_smap_get(&c->maps[PM_POLICY], buf, &pi)) {
			r = row_at(c, MT_ISAKMP_POLICY, pi);
		} else {
			ADD(r, MT_ISAKMP_POLICY);
			SET(r, MT_ISAKMP_POLICY, "priority", buf);
			PUT(PM_POLICY, buf, c->m->t[MT_ISAKMP_POLICY].n - 1);
		}
		SET(r, MT_ISAKMP_POLICY, col, val);
		return PR_OK;
	}
	return unsup(c, "'isakmp %s' is not supported", tok(t, 1) ? tok(t, 1) : "");
}

static enum pr
h_crypto_ipsec(struct pctx *c, struct toks *t)
{
	struct model_row *r;
	long v;

	if (teq(t, 2, "security-association") && teq(t, 3, "lifetime") && t->n == 6) {
		bool secs = teq(t, 4, "seconds");

		if (!secs && !teq(t, 4, "kilobytes"))
			return unsup(c, "expected seconds or kilobytes");
		if (!parse_long(t->t[5], secs ? 120 : 2560, secs ? 86400000 : INT_MAX, &v))
			return fail(c, "bad lifetime '%s'", t->t[5]);
		return set_setting(c, secs ? "ipsec-sa-lifetime-seconds" : "ipsec-sa-lifetime-kb",
		                   t->t[5]);
	}
	if (!teq(t, 2, "transform-set") || t->n < 5)
		return unsup(c, "'crypto ipsec %s' is not supported", tok(t, 2) ? tok(t, 2) : "");
	const char *name = t->t[3];
	size_t ti;

	if (teq(t, 4, "mode")) {
		if (t->n != 6 || (!teq(t, 5, "transport") && !teq(t, 5, "tunnel")))
			return unsup(c,
			             "expected 'crypto ipsec transform-set NAME mode transport'");
		if (!pix_smap_get(&c->maps[PM_TSET], name, &ti))
			return fail(c, "undefined transform-set '%s'", name);
		SET(row_at(c, MT_TRANSFORM_SET, ti), MT_TRANSFORM_SET, "mode", t->t[5]);
		return PR_OK;
	}
	const char *enc = NULL, *auth = NULL, *ah = NULL;

	for (int i = 4; i < t->n; i++) {
		const char *s = t->t[i];

		if (!strcmp(s, "esp-des") || !strcmp(s, "esp-3des") || !strcmp(s, "esp-aes") ||
		    !strcmp(s, "esp-aes-192") || !strcmp(s, "esp-aes-256") ||
		    !strcmp(s, "esp-null")) {
			if (enc != NULL)
				return fail(c, "two ESP encryption transforms");
			enc = s;
		} else if (!strcmp(s, "esp-md5-hmac") || !strcmp(s, "esp-sha-hmac")) {
			if (auth != NULL)
				return fail(c, "two ESP authentication transforms");
			auth = s;
		} else if (!strcmp(s, "ah-md5-hmac") || !strcmp(s, "ah-sha-hmac")) {
			if (ah != NULL)
				return fail(c, "two AH transforms");
			ah = s;
		} else {
			return fail(c, "unknown transform '%s'", s);
		}
	}
	if (pix_smap_get(&c->maps[PM_TSET], name, &ti)) {
		r = row_at(c, MT_TRANSFORM_SET, ti);
		snprintf(c->warn, sizeof(c->warn), "transform-set %s redefined", name);
	} else {
		ADD(r, MT_TRANSFORM_SET);
		SET(r, MT_TRANSFORM_SET, "name", name);
		PUT(PM_TSET, name, c->m->t[MT_TRANSFORM_SET].n - 1);
	}
	SET(r, MT_TRANSFORM_SET, "esp_encryption", enc);
	SET(r, MT_TRANSFORM_SET, "esp_authentication", auth);
	SET(r, MT_TRANSFORM_SET, "ah", ah);
	return PR_OK;
}

static enum pr
get_cmap(struct pctx *c, const char *map, bool dyn, long seq, struct model_row **out)
{
	char key[300];
	size_t i;
	struct model_row *r;

	snprintf(key, sizeof(key), "%s\x1f%d\x1f%ld", map, dyn ? 1 : 0, seq);
	if (pix_smap_get(&c->maps[PM_CMAP], key, &i)) {
		*out = row_at(c, MT_CRYPTO_MAP, i);
		return PR_OK;
	}
	ADD(r, MT_CRYPTO_MAP);
	SET(r, MT_CRYPTO_MAP, "map_name", map);
	SET(r, MT_CRYPTO_MAP, "is_dynamic", dyn ? "1" : "0");
	SETF(r, MT_CRYPTO_MAP, "seq", "%ld", seq);
	PUT(PM_CMAP, key, c->m->t[MT_CRYPTO_MAP].n - 1);
	if (dyn)
		PUT(PM_DYNMAP, map, 1);
	*out = r;
	return PR_OK;
}

/* crypto map|dynamic-map NAME SEQ (match address|set ...) */
static enum pr
crypto_entry_sub(struct pctx *c, struct toks *t, bool dyn)
{
	const char *map = t->t[2];
	long seq, v;
	struct model_row *r;
	char key[300];
	enum pr pr;

	if (!parse_long(t->t[3], 1, 65535, &seq))
		return fail(c, "bad sequence number '%s' (expected 1-65535)", t->t[3]);
	if (teq(t, 4, "ipsec-isakmp") && !dyn) {
		const char *dmap = NULL;

		if (t->n == 7 && teq(t, 5, "dynamic")) {
			dmap = t->t[6];
			if (!pix_smap_get(&c->maps[PM_DYNMAP], dmap, NULL))
				return fail(c, "undefined crypto dynamic-map '%s'", dmap);
		} else if (t->n != 5) {
			return unsup(c, "unexpected '%s'", t->t[5]);
		}
		pr = get_cmap(c, map, dyn, seq, &r);
		if (pr != PR_OK)
			return pr;
		SET(r, MT_CRYPTO_MAP, "dynamic_map_name", dmap);
		return PR_OK;
	}
	if (teq(t, 4, "ipsec-manual"))
		return unsup(c, "manual-keyed crypto maps are not supported");
	if (teq(t, 4, "match") && teq(t, 5, "address") && t->n == 7) {
		pr = need_acl(c, t->t[6]);
		if (pr == PR_OK)
			pr = get_cmap(c, map, dyn, seq, &r);
		if (pr != PR_OK)
			return pr;
		SET(r, MT_CRYPTO_MAP, "acl_id", t->t[6]);
		return PR_OK;
	}
	if (!teq(t, 4, "set"))
		return unsup(c, "'crypto map ... %s' is not supported", tok(t, 4) ? tok(t, 4) : "");
	snprintf(key, sizeof(key), "%s\x1f%d\x1f%ld", map, dyn ? 1 : 0, seq);
	if (teq(t, 5, "peer")) {
		char a[16];

		if (t->n < 7)
			return unsup(c, "expected 'set peer ADDRESS'");
		for (int i = 6; i < t->n; i++) {
			pr = parse_addr(c, t->t[i], a);
			if (pr != PR_OK)
				return pr;
		}
		pr = get_cmap(c, map, dyn, seq, &r);
		if (pr != PR_OK)
			return pr;
		for (int i = 6; i < t->n; i++) {
			parse_addr(c, t->t[i], a);
			ADD(r, MT_CRYPTO_MAP_PEER);
			SET(r, MT_CRYPTO_MAP_PEER, "entry_id", key);
			SET(r, MT_CRYPTO_MAP_PEER, "address", a);
		}
		return PR_OK;
	}
	if (teq(t, 5, "transform-set")) {
		if (t->n < 7 || t->n > 12)
			return unsup(c, "expected 'set transform-set NAME [NAME...]' (at most 6)");
		for (int i = 6; i < t->n; i++)
			if (!pix_smap_get(&c->maps[PM_TSET], t->t[i], NULL))
				return fail(c, "undefined transform-set '%s'", t->t[i]);
		pr = get_cmap(c, map, dyn, seq, &r);
		if (pr != PR_OK)
			return pr;
		/* a new set transform-set line replaces the list */
		struct model_rows *rs = &c->m->t[MT_CRYPTO_MAP_TRANSFORM];

		for (size_t k = rs->n; k-- > 0;)
			if (strcmp(rs->rows[k].v[0], key) == 0)
				model_row_remove(c->m, MT_CRYPTO_MAP_TRANSFORM, k);
		for (int i = 6; i < t->n; i++) {
			ADD(r, MT_CRYPTO_MAP_TRANSFORM);
			SET(r, MT_CRYPTO_MAP_TRANSFORM, "entry_id", key);
			SET(r, MT_CRYPTO_MAP_TRANSFORM, "transform_set_id", t->t[i]);
		}
		return PR_OK;
	}
	if (teq(t, 5, "pfs")) {
		long g = 1;

		if (t->n == 7) {
			if (strncmp(t->t[6], "group", 5) != 0 ||
			    !parse_long(t->t[6] + 5, 1, 14, &g) ||
			    (g != 1 && g != 2 && g != 5 && g != 14))
				return fail(c, "bad pfs group '%s' (expected group1|group2|group5)",
				            t->t[6]);
		} else if (t->n != 6) {
			return unsup(c, "expected 'set pfs [groupN]'");
		}
		pr = get_cmap(c, map, dyn, seq, &r);
		if (pr != PR_OK)
			return pr;
		SETF(r, MT_CRYPTO_MAP, "pfs_group", "%ld", g);
		return PR_OK;
	}
	if (teq(t, 5, "security-association") && teq(t, 6, "lifetime") && t->n >= 9) {
		long s = -1, kb = -1;

		for (int i = 7; i + 1 < t->n + 1; i += 2) {
			if (teq(t, i, "seconds") && parse_long(tok(t, i + 1), 120, 86400000, &v))
				s = v;
			else if (teq(t, i, "kilobytes") &&
			         parse_long(tok(t, i + 1), 2560, INT_MAX, &v))
				kb = v;
			else if (i < t->n)
				return fail(c, "bad lifetime '%s %s'", t->t[i],
				            tok(t, i + 1) ? tok(t, i + 1) : "");
		}
		pr = get_cmap(c, map, dyn, seq, &r);
		if (pr != PR_OK)
			return pr;
		if (s >= 0)
			SETF(r, MT_CRYPTO_MAP, "lifetime_s", "%ld", s);
		if (kb >= 0)
			SETF(r, MT_CRYPTO_MAP, "lifetime_kb", "%ld", kb);
		return PR_OK;
	}
	return unsup(c, "'set %s' is not supported", tok(t, 5) ? tok(t, 5) : "");
}

static enum pr
get_cmopt(struct pctx *c, const char *map, struct model_row **out)
{
	size_t i;
	struct model_row *r;

	if (pix_smap_get(&c->maps[PM_CMOPT], map, &i)) {
		*out = row_at(c, MT_CRYPTO_MAP_OPTION, i);
		return PR_OK;
	}
	ADD(r, MT_CRYPTO_MAP_OPTION);
	SET(r, MT_CRYPTO_MAP_OPTION, "map_name", map);
	PUT(PM_CMOPT, map, c->m->t[MT_CRYPTO_MAP_OPTION].n - 1);
	*out = r;
	return PR_OK;
}

static enum pr
h_crypto(struct pctx *c, struct toks *t)
{
	struct model_row *r;
	enum pr pr;
	size_t ifi;

	if (teq(t, 1, "ipsec")) {
		c->cmd_section = "crypto ipsec";
		return h_crypto_ipsec(c, t);
	}
	if (teq(t, 1, "dynamic-map") && t->n >= 5) {
		c->cmd_section = "crypto dynamic-map";
		return crypto_entry_sub(c, t, true);
	}
	if (!teq(t, 1, "map") || t->n < 4)
		return unsup(c, "'crypto %s' is not supported", tok(t, 1) ? tok(t, 1) : "");
	c->cmd_section = "crypto map";
	const char *map = t->t[2];

	if (teq(t, 3, "interface")) {
		if (t->n != 5)
			return unsup(c, "expected 'crypto map NAME interface IF'");
		pr = need_if(c, t->t[4], &ifi);
		if (pr == PR_OK)
			pr = unique_key(c, "crypto map on this interface", t->t[4]);
		if (pr != PR_OK)
			return pr;
		ADD(r, MT_CRYPTO_MAP_IF);
		SET(r, MT_CRYPTO_MAP_IF, "map_name", map);
		SET(r, MT_CRYPTO_MAP_IF, "interface_id", t->t[4]);
		return PR_OK;
	}
	if (teq(t, 3, "client") && teq(t, 4, "configuration") && teq(t, 5, "address") &&
	    t->n == 7) {
		bool ini = teq(t, 6, "initiate");

		if (!ini && !teq(t, 6, "respond"))
			return unsup(c, "expected initiate or respond");
		pr = get_cmopt(c, map, &r);
		if (pr != PR_OK)
			return pr;
		SET(r, MT_CRYPTO_MAP_OPTION,
		    ini ? "client_config_initiate" : "client_config_respond", "1");
		return PR_OK;
	}
	if (teq(t, 3, "client") && teq(t, 4, "authentication") && (t->n == 6 || t->n == 7)) {
		if (t->n == 7)
			return unsup(
			        c, "'client authentication GROUP LOCAL' fallback is not supported");
		pr = need_aaa(c, t->t[5]);
		if (pr == PR_OK)
			pr = get_cmopt(c, map, &r);
		if (pr != PR_OK)
			return pr;
		SET(r, MT_CRYPTO_MAP_OPTION, "client_auth_group_id", t->t[5]);
		return PR_OK;
	}
	if (t->n < 5)
		return unsup(c, "'crypto map %s %s' is not supported", map, t->t[3]);
	return crypto_entry_sub(c, t, false);
}

static enum pr
h_vpngroup(struct pctx *c, struct toks *t)
{
	const char *g = tok(t, 1), *attr = tok(t, 2);
	struct model_row *r;
	size_t gi;
	long v;
	char a[16], b[16] = "";
	enum pr pr;
	const char *col = NULL, *val = NULL, *col2 = NULL;
	bool masked_pw = false;

	if (g == NULL || attr == NULL)
		return unsup(c, "expected 'vpngroup NAME ATTRIBUTE ...'");
	if (!strcmp(attr, "address-pool") && t->n == 4) {
		if (!pix_smap_get(&c->maps[PM_POOL], t->t[3], NULL))
			return fail(c, "undefined ip local pool '%s'", t->t[3]);
		col = "pool_id", val = t->t[3];
	} else if ((!strcmp(attr, "dns-server") || !strcmp(attr, "wins-server")) &&
	           (t->n == 4 || t->n == 5)) {
		pr = parse_addr(c, t->t[3], a);
		if (pr == PR_OK && t->n == 5)
			pr = parse_addr(c, t->t[4], b);
		if (pr != PR_OK)
			return pr;
		bool dns = !strcmp(attr, "dns-server");

		col = dns ? "dns_server1" : "wins_server1", val = a;
		col2 = dns ? "dns_server2" : "wins_server2";
	} else if (!strcmp(attr, "default-domain") && t->n == 4) {
		col = "default_domain", val = t->t[3];
	} else if (!strcmp(attr, "split-tunnel") && t->n == 4) {
		pr = need_acl(c, t->t[3]);
		if (pr != PR_OK)
			return pr;
		col = "split_tunnel_acl_id", val = t->t[3];
	} else if (!strcmp(attr, "split-dns") && t->n >= 4) {
		col = "split_dns", val = rest(t, 3);
	} else if (!strcmp(attr, "idle-time") && t->n == 4) {
		if (!parse_long(t->t[3], 60, 86400, &v))
			return fail(c, "bad idle-time '%s' (expected 60-86400)", t->t[3]);
		col = "idle_time_s", val = t->t[3];
	} else if (!strcmp(attr, "max-time") && t->n == 4) {
		if (!parse_long(t->t[3], 0, 31536000, &v))
			return fail(c, "bad max-time '%s' (expected 0-31536000)", t->t[3]);
		col = "max_time_s", val = t->t[3];
	} else if (!strcmp(attr, "authentication-server-timeout") && t->n == 4) {
		if (!parse_long(t->t[3], 1, 240, &v))
			return fail(c, "bad authentication-server-timeout '%s'", t->t[3]);
		col = "authentication_server_timeout_s", val = t->t[3];
	} else if (!strcmp(attr, "user-idle-timeout") && t->n == 4) {
		if (!parse_long(t->t[3], 0, 86400, &v))
			return fail(c, "bad user-idle-timeout '%s'", t->t[3]);
		col = "user_idle_timeout_s", val = t->t[3];
	} else if (!strcmp(attr, "password") && t->n == 4) {
		if (strlen(t->t[3]) > PIX_MAX_SECRET)
			return fail(c, "password longer than %d characters", PIX_MAX_SECRET);
		masked_pw = pix_is_masked(t->t[3]);
		col = "password_secret", val = masked_pw ? NULL : t->t[3];
	} else if (!strcmp(attr, "pfs") && t->n == 3) {
		col = "pfs", val = "1";
	} else if (!strcmp(attr, "device-pass-through") && t->n == 3) {
		col = "device_pass_through", val = "1";
	} else if (!strcmp(attr, "secure-unit-authentication") && t->n == 3) {
		col = "secure_unit_authentication", val = "1";
	} else if (!strcmp(attr, "user-authentication") && t->n == 3) {
		col = "user_authentication", val = "1";
	} else if (!strcmp(attr, "backup-server") && t->n >= 4) {
		if (strcmp(t->t[3], "keep-client-config") &&
		    strcmp(t->t[3], "clear-client-config")) {
			if (t->n > 13)
				return fail(c, "more than 10 backup servers");
			for (int i = 3; i < t->n; i++) {
				pr = parse_addr(c, t->t[i], a);
				if (pr != PR_OK)
					return pr;
			}
		} else if (t->n != 4) {
			return unsup(c, "unexpected '%s'", t->t[4]);
		}
		col = "backup_servers", val = rest(t, 3);
	} else {
		return unsup(c, "'vpngroup %s' is not supported", attr);
	}
	if (pix_smap_get(&c->maps[PM_VPNGROUP], g, &gi)) {
		r = row_at(c, MT_VPNGROUP, gi);
	} else {
		ADD(r, MT_VPNGROUP);
		SET(r, MT_VPNGROUP, "name", g);
		PUT(PM_VPNGROUP, g, c->m->t[MT_VPNGROUP].n - 1);
	}
	SET(r, MT_VPNGROUP, col, val);
	if (col2 != NULL)
		SET(r, MT_VPNGROUP, col2, *b ? b : NULL);
	if (!strcmp(col, "password_secret")) {
		SET(r, MT_VPNGROUP, "has_password", "1");
		r->secret_masked = masked_pw;
	}
	return PR_OK;
}

static enum pr
h_fixup(struct pctx *c, struct toks *t)
{
	struct model_row *r;
	long lo = -1, hi = -1, maxlen = -1;
	const char *qual = NULL;
	int i = 3;

	if (!teq(t, 1, "protocol") || t->n < 3)
		return unsup(c, "expected 'fixup protocol NAME ...'");
	if (i < t->n && !isdigit((unsigned char)t->t[i][0]) && strcmp(t->t[i], "maximum-length"))
		qual = t->t[i++];
	if (teq(t, i, "maximum-length")) {
		if (!parse_long(tok(t, i + 1), 512, 65535, &maxlen))
			return fail(c, "bad maximum-length '%s' (expected 512-65535)",
			            tok(t, i + 1) ? tok(t, i + 1) : "");
		i += 2;
	} else if (i < t->n) {
		char *dash = strchr(t->t[i], '-');

		if (dash != NULL) {
			*dash = '\0';
			bool ok = parse_long(t->t[i], 1, 65535, &lo) &&
			          parse_long(dash + 1, 1, 65535, &hi);

			*dash = '-';
			if (!ok || hi < lo)
				return fail(c, "bad port range '%s'", t->t[i]);
		} else if (!parse_long(t->t[i], 1, 65535, &lo)) {
			return fail(c, "bad port '%s'", t->t[i]);
		}
		i++;
	}
	if (i < t->n)
		return unsup(c, "unexpected '%s'", t->t[i]);
	ADD(r, MT_FIXUP);
	SET(r, MT_FIXUP, "protocol", t->t[2]);
	SET(r, MT_FIXUP, "qualifier", qual);
	if (lo >= 0)
		SETF(r, MT_FIXUP, "port_low", "%ld", lo);
	if (hi >= 0)
		SETF(r, MT_FIXUP, "port_high", "%ld", hi);
	if (maxlen >= 0)
		SETF(r, MT_FIXUP, "max_length", "%ld", maxlen);
	SET(r, MT_FIXUP, "enabled", c->negated ? "0" : "1");
	return PR_OK;
}

static enum pr
h_sysopt(struct pctx *c, struct toks *t)
{
	char name[256];
	const char *value = c->negated ? "off" : "on";
	int last = t->n;
	long v;
	size_t i;
	struct model_row *r;

	if (t->n < 2)
		return unsup(c, "expected 'sysopt OPTION'");
	if (!c->negated && t->n >= 3 && parse_long(t->t[t->n - 1], 0, INT_MAX, &v)) {
		value = t->t[t->n - 1];
		last = t->n - 1;
	}
	snprintf(name, sizeof(name), "%.*s",
	         (int)(t->off[last - 1] + strlen(t->t[last - 1]) - t->off[1]), t->line + t->off[1]);
	if (pix_smap_get(&c->maps[PM_SYSOPT], name, &i)) {
		SET(row_at(c, MT_SYSOPT, i), MT_SYSOPT, "value", value);
		return PR_OK;
	}
	ADD(r, MT_SYSOPT);
	SET(r, MT_SYSOPT, "name", name);
	SET(r, MT_SYSOPT, "value", value);
	PUT(PM_SYSOPT, name, c->m->t[MT_SYSOPT].n - 1);
	return PR_OK;
}

static enum pr
h_mgmt(struct pctx *c, struct toks *t)
{
	const char *svc = t->t[0];
	char a[16], m[16], key[128];
	size_t ifi;
	struct model_row *r;
	enum pr pr;
	long v;

	if (teq(t, 1, "timeout") && strcmp(svc, "http") != 0) {
		if (t->n != 3 || !parse_long(t->t[2], 1, 1440, &v))
			return fail(c, "expected '%s timeout 1-1440'", svc);
		return set_setting(c, !strcmp(svc, "telnet") ? "telnet-timeout" : "ssh-timeout",
		                   t->t[2]);
	}
	if (!strcmp(svc, "http") && teq(t, 1, "server") && teq(t, 2, "enable") && t->n == 3)
		return set_setting(c, "http-server", "on");
	if (t->n != 4)
		return unsup(c, "expected '%s ADDRESS NETMASK IF'", svc);
	pr = parse_addr(c, t->t[1], a);
	if (pr == PR_OK)
		pr = parse_mask(c, t->t[2], m);
	if (pr == PR_OK)
		pr = need_if(c, t->t[3], &ifi);
	if (pr != PR_OK)
		return pr;
	snprintf(key, sizeof(key), "%s %s %s %s", svc, a, m, t->t[3]);
	pr = unique_key(c, "management access", key);
	if (pr != PR_OK)
		return pr;
	ADD(r, MT_MGMT_ACCESS);
	SET(r, MT_MGMT_ACCESS, "service", svc);
	SET(r, MT_MGMT_ACCESS, "address", a);
	SET(r, MT_MGMT_ACCESS, "netmask", m);
	SET(r, MT_MGMT_ACCESS, "interface_id", t->t[3]);
	return PR_OK;
}

/* Understood but not enforced: kept verbatim in its section. */
static enum pr
h_keep(struct pctx *c, struct toks *t)
{
	if (t->n < 1)
		return unsup(c, "expected '%s ...'", t->t[0]);
	return keep_line(c, t, c->cmd_section, true, "kept verbatim: not enforced by Portcullis");
}

/* Legacy PIX 4/5 commands: kept verbatim, with a warning. */
static enum pr
h_legacy(struct pctx *c, struct toks *t)
{
	if (t->n < 3)
		return unsup(c, "expected '%s ...'", t->t[0]);
	snprintf(c->warn, sizeof(c->warn),
	         "legacy '%s' kept verbatim and not enforced: convert it to access-list/"
	         "access-group",
	         t->t[0]);
	return keep_line(c, t, c->cmd_section, true, c->warn);
}

struct cmd {
	const char *kw;
	const char *section;
	enum pr (*fn)(struct pctx *c, struct toks *t);
	bool negatable;
};

static const struct cmd cmds[] = {
        {"PIX", "header", h_version, false},
        {"interface", "interface", h_interface, false},
        {"nameif", "nameif", h_nameif, false},
        {"enable", "enable", h_enable, false},
        {"passwd", "enable", h_passwd, false},
        {"hostname", "hostname", h_hostname, false},
        {"domain-name", "domain-name", h_domain, false},
        {"fixup", "fixup", h_fixup, true},
        {"names", "names", h_names, true},
        {"name", "names", h_name, false},
        {"object-group", "object-group", h_object_group, false},
        {"access-list", "access-list", h_access_list, false},
        {"pager", "pager", h_pager, true},
        {"logging", "logging", h_keep, true},
        {"mtu", "mtu", h_mtu, false},
        {"ip", "ip address", h_ip, true},
        {"failover", "failover", h_keep, true},
        {"pdm", "pdm", h_keep, true},
        {"arp", "arp", h_arp, false},
        {"global", "global", h_global, false},
        {"nat", "nat", h_nat, false},
        {"static", "static", h_static, false},
        {"conduit", "conduit", h_legacy, false},
        {"outbound", "outbound", h_legacy, false},
        {"apply", "outbound", h_legacy, false},
        {"access-group", "access-group", h_access_group, false},
        {"route", "route", h_route, false},
        {"timeout", "timeout", h_timeout, false},
        {"aaa-server", "aaa-server", h_aaa_server, false},
        {"aaa", "aaa", h_aaa, false},
        {"http", "http", h_mgmt, false},
        {"snmp-server", "snmp-server", h_keep, true},
        {"floodguard", "floodguard", h_floodguard, false},
        {"sysopt", "sysopt", h_sysopt, true},
        {"crypto", "crypto map", h_crypto, false},
        {"isakmp", "isakmp", h_isakmp, false},
        {"vpngroup", "vpngroup", h_vpngroup, false},
        {"telnet", "telnet", h_mgmt, false},
        {"ssh", "ssh", h_mgmt, false},
        {"console", "console", h_console, false},
        {"terminal", "terminal", h_terminal, false},
        {"username", "username", h_username, false},
};

static const char *const og_subs[] = {"description",     "network-object", "port-object",
                                      "protocol-object", "icmp-object",    "group-object"};

static const struct cmd *
cmd_find(const char *kw)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (cmds[i].kw[0] == kw[0] && strcmp(cmds[i].kw, kw) == 0)
			return &cmds[i];
	return NULL;
}

static bool
is_og_sub(const char *kw)
{
	for (size_t i = 0; i < sizeof(og_subs) / sizeof(og_subs[0]); i++)
		if (og_subs[i][0] == kw[0] && strcmp(og_subs[i], kw) == 0)
			return true;
	return false;
}

/* ---- line handling ---- */

static int
tokenize(char *line, struct toks *t)
{
	char *p = line;

	t->n = 0;
	t->line = line;
	while (*p) {
		while (*p == ' ' || *p == '\t')
			*p++ = '\0';
		if (*p == '\0')
			break;
		if (t->n == MAX_TOKS)
			return -1;
		t->t[t->n] = p;
		t->off[t->n] = (size_t)(p - line);
		t->n++;
		while (*p && *p != ' ' && *p != '\t')
			p++;
	}
	return 0;
}

bool
pix_is_masked(const char *s)
{
	if (s == NULL || strlen(s) < 3)
		return false;
	for (; *s; s++)
		if (*s != '*')
			return false;
	return true;
}

static bool
is_ignored(const char *l)
{
	const char *sp;

	if (l[0] == '!' || l[0] == ':')
		return true;
	if (!strncmp(l, "Cryptochecksum:", 15) || !strncmp(l, "Building configuration", 22) ||
	    !strcmp(l, "[OK]") || !strncmp(l, "Current configuration", 21))
		return true;
	/* a terminal prompt: "pix#", "pix# show run", "pix(config)#", "fw> ..." */
	sp = strchr(l, ' ');
	size_t n = sp ? (size_t)(sp - l) : strlen(l);

	if (n >= 2 && (l[n - 1] == '#' || l[n - 1] == '>'))
		return true;
	return false;
}

static bool
starts_command(const char *l)
{
	char kw[64];
	size_t n = 0;

	while (*l == ' ' || *l == '\t')
		l++;
	if (*l == '\0' || is_ignored(l))
		return true;
	while (l[n] && l[n] != ' ' && l[n] != '\t' && n < sizeof(kw) - 1) {
		kw[n] = l[n];
		n++;
	}
	kw[n] = '\0';
	if (strcmp(kw, "no") == 0)
		return true;
	return cmd_find(kw) != NULL || is_og_sub(kw);
}

struct pline {
	const char *p;
	size_t len;
};

/* Splits text into physical lines without CR and trailing blanks. */
static int
split_lines(const char *text, size_t len, struct pline **out, size_t *n)
{
	size_t cap = 64, cnt = 0, i = 0;
	struct pline *v = malloc(cap * sizeof(*v));

	if (v == NULL)
		return -ENOMEM;
	while (i < len) {
		size_t s = i, e;

		while (i < len && text[i] != '\n')
			i++;
		e = i;
		if (i < len)
			i++;
		while (e > s && (text[e - 1] == '\r' || text[e - 1] == ' ' || text[e - 1] == '\t'))
			e--;
		if (cnt == cap) {
			struct pline *nv = realloc(v, cap * 2 * sizeof(*v));

			if (nv == NULL) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
			cap *= 2;
		}
		v[cnt].p = text + s;
		v[cnt].len = e - s;
		cnt++;
	}
	*out = v;
	*n = cnt;
	return 0;
}

static size_t
terminal_width(const struct pline *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		long w;
		char buf[32];

		if (v[i].len > 15 && v[i].len < sizeof(buf) &&
		    !strncmp(v[i].p, "terminal width ", 15)) {
			snprintf(buf, sizeof(buf), "%.*s", (int)(v[i].len - 15), v[i].p + 15);
			if (parse_long(buf, 40, 511, &w))
				return (size_t)w;
		}
	}
	return 80;
}

static int
record(struct pctx *c, enum pix_line_kind kind, const char *text, size_t len, const char *reason)
{
	return pix_report_add(c->rep, c->line, kind, text, len, reason);
}

/* The word of a line that is a secret (a key or a clear-text password), -1 if none: it is shown
 * as ******** in reports and in lines kept verbatim, so a secret never leaves its secret column. */
static int
secret_tok(const struct toks *t)
{
	if (t->n >= 3 && teq(t, 0, "isakmp") && teq(t, 1, "key"))
		return 2;
	if (t->n >= 4 && teq(t, 0, "vpngroup") && teq(t, 2, "password"))
		return 3;
	if (t->n >= 4 && teq(t, 0, "username") && teq(t, 2, "password") && !teq(t, 4, "encrypted"))
		return 3;
	if (t->n == 3 && teq(t, 0, "enable") && teq(t, 1, "password"))
		return 2;
	if (t->n == 2 && teq(t, 0, "passwd"))
		return 1;
	if (t->n >= 4 && teq(t, 0, "failover") && teq(t, 1, "lan") && teq(t, 2, "key"))
		return 3;
	if (t->n >= 2 && (teq(t, 0, "pre-shared-key") || teq(t, 0, "key")))
		return 1;
	if (t->n >= 5 && teq(t, 0, "aaa-server")) {
		for (int i = 2; i + 2 < t->n; i++) {
			if (!teq(t, i, "host"))
				continue;
			int k = i + 2;

			if (teq(t, k, "key"))
				k++;
			if (k < t->n && !teq(t, k, "timeout") && !teq(t, k, "retries"))
				return k;
			return -1;
		}
	}
	return -1;
}

static char *
mask_at(const char *s, size_t off, size_t len)
{
	char *out = NULL;

	if (asprintf(&out, "%.*s********%s", (int)off, s, s + off + len) < 0)
		return NULL;
	return out;
}

static int
process_line(struct pctx *c, char *buf, size_t len, bool strict, bool probe)
{
	struct toks t;
	char *copy;
	const struct cmd *cmd;
	enum pr pr;
	size_t before[MT_COUNT];
	long og_before;
	char *shown = NULL, *kept = NULL; /* the line with its secret masked */
	int si = -1;
	int rc;

	/* the raw (trimmed) text is kept for the report and passthrough */
	copy = strndup(buf, len);
	if (copy == NULL)
		return -ENOMEM;
	const char *l = copy;

	while (*l == ' ' || *l == '\t')
		l++;
	if (*l == '\0' || is_ignored(l)) {
		rc = record(c, PIX_LINE_IGNORED, copy, len, NULL);
		free(copy);
		return rc;
	}
	c->reason[0] = c->warn[0] = '\0';
	c->negated = false;
	if (tokenize(buf, &t) < 0) {
		if (probe) {
			free(copy);
			return 1;
		}
		snprintf(c->reason, sizeof(c->reason), "more than %d words", MAX_TOKS);
		pr = PR_UNSUP;
		cmd = NULL;
		goto done;
	}
	t.line = l; /* offsets are relative to the tokenized buffer; rebuild against copy */
	{
		size_t base = (size_t)(l - copy);

		for (int i = 0; i < t.n; i++)
			t.off[i] = (size_t)(t.t[i] - buf) - base;
	}
	if (strcmp(t.t[0], "no") == 0 && t.n > 1) {
		c->negated = true;
		memmove(&t.t[0], &t.t[1], (size_t)(t.n - 1) * sizeof(t.t[0]));
		memmove(&t.off[0], &t.off[1], (size_t)(t.n - 1) * sizeof(t.off[0]));
		t.n--;
	}
	c->shown = NULL;
	si = secret_tok(&t);
	if (si >= 0 && !pix_is_masked(t.t[si])) {
		size_t tl = strlen(t.t[si]);

		shown = mask_at(l, t.off[si], tl);
		kept = mask_at(copy, (size_t)(l - copy) + t.off[si], tl);
		if (shown == NULL || kept == NULL) {
			free(shown);
			free(kept);
			free(copy);
			return -ENOMEM;
		}
		c->shown = shown;
	}
	for (int i = 0; i < MT_COUNT; i++)
		before[i] = c->m->t[i].n;
	og_before = c->og_cur;
	cmd = cmd_find(t.t[0]);
	/* where the line goes on export if it is kept verbatim: with its own command family, in
	 * its object-group block, or (unknown command) after the command before it */
	char keep_section[300];

	snprintf(keep_section, sizeof(keep_section), "%s", c->section);
	if (c->og_cur >= 0 && (l != copy || (cmd == NULL && is_og_sub(t.t[0])))) {
		/* inside an object-group block */
		snprintf(keep_section, sizeof(keep_section), "object-group:%s",
		         row_at(c, MT_OBJECT_GROUP, (size_t)c->og_cur)->v[0]);
		if (is_og_sub(t.t[0]) && !c->negated)
			pr = h_og_sub(c, &t);
		else
			pr = unsup(c, "'%s' is not supported in an object-group", t.t[0]);
	} else if (cmd == NULL && is_og_sub(t.t[0]) && !c->negated) {
		pr = h_og_sub(c, &t);
	} else if (l != copy) {
		pr = unsup(c, "indented sub-command of a block that is not supported");
	} else if (cmd == NULL) {
		c->og_cur = -1;
		pr = unsup(c, "unknown command '%s'", t.t[0]);
	} else if (c->negated && !cmd->negatable) {
		c->og_cur = -1;
		snprintf(keep_section, sizeof(keep_section), "%s", cmd->section);
		pr = unsup(c, "'no %s' is not supported", t.t[0]);
	} else {
		c->og_cur = -1;
		c->cmd_section = cmd->section;
		pr = cmd->fn(c, &t);
		snprintf(keep_section, sizeof(keep_section), "%s", c->cmd_section);
	}
	if (pr == PR_NOMEM) {
		free(shown);
		free(kept);
		free(copy);
		return -ENOMEM;
	}
	if (pr != PR_OK) {
		/* undo rows a failed handler may have added */
		for (int i = 0; i < MT_COUNT; i++)
			while (c->m->t[i].n > before[i])
				model_row_remove(c->m, i, c->m->t[i].n - 1);
		if (probe) {
			/* a trial (wrapped-line detection): nothing is recorded */
			c->og_cur = og_before;
			free(shown);
			free(kept);
			free(copy);
			return 1;
		}
	}
done:
	if (pr == PR_OK) {
		if (cmd != NULL || is_og_sub(t.t[0]))
			c->section = c->cmd_section;
		rc = record(c, c->warn[0] ? PIX_LINE_WARNING : PIX_LINE_MAPPED, shown ? shown : l,
		            strlen(shown ? shown : l), c->warn[0] ? c->warn : NULL);
	} else {
		enum pix_line_kind k = pr == PR_ERROR ? PIX_LINE_ERROR : PIX_LINE_UNSUPPORTED;
		struct model_row *r;
		char reason[600];

		snprintf(reason, sizeof(reason), "%s%s", pr == PR_ERROR ? "error: " : "",
		         c->reason);
		rc = record(c, k, shown ? shown : l, strlen(shown ? shown : l), c->reason);
		if (rc == 0 && !(pr == PR_ERROR && strict)) {
			r = model_row_add(c->m, MT_PASSTHROUGH);
			if (r == NULL ||
			    model_row_set(r, MT_PASSTHROUGH, "section", keep_section) < 0 ||
			    model_row_set(r, MT_PASSTHROUGH, "text", kept ? kept : copy) < 0 ||
			    model_row_set(r, MT_PASSTHROUGH, "reason", reason) < 0)
				rc = -ENOMEM;
			else
				r->line = c->line;
		}
	}
	if (shown != NULL)
		explicit_bzero(copy, len);
	c->shown = NULL;
	free(shown);
	free(kept);
	free(copy);
	return rc;
}

/* ---- canonical order ----
 * Export groups some rows (access-list entries by list, kept lines by section, management access
 * by service, aaa-server hosts by group, crypto map entries by map); the model is put in that
 * order so that export -> import gives back the same model. Stable: the input order is kept
 * within a group. */

struct rank {
	size_t rank, idx;
};

static int
rank_cmp(const void *a, const void *b)
{
	const struct rank *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int
sort_rows(struct model *m, enum model_table t, struct rank *rk)
{
	size_t n = m->t[t].n;
	struct model_row *nr;

	if (n < 2)
		return 0;
	qsort(rk, n, sizeof(*rk), rank_cmp);
	nr = malloc(n * sizeof(*nr));
	if (nr == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		nr[i] = m->t[t].rows[rk[i].idx];
	memcpy(m->t[t].rows, nr, n * sizeof(*nr));
	free(nr);
	return 0;
}

/* rank of each row of t = position of its parent (column 0) among the rows of parent */
static int
sort_by_parent(struct model *m, enum model_table parent, enum model_table t, bool ref_key)
{
	struct pix_smap pm = {0};
	struct rank *rk;
	int rc = -ENOMEM;

	rk = calloc(m->t[t].n + 1, sizeof(*rk));
	if (rk == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < m->t[parent].n; i++) {
		char *k = ref_key ? model_row_ref_key(&m->t[parent].rows[i], parent)
		                  : strdup(m->t[parent].rows[i].v[0]);

		if (k == NULL)
			continue;
		if (!pix_smap_get(&pm, k, NULL) && pix_smap_put(&pm, k, i) < 0) {
			free(k);
			goto out;
		}
		free(k);
	}
	for (size_t i = 0; i < m->t[t].n; i++) {
		size_t pi = SIZE_MAX;

		pix_smap_get(&pm, m->t[t].rows[i].v[0], &pi);
		rk[i].rank = pi;
		rk[i].idx = i;
	}
	rc = sort_rows(m, t, rk);
out:
	pix_smap_free(&pm);
	free(rk);
	return rc;
}

static int
canon_order(struct model *m)
{
	struct rank *rk;
	size_t n;
	int rc;

	/* crypto map entries: dynamic maps first, then each static map's entries together */
	n = m->t[MT_CRYPTO_MAP].n;
	rk = calloc(n + 1, sizeof(*rk));
	if (rk == NULL)
		return -ENOMEM;
	struct pix_smap firsts = {0};

	for (size_t i = 0; i < n; i++) {
		const struct model_row *r = &m->t[MT_CRYPTO_MAP].rows[i];
		char key[600];
		size_t first = i;

		snprintf(key, sizeof(key), "%s\x1f%s", r->v[0], r->v[1]);
		if (!pix_smap_get(&firsts, key, &first) && pix_smap_put(&firsts, key, i) < 0) {
			pix_smap_free(&firsts);
			free(rk);
			return -ENOMEM;
		}
		rk[i].rank = (strcmp(r->v[1], "1") == 0 ? 0 : n) + first;
		rk[i].idx = i;
	}
	pix_smap_free(&firsts);
	rc = sort_rows(m, MT_CRYPTO_MAP, rk);
	free(rk);
	if (rc < 0)
		return rc;
	rc = sort_by_parent(m, MT_CRYPTO_MAP, MT_CRYPTO_MAP_PEER, true);
	if (rc == 0)
		rc = sort_by_parent(m, MT_CRYPTO_MAP, MT_CRYPTO_MAP_TRANSFORM, true);
	if (rc == 0)
		rc = sort_by_parent(m, MT_ACCESS_LIST, MT_ACE, false);
	if (rc == 0)
		rc = sort_by_parent(m, MT_OBJECT_GROUP, MT_OG_MEMBER, false);
	if (rc == 0)
		rc = sort_by_parent(m, MT_AAA_GROUP, MT_AAA_HOST, false);
	if (rc < 0)
		return rc;
	/* management access by service (http, telnet, ssh); kept lines by section */
	n = m->t[MT_MGMT_ACCESS].n > m->t[MT_PASSTHROUGH].n ? m->t[MT_MGMT_ACCESS].n
	                                                    : m->t[MT_PASSTHROUGH].n;
	rk = calloc(n + 1, sizeof(*rk));
	if (rk == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < m->t[MT_MGMT_ACCESS].n; i++) {
		const char *svc = m->t[MT_MGMT_ACCESS].rows[i].v[0];

		rk[i].rank = !strcmp(svc, "http") ? 0 : !strcmp(svc, "telnet") ? 1 : 2;
		rk[i].idx = i;
	}
	rc = sort_rows(m, MT_MGMT_ACCESS, rk);
	for (size_t i = 0; rc == 0 && i < m->t[MT_PASSTHROUGH].n; i++) {
		const char *sec = m->t[MT_PASSTHROUGH].rows[i].v[0];

		rk[i].rank = pix_nsections;
		for (size_t k = 0; k < pix_nsections; k++)
			if (!strcmp(sec, pix_sections[k]) ||
			    (!strncmp(sec, "object-group:", 13) &&
			     !strcmp(pix_sections[k], "object-group")))
				rk[i].rank = k;
		rk[i].idx = i;
	}
	if (rc == 0)
		rc = sort_rows(m, MT_PASSTHROUGH, rk);
	free(rk);
	return rc;
}

int
pix_parse(const char *text, size_t len, bool strict, struct model **out, struct pix_report *rep)
{
	struct pctx c = {.rep = rep, .og_cur = -1, .section = "header"};
	struct pline *v = NULL;
	size_t n = 0, width;
	char *buf = NULL;
	int rc;

	*out = NULL;
	if (len > PIX_MAX_TEXT)
		return -EFBIG;
	c.m = model_new();
	if (c.m == NULL)
		return -ENOMEM;
	rc = split_lines(text, len, &v, &n);
	if (rc < 0)
		goto out;
	width = terminal_width(v, n);
	buf = malloc(2 * PIX_MAX_LINE + 2);
	if (buf == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		size_t l = v[i].len;

		c.line = (uint32_t)(i + 1);
		rep->lines++;
		if (l > PIX_MAX_LINE) {
			rc = pix_report_add(rep, c.line, PIX_LINE_ERROR, v[i].p, 200,
			                    "line longer than 4096 characters");
			if (rc < 0)
				goto out;
			continue;
		}
		memcpy(buf, v[i].p, l);
		buf[l] = '\0';
		if (memchr(buf, '\0', l) != NULL) {
			rc = pix_report_add(rep, c.line, PIX_LINE_ERROR, "(binary)", 8,
			                    "NUL byte in line");
			if (rc < 0)
				goto out;
			continue;
		}
		/* A line the terminal wrapped at its width: exactly that long, and the next line does
		 * not start a command. Joined only if the line alone is not valid and the joined one
		 * is (so a full-width command followed by an unknown one stays two lines). */
		if ((l == width || l == 80) && i + 1 < n && v[i + 1].len > 0 &&
		    v[i + 1].len <= PIX_MAX_LINE &&
		    memchr(v[i + 1].p, '\0', v[i + 1].len) == NULL) {
			char *nb = buf + PIX_MAX_LINE + 1;

			memcpy(nb, v[i + 1].p, v[i + 1].len);
			nb[v[i + 1].len] = '\0';
			if (!starts_command(nb)) {
				rc = process_line(&c, buf, l, strict, true);
				if (rc < 0)
					goto out;
				if (rc == 0)
					continue;
				memcpy(buf, v[i].p, l);
				memcpy(buf + l, v[i + 1].p, v[i + 1].len);
				buf[l + v[i + 1].len] = '\0';
				rc = process_line(&c, buf, l + v[i + 1].len, strict, true);
				if (rc < 0)
					goto out;
				if (rc == 0) {
					i++;
					rep->lines++;
					continue;
				}
				memcpy(buf, v[i].p, l);
				buf[l] = '\0';
			}
		}
		rc = process_line(&c, buf, l, strict, false);
		if (rc < 0)
			goto out;
	}
	rc = canon_order(c.m);
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < rep->nentries; i++) {
		switch (rep->entries[i].kind) {
		case PIX_LINE_MAPPED:
			rep->mapped++;
			break;
		case PIX_LINE_IGNORED:
			rep->ignored++;
			break;
		case PIX_LINE_WARNING:
			rep->warnings++;
			break;
		case PIX_LINE_UNSUPPORTED:
			rep->unsupported++;
			break;
		case PIX_LINE_ERROR:
			rep->errors++;
			break;
		}
	}
	if (strict && rep->errors > 0)
		rc = -EINVAL;
out:
	for (int i = 0; i < PM_COUNT; i++)
		pix_smap_free(&c.maps[i]);
	free(buf);
	free(v);
	if (rc < 0 && rc != -EINVAL) {
		model_free(c.m);
		return rc;
	}
	*out = c.m;
	return rc;
}
