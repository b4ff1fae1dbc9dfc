/* portcullis interface map|list, and portcullis nat apply|show|counters|uauth|flush: the data
 * plane from the command line (offline on --db, programming the kernel of the current namespace or
 * of --netns NAME). */
#include "cli/cli.h"
#include "db/db.h"
#include "gateway/core/engine.h"
#include "gateway/nat/nat.h"
#include "gateway/nat/nat_model.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cmd_interface(struct cli_ctx *ctx, int argc, char **argv);
int cmd_nat(struct cli_ctx *ctx, int argc, char **argv);

static int
iface_map(struct cli_ctx *ctx, const char *hw, const char *linux_name)
{
	struct pc_err err = {0};
	sqlite3_stmt *st = NULL;
	struct db *db;
	int rc;

	if (strlen(linux_name) >= IFNAMSIZ || strchr(linux_name, '/') != NULL ||
	    linux_name[0] == '\0')
		return cli_fail("interface map: expected a Linux interface name (1-%d characters, "
		                "no '/'), got '%s'",
		                IFNAMSIZ - 1, linux_name);
	if (db_open(ctx->db_path, &db, &err) < 0)
		return cli_fail("%s", err.msg);
	rc = db_prepare(db, "UPDATE interface SET linux_name = ?1 WHERE hw_name = ?2", &st, &err);
	if (rc == 0) {
		sqlite3_bind_text(st, 1, strcmp(linux_name, "default") == 0 ? NULL : linux_name, -1,
		                  SQLITE_STATIC);
		if (strcmp(linux_name, "default") == 0)
			sqlite3_bind_null(st, 1);
		sqlite3_bind_text(st, 2, hw, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = db_error(db, &err, "interface map");
		else if (sqlite3_changes(db_sqlite(db)) == 0)
			rc = pc_err_set(
			        &err, PC_ERR_NOTFOUND, "hw_name",
			        "interface map: no interface '%s' (expected e.g. ethernet0)", hw);
	}
	sqlite3_finalize(st);
	db_close(db);
	if (rc < 0)
		return cli_fail("%s", err.msg);
	printf("%s -> %s\n", hw, linux_name);
	return 0;
}

static int
iface_list(struct cli_ctx *ctx)
{
	struct pc_err err = {0};
	sqlite3_stmt *st = NULL;
	struct db *db;
	int rc;

	if (db_open(ctx->db_path, &db, &err) < 0)
		return cli_fail("%s", err.msg);
	rc = db_prepare(db,
	                "SELECT hw_name, linux_name, nameif, security, address, netmask, mtu, "
	                "shutdown FROM interface ORDER BY position, id",
	                &st, &err);
	while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
		char lname[IFNAMSIZ];
		const char *hw = (const char *)sqlite3_column_text(st, 0);
		const unsigned char *ln = sqlite3_column_text(st, 1);

		if (ln != NULL)
			snprintf(lname, sizeof(lname), "%s", (const char *)ln);
		else if (nat_model_default_linux_name(hw, lname, sizeof(lname)) < 0)
			snprintf(lname, sizeof(lname), "(too long)");
		printf("%-12s %-10s %-10s sec %-4s %s/%s mtu %d%s\n", hw, lname,
		       sqlite3_column_text(st, 2) ? (const char *)sqlite3_column_text(st, 2) : "-",
		       sqlite3_column_text(st, 3) ? (const char *)sqlite3_column_text(st, 3) : "-",
		       sqlite3_column_text(st, 4) ? (const char *)sqlite3_column_text(st, 4) : "-",
		       sqlite3_column_text(st, 5) ? (const char *)sqlite3_column_text(st, 5) : "-",
		       sqlite3_column_int(st, 6), sqlite3_column_int(st, 7) ? " shutdown" : "");
	}
	sqlite3_finalize(st);
	db_close(db);
	return rc < 0 ? cli_fail("%s", err.msg) : 0;
}

int
cmd_interface(struct cli_ctx *ctx, int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "map") == 0)
		return iface_map(ctx, argv[2], argv[3]);
	if (argc == 2 && strcmp(argv[1], "list") == 0)
		return iface_list(ctx);
	return cli_fail("usage: interface map ethernetN LINUX_IFNAME|default | interface list");
}

static int
same_netns_as_init(void)
{
	struct stat self, init;

	if (stat("/proc/self/ns/net", &self) < 0 || stat("/proc/1/ns/net", &init) < 0)
		return 1;
	return self.st_ino == init.st_ino && self.st_dev == init.st_dev;
}

static int
enter_netns(const char *name)
{
	char path[256];
	int fd;

	if (strchr(name, '/') != NULL || strlen(name) > 64)
		return cli_fail("--netns: expected a namespace name, got '%s'", name);
	snprintf(path, sizeof(path), "/var/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cli_fail("--netns %s: open %s: %s", name, path, strerror(errno));
	if (setns(fd, CLONE_NEWNET) < 0) {
		close(fd);
		return cli_fail("--netns %s: setns: %s", name, strerror(errno));
	}
	close(fd);
	return 0;
}

struct nat_opts {
	const char *netns;
	struct nat_config cfg;
	bool host;
};

static int
parse_nat_opts(int argc, char **argv, struct nat_opts *o)
{
	static const struct option opts[] = {
	        {"netns", required_argument, NULL, 'n'},
	        {"tun", required_argument, NULL, 't'},
	        {"uauth-port", required_argument, NULL, 'u'},
	        {"table", required_argument, NULL, 'T'},
	        {"no-net", no_argument, NULL, 'N'},
	        {"inject-failure", no_argument, NULL, 'F'},
	        {"allow-host-network", no_argument, NULL, 'H'},
	        {NULL, 0, NULL, 0},
	};
	int c;

	o->cfg.tun_ifname = "pcx*";
	o->cfg.manage_net = true;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			o->netns = optarg;
			break;
		case 't':
			o->cfg.tun_ifname = optarg;
			break;
		case 'u': {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (*end != '\0' || v < 1 || v > 65535)
				return cli_fail("--uauth-port: expected 1-65535, got '%s'", optarg);
			o->cfg.uauth_port = (uint16_t)v;
			break;
		}
		case 'T':
			o->cfg.table = optarg;
			break;
		case 'N':
			o->cfg.manage_net = false;
			break;
		case 'F':
			o->cfg.inject_invalid_rule = true;
			break;
		case 'H':
			o->host = true;
			break;
		default:
			return cli_fail("nat: unknown option (see portcullis --help)");
		}
	}
	return 0;
}

static int
enter_data_plane(const struct nat_opts *o)
{
	if (o->netns != NULL)
		return enter_netns(o->netns); /* a named namespace from `ip netns add` */
	if (!o->host && same_netns_as_init())
		return cli_fail("nat: refusing to program the host's own network (root namespace); "
		                "use --netns NAME or --allow-host-network");
	return 0;
}

static int
nat_apply_cmd(struct cli_ctx *ctx, struct nat_opts *o)
{
	struct pc_err err = {0};
	struct nat *nat = NULL;
	struct db *db = NULL;
	int rc;

	if (ctx->db_path == NULL)
		return cli_fail("nat apply needs --db FILE");
	if (db_open(ctx->db_path, &db, &err) < 0)
		return cli_fail("%s", err.msg);
	if (enter_data_plane(o) != 0) {
		db_close(db);
		return 1;
	}
	rc = nat_new(&o->cfg, &nat);
	if (rc < 0) {
		db_close(db);
		return cli_fail("nat_new: %s", strerror(-rc));
	}
	rc = db_begin(db, &err);
	if (rc == 0)
		rc = nat_apply(nat, db, &err);
	if (rc == 0)
		rc = db_commit(db, &err);
	else
		db_rollback(db);
	nat_free(nat);
	db_close(db);
	if (rc < 0)
		return cli_fail("nat apply: %s", err.msg);
	printf("applied\n");
	return 0;
}

static int
nat_show_cmd(struct cli_ctx *ctx, struct nat_opts *o)
{
	struct pc_err err = {0};
	struct nat *nat = NULL;
	struct db *db = NULL;
	int rc;

	if (ctx->db_path == NULL)
		return cli_fail("nat show needs --db FILE");
	if (db_open(ctx->db_path, &db, &err) < 0)
		return cli_fail("%s", err.msg);
	rc = nat_new(&o->cfg, &nat);
	/* with --netns, leave out the fixups whose helper that kernel lacks */
	if (rc == 0 && o->netns != NULL) {
		if (enter_data_plane(o) != 0)
			rc = -EINVAL;
		else
			rc = nat_probe_helpers(nat, &err);
	}
	if (rc == 0)
		rc = nat_render(nat, db, stdout, stderr, &err);
	else
		pc_err_set(&err, PC_ERR_INTERNAL, "", "nat_new: %s", strerror(-rc));
	nat_free(nat);
	db_close(db);
	return rc < 0 ? cli_fail("nat show: %s", err.msg) : 0;
}

static int
nat_counters_cmd(struct cli_ctx *ctx, struct nat_opts *o)
{
	struct pc_err err = {0};
	struct nat_acl_counter *v = NULL;
	struct nat *nat = NULL;
	size_t n = 0;
	int rc;

	if (enter_data_plane(o) != 0)
		return 1;
	rc = nat_new(&o->cfg, &nat);
	if (rc < 0)
		return cli_fail("nat_new: %s", strerror(-rc));
	if (ctx->json) {
		/* the same JSON the engine gives the API */
		struct engine eng = {.nat = nat};
		json_t *j = NULL;

		rc = nat_engine_acl_counters(&eng, &j);
		if (rc == 0) {
			json_dumpf(j, stdout, JSON_COMPACT);
			putchar('\n');
			json_decref(j);
		}
		nat_free(nat);
		return rc < 0 ? cli_fail("nat counters: %s", strerror(-rc)) : 0;
	}
	rc = nat_acl_counters(nat, &v, &n, &err);
	for (size_t i = 0; rc == 0 && i < n; i++)
		printf("acl %lld entry %lld packets %llu bytes %llu\n", (long long)v[i].acl_id,
		       (long long)v[i].ace_id, (unsigned long long)v[i].packets,
		       (unsigned long long)v[i].bytes);
	free(v);
	nat_free(nat);
	return rc < 0 ? cli_fail("nat counters: %s", err.msg) : 0;
}

static int
nat_uauth_cmd(struct nat_opts *o, int argc, char **argv)
{
	struct pc_err err = {0};
	struct nat *nat = NULL;
	uint32_t addr = 0;
	int rc;

	if (argc < 1)
		return cli_fail("usage: nat uauth add ADDR SECONDS | del ADDR | list");
	if (argc >= 2 && db_ip4_parse(argv[1], &addr) < 0)
		return cli_fail("nat uauth: expected an IPv4 address, got '%s'", argv[1]);
	if (enter_data_plane(o) != 0)
		return 1;
	rc = nat_new(&o->cfg, &nat);
	if (rc < 0)
		return cli_fail("nat_new: %s", strerror(-rc));
	if (strcmp(argv[0], "add") == 0 && argc == 3) {
		rc = nat_uauth_add_now(nat, addr, (uint32_t)strtoul(argv[2], NULL, 10), &err);
	} else if (strcmp(argv[0], "del") == 0 && argc == 2) {
		rc = nat_uauth_del_now(nat, addr, &err);
	} else if (strcmp(argv[0], "list") == 0 && argc == 1) {
		struct nat_uauth_elem *v = NULL;
		size_t n = 0;

		rc = nat_uauth_list(nat, &v, &n, &err);
		for (size_t i = 0; rc == 0 && i < n; i++)
			printf("%u.%u.%u.%u timeout %llus expires %llus\n", v[i].addr >> 24,
			       (v[i].addr >> 16) & 255, (v[i].addr >> 8) & 255, v[i].addr & 255,
			       (unsigned long long)v[i].timeout_ms / 1000,
			       (unsigned long long)v[i].expires_ms / 1000);
		free(v);
	} else {
		nat_free(nat);
		return cli_fail("usage: nat uauth add ADDR SECONDS | del ADDR | list");
	}
	nat_free(nat);
	return rc < 0 ? cli_fail("nat uauth: %s", err.msg) : 0;
}

int
cmd_nat(struct cli_ctx *ctx, int argc, char **argv)
{
	struct nat_opts o = {0};
	const char *verb;

	if (argc < 2)
		return cli_fail("usage: nat apply|show|counters|uauth|flush [--netns NAME] ...");
	verb = argv[1];
	if (parse_nat_opts(argc - 1, argv + 1, &o) != 0)
		return 1;
	if (strcmp(verb, "apply") == 0)
		return nat_apply_cmd(ctx, &o);
	if (strcmp(verb, "show") == 0)
		return nat_show_cmd(ctx, &o);
	if (strcmp(verb, "counters") == 0)
		return nat_counters_cmd(ctx, &o);
	if (strcmp(verb, "uauth") == 0)
		return nat_uauth_cmd(&o, argc - 1 - optind, argv + 1 + optind);
	if (strcmp(verb, "flush") == 0) {
		struct pc_err err = {0};
		struct nat *nat = NULL;
		int rc;

		if (enter_data_plane(&o) != 0)
			return 1;
		rc = nat_new(&o.cfg, &nat);
		if (rc == 0)
			rc = nat_flush(nat, &err);
		nat_free(nat);
		return rc < 0 ? cli_fail("nat flush: %s", err.msg[0] ? err.msg : strerror(-rc)) : 0;
	}
	return cli_fail("nat: unknown verb '%s' (apply, show, counters, uauth, flush)", verb);
}
