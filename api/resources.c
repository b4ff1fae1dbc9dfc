/* One descriptor per configuration table (migrations/0001_initial.sql). Columns carry their JSON
 * type and validator; references accept an id or, under the alias, the PIX name. */
#include "api/api_int.h"
#include "api/api_res.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define C_ID                                                                                       \
	{                                                                                          \
		"id", NULL, RT_INT, RF_KEY | RF_READONLY, 0, INT64_MAX, NULL, NULL, NULL, NULL,    \
		        NULL                                                                       \
	}
#define C_POS                                                                                      \
	{                                                                                          \
		"position", NULL, RT_INT, RF_NOTNULL | RF_POSITION, 0, INT32_MAX, NULL, NULL,      \
		        NULL, NULL, "0"                                                            \
	}
#define C_INT(n, f, lo, hi, d)                                                                     \
	{                                                                                          \
		n, NULL, RT_INT, f, lo, hi, NULL, NULL, NULL, NULL, d                              \
	}
#define C_BOOL(n, d)                                                                               \
	{                                                                                          \
		n, NULL, RT_BOOL, RF_NOTNULL, 0, 1, NULL, NULL, NULL, NULL, d                      \
	}
#define C_TEXT(n, f, max)                                                                          \
	{                                                                                          \
		n, NULL, RT_TEXT, f, 0, max, NULL, NULL, NULL, NULL, NULL                          \
	}
#define C_TEXTD(n, f, d)                                                                           \
	{                                                                                          \
		n, NULL, RT_TEXT, f, 0, 0, NULL, NULL, NULL, NULL, d                               \
	}
#define C_IP4(n, f)                                                                                \
	{                                                                                          \
		n, NULL, RT_IP4, f, 0, 0, NULL, NULL, NULL, NULL, NULL                             \
	}
#define C_MASK(n, f, d)                                                                            \
	{                                                                                          \
		n, NULL, RT_MASK, f, 0, 0, NULL, NULL, NULL, NULL, d                               \
	}
#define C_ENUM(n, f, e, d)                                                                         \
	{                                                                                          \
		n, NULL, RT_ENUM, f, 0, 0, e, NULL, NULL, NULL, d                                  \
	}
#define C_REF(n, f, tbl, namecol, al)                                                              \
	{                                                                                          \
		n, NULL, RT_REF, f, 0, 0, NULL, tbl, namecol, al, NULL                             \
	}
#define C_SECRET(n, j)                                                                             \
	{                                                                                          \
		n, j, RT_SECRET, 0, 0, 128, NULL, NULL, NULL, NULL, NULL                           \
	}
#define C_IFREF(n, f, al)  C_REF(n, f, "interface", "nameif", al)
#define C_ACLREF(n, f, al) C_REF(n, f, "access_list", "name", al)
#define C_OGREF(n, al)     C_REF(n, 0, "object_group", "name", al)
#define RES(p, t, s, c, ord, q)                                                                    \
	.path = p, .table = t, .summary = s, .routed = true, .cols = c, .ncols = N(c),             \
	.order_by = ord, .search = q

static const char *const e_ip_mode[] = {"none", "static", "dhcp", "pppoe", NULL};
static const char *const e_og_kind[] = {"network", "service", "protocol", "icmp-type", NULL};
static const char *const e_svc_proto[] = {"tcp", "udp", "tcp-udp", NULL};
static const char *const e_ogm_kind[] = {"host",      "network", "port", "protocol",
                                         "icmp-type", "group",   NULL};
static const char *const e_eq_range[] = {"eq", "range", NULL};
static const char *const e_acl_action[] = {"permit", "deny", "remark", NULL};
static const char *const e_ep_kind[] = {"any", "host", "network", "group", "interface", NULL};
static const char *const e_port_op[] = {"eq", "neq", "lt", "gt", "range", NULL};
static const char *const e_in_out[] = {"in", "out", NULL};
static const char *const e_glob_kind[] = {"range", "pat", "interface", NULL};
static const char *const e_tcp_udp[] = {"tcp", "udp", NULL};
static const char *const e_mapped_kind[] = {"address", "interface", NULL};
static const char *const e_abs_inact[] = {"absolute", "inactivity", NULL};
static const char *const e_aaa_proto[] = {"tacacs+", "radius", "local", NULL};
static const char *const e_acct_mode[] = {"single", "simultaneous", NULL};
static const char *const e_aaa_kind[] = {"authentication", "authorization", "accounting", NULL};
static const char *const e_aaa_action[] = {"include", "exclude", "match", NULL};
static const char *const e_inb_outb[] = {"inbound", "outbound", NULL};
static const char *const e_console[] = {"serial", "telnet", "ssh", "http", "enable", NULL};
static const char *const e_hash_kind[] = {"pix-md5", "pbkdf2-sha256", "plain-unset", NULL};
static const char *const e_ike_auth[] = {"pre-share", "rsa-sig", "dsa-sig", NULL};
static const char *const e_ike_enc[] = {"des", "3des", "aes", "aes-192", "aes-256", NULL};
static const char *const e_ike_hash[] = {"md5", "sha", "sha256", NULL};
static const char *const e_esp_enc[] = {"esp-des",     "esp-3des", "esp-aes", "esp-aes-192",
                                        "esp-aes-256", "esp-null", NULL};
static const char *const e_esp_auth[] = {"esp-md5-hmac", "esp-sha-hmac", "esp-sha256-hmac", NULL};
static const char *const e_ah[] = {"ah-md5-hmac", "ah-sha-hmac", NULL};
static const char *const e_ts_mode[] = {"tunnel", "transport", NULL};
static const char *const e_cm_kind[] = {"ipsec-isakmp", "ipsec-manual", NULL};
static const char *const e_mgmt[] = {"telnet", "ssh", "http", NULL};

/* ---- checks shared by several tables ---- */

static int
check_addr_order(json_t *row, const char *lo, const char *hi, struct pc_err *err)
{
	uint32_t a, b;
	const char *s = json_string_value(json_object_get(row, lo));
	const char *e = json_string_value(json_object_get(row, hi));

	if (s == NULL || e == NULL || db_ip4_parse(s, &a) < 0 || db_ip4_parse(e, &b) < 0)
		return 0;
	if (a > b)
		return pc_err_set(err, PC_ERR_INVALID, hi, "%s: %s is before %s %s", hi, e, lo, s);
	if (b - a >= 65536)
		return pc_err_set(err, PC_ERR_INVALID, hi,
		                  "%s: at most 65536 addresses in a range, got %u", hi, b - a + 1);
	return 0;
}

static int
check_port_order(json_t *row, const char *lo, const char *hi, struct pc_err *err)
{
	json_t *l = json_object_get(row, lo), *h = json_object_get(row, hi);

	if (json_is_integer(h) && !json_is_integer(l))
		return pc_err_set(err, PC_ERR_INVALID, lo, "%s: required when %s is given", lo, hi);
	if (json_is_integer(h) && json_integer_value(h) < json_integer_value(l))
		return pc_err_set(err, PC_ERR_INVALID, hi, "%s: %lld is below %s %lld", hi,
		                  (long long)json_integer_value(h), lo,
		                  (long long)json_integer_value(l));
	return 0;
}

static int
check_dh(json_t *row, const char *col, struct pc_err *err)
{
	json_t *g = json_object_get(row, col);
	json_int_t v = json_integer_value(g);

	if (json_is_integer(g) && v != 1 && v != 2 && v != 5 && v != 14)
		return pc_err_set(err, PC_ERR_INVALID, col, "%s: expected 1, 2, 5 or 14, got %lld",
		                  col, (long long)v);
	return 0;
}

static void
warn_if(json_t *warnings, bool cond, const char *text)
{
	if (cond)
		json_array_append_new(warnings, json_string(text));
}

static bool
str_is(json_t *item, const char *key, const char *val)
{
	const char *s = json_string_value(json_object_get(item, key));

	return s != NULL && strcmp(s, val) == 0;
}

/* ---- interfaces, names, object groups ---- */

static const struct res_col interface_cols[] = {
        C_ID,
        C_TEXT("hw_name", RF_REQUIRED, 64),
        C_TEXT("linux_name", 0, 15),
        C_TEXTD("speed", RF_NOTNULL, "auto"),
        C_BOOL("shutdown", "0"),
        C_INT("vlan", 0, 1, 4094, NULL),
        C_BOOL("logical", "0"),
        C_TEXT("physical_hw_name", 0, 64),
        C_TEXT("nameif", 0, 48),
        C_INT("security", 0, 0, 100, NULL),
        C_ENUM("ip_mode", RF_NOTNULL, e_ip_mode, "none"),
        C_IP4("address", 0),
        C_MASK("netmask", 0, NULL),
        C_BOOL("dhcp_setroute", "0"),
        C_INT("dhcp_retry", 0, 4, 16, NULL),
        C_INT("mtu", RF_NOTNULL, 64, 65535, "1500"),
        C_POS,
};

static int
check_interface(struct db *db, json_t *row, struct pc_err *err)
{
	if (str_is(row, "ip_mode", "static") && (json_is_null(json_object_get(row, "address")) ||
	                                         json_is_null(json_object_get(row, "netmask"))))
		return pc_err_set(err, PC_ERR_INVALID, "address",
		                  "address: ip_mode static needs address and netmask");
	if (json_is_integer(json_object_get(row, "security")) &&
	    json_is_null(json_object_get(row, "nameif")))
		return pc_err_set(err, PC_ERR_INVALID, "nameif",
		                  "nameif: required when security is set");
	return 0;
}

static const struct api_resource res_interfaces = {
        RES("interfaces", "interface", "Interfaces (nameif, security level, address)",
            interface_cols, "position, id", "nameif"),
        .check = check_interface,
};

static const struct res_col name_cols[] = {
        C_ID,
        C_IP4("address", RF_REQUIRED),
        C_TEXT("name", RF_REQUIRED, 63),
        C_POS,
};
static const struct api_resource res_names = {
        RES("names", "name", "name ADDRESS NAME", name_cols, "position, id", "name"),
};

static const struct res_col og_member_cols[] = {
        C_ID,
        C_POS,
        C_ENUM("kind", RF_REQUIRED, e_ogm_kind, NULL),
        C_IP4("address", 0),
        C_MASK("netmask", 0, NULL),
        C_ENUM("port_op", 0, e_eq_range, NULL),
        C_INT("port_low", 0, 0, 65535, NULL),
        C_INT("port_high", 0, 0, 65535, NULL),
        C_TEXT("value", 0, 64),
        C_OGREF("ref_group_id", "ref_group"),
};

static int
check_og_member(struct db *db, json_t *row, struct pc_err *err)
{
	if (str_is(row, "kind", "host") && json_is_null(json_object_get(row, "address")))
		return pc_err_set(err, PC_ERR_INVALID, "address", "address: required for a host");
	if (str_is(row, "kind", "network") && (json_is_null(json_object_get(row, "address")) ||
	                                       json_is_null(json_object_get(row, "netmask"))))
		return pc_err_set(err, PC_ERR_INVALID, "netmask",
		                  "address, netmask: required for a network");
	return check_port_order(row, "port_low", "port_high", err);
}

static const struct api_resource res_og_members = {
        .path = "object-group-members",
        .table = "object_group_member",
        .cols = og_member_cols,
        .ncols = N(og_member_cols),
        .order_by = "position, id",
        .parent_fk = "group_id",
        .check = check_og_member,
};
static const struct res_child og_children[] = {
        {"members", &res_og_members, NULL, NULL, NULL, NULL}};
static const struct res_col og_cols[] = {
        C_ID,
        C_TEXT("name", RF_REQUIRED, 64),
        C_ENUM("kind", RF_REQUIRED, e_og_kind, NULL),
        C_ENUM("service_protocol", 0, e_svc_proto, NULL),
        C_TEXT("description", 0, 200),
        C_POS,
};
static const struct api_resource res_object_groups = {
        RES("object-groups", "object_group", "object-group with members inline", og_cols,
            "position, id", "name"),
        .children = og_children,
        .nchildren = N(og_children),
};

/* ---- access lists ---- */

static const struct res_col ace_cols[] = {
        C_ID,
        C_POS,
        C_ENUM("action", RF_REQUIRED, e_acl_action, NULL),
        C_TEXT("remark", 0, 100),
        C_TEXT("protocol", 0, 16),
        C_OGREF("protocol_group_id", "protocol_group"),
        C_ENUM("src_kind", 0, e_ep_kind, NULL),
        C_IP4("src_address", 0),
        C_MASK("src_netmask", 0, NULL),
        C_OGREF("src_group_id", "src_group"),
        C_IFREF("src_interface_id", 0, "src_interface"),
        C_ENUM("src_port_op", 0, e_port_op, NULL),
        C_INT("src_port_low", 0, 0, 65535, NULL),
        C_INT("src_port_high", 0, 0, 65535, NULL),
        C_OGREF("src_port_group_id", "src_port_group"),
        C_ENUM("dst_kind", 0, e_ep_kind, NULL),
        C_IP4("dst_address", 0),
        C_MASK("dst_netmask", 0, NULL),
        C_OGREF("dst_group_id", "dst_group"),
        C_IFREF("dst_interface_id", 0, "dst_interface"),
        C_ENUM("dst_port_op", 0, e_port_op, NULL),
        C_INT("dst_port_low", 0, 0, 65535, NULL),
        C_INT("dst_port_high", 0, 0, 65535, NULL),
        C_OGREF("dst_port_group_id", "dst_port_group"),
        C_TEXT("icmp_type", 0, 32),
        C_OGREF("icmp_group_id", "icmp_group"),
        C_BOOL("log", "0"),
        C_INT("log_level", 0, 0, 7, NULL),
        C_INT("log_interval", 0, 1, 600, NULL),
        C_BOOL("inactive", "0"),
};

static int
check_ace(struct db *db, json_t *row, struct pc_err *err)
{
	int rc;

	if (str_is(row, "action", "remark")) {
		if (json_is_null(json_object_get(row, "remark")))
			return pc_err_set(err, PC_ERR_INVALID, "remark",
			                  "remark: required for action remark");
		return 0;
	}
	if (json_is_null(json_object_get(row, "protocol")) &&
	    json_is_null(json_object_get(row, "protocol_group_id")))
		return pc_err_set(err, PC_ERR_INVALID, "protocol",
		                  "protocol: required for permit/deny (or protocol_group)");
	if (json_is_null(json_object_get(row, "src_kind")) ||
	    json_is_null(json_object_get(row, "dst_kind")))
		return pc_err_set(err, PC_ERR_INVALID, "src_kind",
		                  "src_kind, dst_kind: required for permit/deny");
	rc = check_port_order(row, "src_port_low", "src_port_high", err);
	if (rc == 0)
		rc = check_port_order(row, "dst_port_low", "dst_port_high", err);
	return rc;
}

static const struct api_resource res_acl_entries = {
        RES("access-lists/{id}/entries", "access_list_entry",
            "access-list lines of one list (also inline in access-lists)", ace_cols, "position, id",
            "remark"),
        .parent_fk = "acl_id",
        .check = check_ace,
};
static const struct res_child acl_children[] = {
        {"entries", &res_acl_entries, NULL, NULL, NULL, NULL}};
static const struct res_col acl_cols[] = {
        C_ID,
        C_TEXT("name", RF_REQUIRED, 64),
        C_POS,
};
static const struct api_resource res_access_lists = {
        RES("access-lists", "access_list", "access-list with entries inline", acl_cols,
            "position, id", "name"),
        .children = acl_children,
        .nchildren = N(acl_children),
};

static const struct res_col ag_cols[] = {
        C_ID,
        C_ACLREF("acl_id", RF_REQUIRED, "access_list"),
        C_IFREF("interface_id", RF_REQUIRED, "interface"),
        C_ENUM("direction", RF_NOTNULL, e_in_out, "in"),
};
static const struct api_resource res_access_groups = {
        RES("access-groups", "access_group", "access-group ACL in|out interface IF", ag_cols, "id",
            NULL),
};

/* ---- NAT ---- */

static const struct res_col nat_global_cols[] = {
        C_ID,
        C_IFREF("interface_id", RF_REQUIRED, "interface"),
        C_INT("nat_id", RF_REQUIRED, 1, 2147483647, NULL),
        C_ENUM("kind", RF_REQUIRED, e_glob_kind, NULL),
        C_IP4("start_address", 0),
        C_IP4("end_address", 0),
        C_MASK("netmask", 0, NULL),
        C_POS,
};

static int
check_nat_global(struct db *db, json_t *row, struct pc_err *err)
{
	if (!str_is(row, "kind", "interface") &&
	    json_is_null(json_object_get(row, "start_address")))
		return pc_err_set(err, PC_ERR_INVALID, "start_address",
		                  "start_address: required unless kind is interface");
	if (str_is(row, "kind", "range") && json_is_null(json_object_get(row, "end_address")))
		return pc_err_set(err, PC_ERR_INVALID, "end_address",
		                  "end_address: required for kind range");
	return check_addr_order(row, "start_address", "end_address", err);
}

static const struct api_resource res_nat_globals = {
        RES("nat-globals", "nat_global", "global (IF) ID range|PAT|interface", nat_global_cols,
            "position, id", NULL),
        .check = check_nat_global,
};

static const struct res_col nat_rule_cols[] = {
        C_ID,
        C_IFREF("interface_id", RF_REQUIRED, "interface"),
        C_INT("nat_id", RF_REQUIRED, 0, 2147483647, NULL),
        C_ACLREF("acl_id", 0, "access_list"),
        C_IP4("address", 0),
        C_MASK("netmask", 0, NULL),
        C_BOOL("outside", "0"),
        C_BOOL("dns", "0"),
        C_BOOL("norandomseq", "0"),
        C_INT("max_conns", RF_NOTNULL, 0, 2147483647, "0"),
        C_INT("emb_limit", RF_NOTNULL, 0, 2147483647, "0"),
        C_POS,
};

static int
check_nat_rule(struct db *db, json_t *row, struct pc_err *err)
{
	if (json_is_null(json_object_get(row, "acl_id")) &&
	    (json_is_null(json_object_get(row, "address")) ||
	     json_is_null(json_object_get(row, "netmask"))))
		return pc_err_set(err, PC_ERR_INVALID, "address",
		                  "address, netmask: required unless access_list is given (nat 0 "
		                  "access-list = exemption)");
	return 0;
}

static const struct api_resource res_nat_rules = {
        RES("nat-rules", "nat_rule", "nat (IF) ID address mask, and nat 0 access-list exemptions",
            nat_rule_cols, "position, id", NULL),
        .check = check_nat_rule,
};

static const struct res_col static_cols[] = {
        C_ID,
        C_IFREF("real_interface_id", RF_REQUIRED, "real_interface"),
        C_IFREF("mapped_interface_id", RF_REQUIRED, "mapped_interface"),
        C_ENUM("protocol", 0, e_tcp_udp, NULL),
        C_ENUM("mapped_kind", RF_NOTNULL, e_mapped_kind, "address"),
        C_IP4("mapped_address", 0),
        C_INT("mapped_port", 0, 0, 65535, NULL),
        C_IP4("real_address", 0),
        C_INT("real_port", 0, 0, 65535, NULL),
        C_ACLREF("acl_id", 0, "access_list"),
        C_MASK("netmask", RF_NOTNULL, "255.255.255.255"),
        C_BOOL("dns", "0"),
        C_BOOL("norandomseq", "0"),
        C_INT("max_conns", RF_NOTNULL, 0, 2147483647, "0"),
        C_INT("emb_limit", RF_NOTNULL, 0, 2147483647, "0"),
        C_POS,
};

static int
check_static(struct db *db, json_t *row, struct pc_err *err)
{
	bool proto = !json_is_null(json_object_get(row, "protocol"));

	if (str_is(row, "mapped_kind", "address") &&
	    json_is_null(json_object_get(row, "mapped_address")))
		return pc_err_set(err, PC_ERR_INVALID, "mapped_address",
		                  "mapped_address: required when mapped_kind is address");
	if (json_is_null(json_object_get(row, "acl_id")) &&
	    json_is_null(json_object_get(row, "real_address")))
		return pc_err_set(err, PC_ERR_INVALID, "real_address",
		                  "real_address: required unless access_list is given");
	if (proto != !json_is_null(json_object_get(row, "mapped_port")))
		return pc_err_set(err, PC_ERR_INVALID, "mapped_port",
		                  "mapped_port: given exactly when protocol is given");
	if (json_is_null(json_object_get(row, "acl_id")) &&
	    proto != !json_is_null(json_object_get(row, "real_port")))
		return pc_err_set(err, PC_ERR_INVALID, "real_port",
		                  "real_port: given exactly when protocol is given");
	return 0;
}

static const struct api_resource res_statics = {
        RES("statics", "nat_static", "static (real,mapped) translations", static_cols,
            "position, id", NULL),
        .check = check_static,
};

/* ---- routes, timeouts ---- */

static const struct res_col route_cols[] = {
        C_ID,
        C_IFREF("interface_id", RF_REQUIRED, "interface"),
        C_IP4("destination", RF_REQUIRED),
        C_MASK("netmask", RF_REQUIRED, NULL),
        C_IP4("gateway", RF_REQUIRED),
        C_INT("metric", RF_NOTNULL, 1, 255, "1"),
        C_POS,
};
static const struct api_resource res_routes = {
        RES("routes", "route", "route IF DEST MASK GATEWAY [METRIC]", route_cols, "position, id",
            NULL),
};

static const struct res_col timeout_cols[] = {
        C_TEXT("name", RF_KEY | RF_REQUIRED, 32),
        C_INT("seconds", RF_REQUIRED, 0, 2147483647, NULL),
        C_ENUM("option", 0, e_abs_inact, NULL),
};
static const struct api_resource res_timeouts = {
        RES("timeouts", "timeout", "timeout NAME H:MM:SS (id = name)", timeout_cols, "name",
            "name"),
};

/* ---- AAA ---- */

static const struct res_col aaa_host_cols[] = {
        C_ID,
        C_IFREF("interface_id", 0, "interface"),
        C_IP4("address", RF_REQUIRED),
        C_SECRET("key_secret", "key"),
        C_INT("timeout_s", RF_NOTNULL, 1, 300, "5"),
        C_INT("retries", RF_NOTNULL, 0, 10, "2"),
        C_INT("auth_port", 0, 1, 65535, NULL),
        C_INT("acct_port", 0, 1, 65535, NULL),
        C_POS,
};
static const struct api_resource res_aaa_hosts = {
        .path = "aaa-server-hosts",
        .table = "aaa_server_host",
        .cols = aaa_host_cols,
        .ncols = N(aaa_host_cols),
        .order_by = "position, id",
        .parent_fk = "group_id",
};
static const struct res_child aaa_children[] = {
        {"hosts", &res_aaa_hosts, NULL, NULL, NULL, "address"}};
static const struct res_col aaa_group_cols[] = {
        C_ID,
        C_TEXT("name", RF_REQUIRED, 64),
        C_ENUM("protocol", RF_REQUIRED, e_aaa_proto, NULL),
        C_INT("max_failed_attempts", RF_NOTNULL, 1, 5, "3"),
        C_INT("deadtime_min", RF_NOTNULL, 0, 1440, "10"),
        C_ENUM("accounting_mode", RF_NOTNULL, e_acct_mode, "single"),
        C_BOOL("fallback_local", "0"),
        C_POS,
};
static const struct api_resource res_aaa_groups = {
        RES("aaa-server-groups", "aaa_server_group", "aaa-server groups with hosts inline",
            aaa_group_cols, "position, id", "name"),
        .children = aaa_children,
        .nchildren = N(aaa_children),
};

static const struct res_col aaa_rule_cols[] = {
        C_ID,
        C_ENUM("kind", RF_REQUIRED, e_aaa_kind, NULL),
        C_ENUM("action", RF_REQUIRED, e_aaa_action, NULL),
        C_TEXT("service", 0, 32),
        C_IFREF("interface_id", 0, "interface"),
        C_ENUM("direction", 0, e_inb_outb, NULL),
        C_IP4("local_address", 0),
        C_MASK("local_netmask", 0, NULL),
        C_IP4("foreign_address", 0),
        C_MASK("foreign_netmask", 0, NULL),
        C_ACLREF("acl_id", 0, "access_list"),
        C_REF("group_id", 0, "aaa_server_group", "name", "server_group"),
        C_POS,
};

static int
check_aaa_rule(struct db *db, json_t *row, struct pc_err *err)
{
	if (json_is_null(json_object_get(row, "interface_id")) &&
	    json_is_null(json_object_get(row, "direction")))
		return pc_err_set(err, PC_ERR_INVALID, "interface",
		                  "interface or direction: one is required");
	if (str_is(row, "action", "match") && json_is_null(json_object_get(row, "acl_id")))
		return pc_err_set(err, PC_ERR_INVALID, "access_list",
		                  "access_list: required for action match");
	if (!str_is(row, "action", "exclude") && json_is_null(json_object_get(row, "group_id")))
		return pc_err_set(err, PC_ERR_INVALID, "server_group",
		                  "server_group: required unless action is exclude");
	return 0;
}

static const struct api_resource res_aaa_rules = {
        RES("aaa-rules", "aaa_rule", "aaa authentication|authorization|accounting rules",
            aaa_rule_cols, "position, id", NULL),
        .check = check_aaa_rule,
};

static const struct res_col aaa_console_cols[] = {
        C_ID,
        C_ENUM("service", RF_REQUIRED, e_console, NULL),
        C_REF("group_id", RF_REQUIRED, "aaa_server_group", "name", "server_group"),
};
static const struct api_resource res_aaa_console = {
        RES("aaa-console", "aaa_console",
            "aaa authentication serial|telnet|ssh|http|enable console", aaa_console_cols, "id",
            NULL),
};

static const struct res_col local_user_cols[] = {
        C_ID,
        C_TEXT("name", RF_REQUIRED, 64),
        {"password_hash", "password", RT_PASSWORD, 0, 0, 128, NULL, NULL, NULL, NULL, NULL},
        C_ENUM("hash_kind", RF_READONLY | RF_NOTNULL, e_hash_kind, "plain-unset"),
        C_INT("privilege", RF_NOTNULL, 0, 15, "2"),
        C_POS,
};
static const struct api_resource res_local_users = {
        RES("local-users", "local_user", "username NAME password ... (password write-only)",
            local_user_cols, "position, id", "name"),
};

/* ---- pools ---- */

static const struct res_col pool_cols[] = {
        C_ID,
        C_TEXT("name", RF_REQUIRED, 64),
        C_IP4("start_address", RF_REQUIRED),
        C_IP4("end_address", RF_REQUIRED),
        C_MASK("netmask", 0, NULL),
        C_POS,
};

static int
check_pool(struct db *db, json_t *row, struct pc_err *err)
{
	return check_addr_order(row, "start_address", "end_address", err);
}

static int
pool_before_delete(struct db *db, json_t *row, struct pc_err *err)
{
	sqlite3_stmt *st;
	int n = 0;

	if (db_prepare(db, "SELECT count(*) FROM ip_lease WHERE pool_id = ? AND state = 'active'",
	               &st, err) < 0)
		return -EIO;
	sqlite3_bind_int64(st, 1, json_integer_value(json_object_get(row, "id")));
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (n > 0)
		return pc_err_set(err, PC_ERR_CONFLICT, "",
		                  "pool %s has %d active lease(s); disconnect those clients first",
		                  json_string_value(json_object_get(row, "name")), n);
	return 0;
}

static const struct api_resource res_pools = {
        RES("pools", "ip_pool", "ip local pool NAME START-END", pool_cols, "position, id", "name"),
        .check = check_pool,
        .before_delete = pool_before_delete,
};

/* ---- ISAKMP ---- */

static const struct res_col isakmp_policy_cols[] = {
        C_INT("priority", RF_KEY | RF_REQUIRED, 1, 65534, NULL),
        C_ENUM("authentication", RF_NOTNULL, e_ike_auth, "rsa-sig"),
        C_ENUM("encryption", RF_NOTNULL, e_ike_enc, "des"),
        C_ENUM("hash", RF_NOTNULL, e_ike_hash, "sha"),
        C_INT("dh_group", RF_NOTNULL, 1, 14, "1"),
        C_INT("lifetime_s", RF_NOTNULL, 60, 2147483647, "86400"),
};

static int
check_isakmp_policy(struct db *db, json_t *row, struct pc_err *err)
{
	return check_dh(row, "dh_group", err);
}

static void
warn_isakmp_policy(json_t *item, json_t *w)
{
	warn_if(w, str_is(item, "encryption", "des"),
	        "single DES encryption is broken (56-bit key)");
	warn_if(w, str_is(item, "hash", "md5"), "MD5 is a weak hash");
	warn_if(w, json_integer_value(json_object_get(item, "dh_group")) == 1,
	        "Diffie-Hellman group 1 (768-bit) is breakable");
}

static const struct api_resource res_isakmp_policies = {
        RES("isakmp-policies", "isakmp_policy", "isakmp policy PRIORITY ... (id = priority)",
            isakmp_policy_cols, "priority", NULL),
        .check = check_isakmp_policy,
        .warnings = warn_isakmp_policy,
};

static const struct res_col isakmp_key_cols[] = {
        C_ID,
        C_IP4("address", RF_REQUIRED),
        C_MASK("netmask", RF_NOTNULL, "255.255.255.255"),
        C_SECRET("key_secret", "key"),
        C_BOOL("no_xauth", "0"),
        C_BOOL("no_config_mode", "0"),
        C_POS,
};

static void
warn_isakmp_key(json_t *item, json_t *w)
{
	warn_if(w, str_is(item, "netmask", "0.0.0.0"),
	        "wildcard pre-shared key: any peer that knows it can start Phase 1");
	warn_if(w, json_is_true(json_object_get(item, "no_xauth")),
	        "no-xauth: the pre-shared key alone admits the peer");
}

static const struct api_resource res_isakmp_keys = {
        RES("isakmp-keys", "isakmp_key", "isakmp key (key write-only)", isakmp_key_cols,
            "position, id", "address"),
        .warnings = warn_isakmp_key,
};

static const struct res_col isakmp_if_cols[] = {
        C_IFREF("interface_id", RF_KEY | RF_REQUIRED, "interface"),
};
static const struct api_resource res_isakmp_interfaces = {
        RES("isakmp-interfaces", "isakmp_interface", "isakmp enable IF (id = interface id)",
            isakmp_if_cols, "interface_id", NULL),
};

static const struct res_col isakmp_pool_cols[] = {
        C_ID,
        C_REF("pool_id", RF_REQUIRED, "ip_pool", "name", "pool"),
        C_IFREF("interface_id", 0, "interface"),
};
static const struct api_resource res_isakmp_pools = {
        RES("isakmp-client-pools", "isakmp_client_pool",
            "isakmp client configuration address-pool local POOL [IF]", isakmp_pool_cols, "id",
            NULL),
};

/* ---- IPsec ---- */

static const struct res_col ts_cols[] = {
        C_ID,
        C_TEXT("name", RF_REQUIRED, 64),
        C_ENUM("esp_encryption", 0, e_esp_enc, NULL),
        C_ENUM("esp_authentication", 0, e_esp_auth, NULL),
        C_ENUM("ah", 0, e_ah, NULL),
        C_ENUM("mode", RF_NOTNULL, e_ts_mode, "tunnel"),
        C_POS,
};

static int
check_ts(struct db *db, json_t *row, struct pc_err *err)
{
	if (json_is_null(json_object_get(row, "esp_encryption")) &&
	    json_is_null(json_object_get(row, "esp_authentication")) &&
	    json_is_null(json_object_get(row, "ah")))
		return pc_err_set(err, PC_ERR_INVALID, "esp_encryption",
		                  "esp_encryption, esp_authentication or ah: at least one");
	return 0;
}

static void
warn_ts(json_t *item, json_t *w)
{
	warn_if(w, str_is(item, "esp_encryption", "esp-des"),
	        "esp-des: single DES is broken (56-bit key)");
	warn_if(w, str_is(item, "esp_encryption", "esp-null"),
	        "esp-null: traffic is not encrypted");
	warn_if(w,
	        json_is_null(json_object_get(item, "esp_authentication")) &&
	                json_is_null(json_object_get(item, "ah")),
	        "no integrity protection (no ESP authentication, no AH)");
}

static const struct api_resource res_transform_sets = {
        RES("transform-sets", "transform_set", "crypto ipsec transform-set", ts_cols,
            "position, id", "name"),
        .check = check_ts,
        .warnings = warn_ts,
};

static const struct res_col cm_ts_col =
        C_REF("transform_set_id", 0, "transform_set", "name", "transform_set");
static const struct res_col cm_peer_col = C_IP4("address", 0);
static const struct res_child cm_children[] = {
        {"transform_sets", NULL, "crypto_map_transform", "entry_id", &cm_ts_col, NULL},
        {"peers", NULL, "crypto_map_peer", "entry_id", &cm_peer_col, NULL},
};
static const struct res_col cm_cols[] = {
        C_ID,
        C_TEXT("map_name", RF_REQUIRED, 64),
        C_BOOL("is_dynamic", "0"),
        C_INT("seq", RF_REQUIRED, 1, 65535, NULL),
        C_ENUM("kind", RF_NOTNULL, e_cm_kind, "ipsec-isakmp"),
        C_TEXT("dynamic_map_name", 0, 64),
        C_ACLREF("acl_id", 0, "access_list"),
        C_INT("pfs_group", 0, 1, 14, NULL),
        C_INT("lifetime_s", 0, 120, 86400000, NULL),
        C_INT("lifetime_kb", 0, 2560, 2147483647, NULL),
};

static int
check_cm(struct db *db, json_t *row, struct pc_err *err)
{
	if (json_integer_value(json_object_get(row, "is_dynamic")) != 0 &&
	    !json_is_null(json_object_get(row, "dynamic_map_name")))
		return pc_err_set(err, PC_ERR_INVALID, "dynamic_map_name",
		                  "dynamic_map_name: only for static crypto map entries");
	return check_dh(row, "pfs_group", err);
}

static const struct api_resource res_crypto_maps = {
        RES("crypto-maps", "crypto_map_entry",
            "crypto map / dynamic-map entries with transform_sets and peers inline", cm_cols,
            "map_name, is_dynamic, seq", "map_name"),
        .children = cm_children,
        .nchildren = N(cm_children),
        .check = check_cm,
};

static const struct res_col cmo_cols[] = {
        C_TEXT("map_name", RF_KEY | RF_REQUIRED, 64),
        C_BOOL("client_config_initiate", "0"),
        C_BOOL("client_config_respond", "0"),
        C_REF("client_auth_group_id", 0, "aaa_server_group", "name", "client_auth_group"),
        C_POS,
};
static const struct api_resource res_crypto_map_options = {
        RES("crypto-map-options", "crypto_map_option",
            "per crypto map: client configuration and client authentication (id = map name)",
            cmo_cols, "position, map_name", "map_name"),
};

static const struct res_col cmi_cols[] = {
        C_IFREF("interface_id", RF_KEY | RF_REQUIRED, "interface"),
        C_TEXT("map_name", RF_REQUIRED, 64),
        C_POS,
};
static const struct api_resource res_crypto_map_interfaces = {
        RES("crypto-map-interfaces", "crypto_map_interface",
            "crypto map NAME interface IF (id = interface id)", cmi_cols, "position, interface_id",
            "map_name"),
};

static const struct res_col vpngroup_cols[] = {
        C_ID,
        C_TEXT("name", RF_REQUIRED, 64),
        C_REF("pool_id", 0, "ip_pool", "name", "pool"),
        C_IP4("dns_server1", 0),
        C_IP4("dns_server2", 0),
        C_IP4("wins_server1", 0),
        C_IP4("wins_server2", 0),
        C_TEXT("default_domain", 0, 128),
        C_ACLREF("split_tunnel_acl_id", 0, "split_tunnel_acl"),
        C_TEXT("split_dns", 0, 255),
        C_INT("idle_time_s", 0, 60, 86400, NULL),
        C_INT("max_time_s", 0, 0, 31536000, NULL),
        C_SECRET("password_secret", "password"),
        C_BOOL("has_password", "0"),
        C_BOOL("pfs", "0"),
        C_TEXT("backup_servers", 0, 255),
        C_TEXT("banner", 0, 500),
        C_BOOL("save_password", "0"),
        C_INT("authentication_server_timeout_s", 0, 1, 300, NULL),
        C_BOOL("device_pass_through", "0"),
        C_BOOL("secure_unit_authentication", "0"),
        C_BOOL("user_authentication", "0"),
        C_INT("user_idle_timeout_s", 0, 0, 86400, NULL),
        C_POS,
};

static int
check_vpngroup(struct db *db, json_t *row, struct pc_err *err)
{
	/* has_password follows the secret: it says whether `vpngroup NAME password` exists */
	json_object_set_new(row, "has_password",
	                    json_integer(!json_is_null(json_object_get(row, "password_secret"))));
	return 0;
}

static void
warn_vpngroup(json_t *item, json_t *w)
{
	warn_if(w, json_is_true(json_object_get(item, "password_set")),
	        "group password = Aggressive Mode pre-shared key: anyone who knows the group name "
	        "can capture a crackable hash");
	warn_if(w, json_is_true(json_object_get(item, "save_password")),
	        "save-password: clients store the Xauth password");
}

static const struct api_resource res_vpngroups = {
        RES("vpngroups", "vpngroup", "vpngroup NAME ... (password write-only)", vpngroup_cols,
            "position, id", "name"),
        .check = check_vpngroup,
        .warnings = warn_vpngroup,
};

/* ---- fixups, sysopt, settings, management access ---- */

static const struct res_col fixup_cols[] = {
        C_ID,
        C_TEXT("protocol", RF_REQUIRED, 32),
        C_TEXT("qualifier", 0, 32),
        C_INT("port_low", 0, 1, 65535, NULL),
        C_INT("port_high", 0, 1, 65535, NULL),
        C_INT("max_length", 0, 512, 65535, NULL),
        C_BOOL("enabled", "1"),
        C_POS,
};

static int
check_fixup(struct db *db, json_t *row, struct pc_err *err)
{
	return check_port_order(row, "port_low", "port_high", err);
}

static const struct api_resource res_fixups = {
        RES("fixups", "fixup", "fixup protocol ... (enabled false = no fixup)", fixup_cols,
            "position, id", "protocol"),
        .check = check_fixup,
};

static const struct res_col sysopt_cols[] = {
        C_TEXT("name", RF_KEY | RF_REQUIRED, 64),
        C_TEXTD("value", RF_NOTNULL, "on"),
};
static const struct api_resource res_sysopts = {
        RES("sysopts", "sysopt", "sysopt NAME (id = name)", sysopt_cols, "name", "name"),
};

static const struct res_col setting_cols[] = {
        C_TEXT("name", RF_KEY | RF_REQUIRED, 64),
        C_TEXT("value", RF_REQUIRED, 4096),
};

/* Settings that hold password hashes are write-only like every other secret. */
static void
fixup_setting(json_t *item)
{
	const char *n = json_string_value(json_object_get(item, "name"));

	if (n == NULL ||
	    (strstr(n, "passw") == NULL && strstr(n, "secret") == NULL && strstr(n, "key") == NULL))
		return;
	json_object_set_new(item, "value_set",
	                    json_boolean(!json_is_null(json_object_get(item, "value"))));
	json_object_set_new(item, "value", json_null());
}

static const struct api_resource res_settings = {
        RES("settings", "setting", "scalar settings: hostname, domain-name, ... (id = name)",
            setting_cols, "name", "name"),
        .fixup = fixup_setting,
};

static const struct res_col mgmt_cols[] = {
        C_ID,
        C_ENUM("service", RF_REQUIRED, e_mgmt, NULL),
        C_IP4("address", RF_REQUIRED),
        C_MASK("netmask", RF_REQUIRED, NULL),
        C_IFREF("interface_id", RF_REQUIRED, "interface"),
        C_POS,
};
static const struct api_resource res_mgmt = {
        RES("mgmt-access", "mgmt_access", "telnet|ssh|http ADDR MASK IF", mgmt_cols, "position, id",
            NULL),
};

const struct api_resource *const api_resources[] = {
        &res_interfaces,
        &res_names,
        &res_object_groups,
        &res_access_lists,
        &res_acl_entries,
        &res_access_groups,
        &res_nat_globals,
        &res_nat_rules,
        &res_statics,
        &res_routes,
        &res_timeouts,
        &res_aaa_groups,
        &res_aaa_rules,
        &res_aaa_console,
        &res_local_users,
        &res_pools,
        &res_isakmp_policies,
        &res_isakmp_keys,
        &res_isakmp_interfaces,
        &res_isakmp_pools,
        &res_transform_sets,
        &res_crypto_maps,
        &res_crypto_map_options,
        &res_crypto_map_interfaces,
        &res_vpngroups,
        &res_fixups,
        &res_sysopts,
        &res_settings,
        &res_mgmt,
};
const size_t api_resource_count = N(api_resources);
