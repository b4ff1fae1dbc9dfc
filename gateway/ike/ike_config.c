/* Loads the IKE policy from the SQLite model: isakmp policies, keys, vpngroups, pools, the
 * transform sets of the dynamic crypto maps and the crypto map client options. */
#include "gateway/ike/ike_int.h"
#include "db/db.h"
#include "gateway/core/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

static void
col_str(sqlite3_stmt *st, int i, char *out, size_t n)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	snprintf(out, n, "%s", s != NULL ? (const char *)s : "");
}

static uint32_t
col_ip(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	uint32_t a = 0;

	if (s != NULL && db_ip4_parse((const char *)s, &a) < 0)
		a = 0;
	return a;
}

static int
enc_from_name(const char *s, unsigned *bits)
{
	*bits = 0;
	if (strcmp(s, "des") == 0)
		return IKE_ENC_DES;
	if (strcmp(s, "3des") == 0)
		return IKE_ENC_3DES;
	if (strcmp(s, "aes") == 0)
		return *bits = 128, IKE_ENC_AES;
	if (strcmp(s, "aes-192") == 0)
		return *bits = 192, IKE_ENC_AES;
	if (strcmp(s, "aes-256") == 0)
		return *bits = 256, IKE_ENC_AES;
	return 0;
}

static int
hash_from_name(const char *s)
{
	if (strcmp(s, "md5") == 0)
		return IKE_HASH_MD5;
	if (strcmp(s, "sha") == 0)
		return IKE_HASH_SHA1;
	if (strcmp(s, "sha256") == 0)
		return IKE_HASH_SHA256;
	return 0;
}

static int
load_policies(struct db *db, struct ike_conf *c, struct pc_err *err)
{
	sqlite3_stmt *st;
	int r;

	r = db_prepare(db,
	               "SELECT priority, authentication, encryption, hash, dh_group, lifetime_s "
	               "FROM isakmp_policy ORDER BY priority",
	               &st, err);
	if (r < 0)
		return r;
	while (sqlite3_step(st) == SQLITE_ROW && c->npol < IKE_MAX_POLICIES) {
		struct ike_policy *p = &c->pol[c->npol];
		char auth[16], enc[16], hash[16];

		p->prio = sqlite3_column_int(st, 0);
		col_str(st, 1, auth, sizeof(auth));
		col_str(st, 2, enc, sizeof(enc));
		col_str(st, 3, hash, sizeof(hash));
		p->auth = strcmp(auth, "pre-share") == 0 ? IKE_AUTH_PSK : 0;
		p->enc = enc_from_name(enc, &p->keybits);
		p->hash = hash_from_name(hash);
		p->group = sqlite3_column_int(st, 4);
		p->life_s = (uint32_t)sqlite3_column_int64(st, 5);
		if (p->auth == 0) {
			log_warn(LOG_IKE,
			         "isakmp policy %d: authentication %s not supported, skipped",
			         p->prio, auth);
			continue;
		}
		c->npol++;
	}
	sqlite3_finalize(st);
	return 0;
}

static int
load_keys(struct db *db, struct ike_conf *c, struct pc_err *err)
{
	sqlite3_stmt *st;
	int r;

	/* Most specific first: an address key wins over the wildcard. */
	r = db_prepare(
	        db,
	        "SELECT address, netmask, key_secret, no_xauth, no_config_mode FROM isakmp_key "
	        "WHERE key_secret IS NOT NULL ORDER BY ip4(netmask) DESC, position, id",
	        &st, err);
	if (r < 0)
		return r;
	while (sqlite3_step(st) == SQLITE_ROW && c->nkey < IKE_MAX_KEYS) {
		struct ike_key *k = &c->key[c->nkey++];

		k->addr = col_ip(st, 0);
		k->mask = col_ip(st, 1);
		col_str(st, 2, k->secret, sizeof(k->secret));
		k->no_xauth = sqlite3_column_int(st, 3) != 0;
		k->no_config_mode = sqlite3_column_int(st, 4) != 0;
	}
	sqlite3_finalize(st);
	return 0;
}

static int
load_pools(struct db *db, struct ike_conf *c, struct pc_err *err)
{
	sqlite3_stmt *st;
	int r;

	r = db_prepare(db,
	               "SELECT id, name, start_address, end_address, netmask FROM ip_pool "
	               "ORDER BY position, id",
	               &st, err);
	if (r < 0)
		return r;
	while (sqlite3_step(st) == SQLITE_ROW && c->npool < IKE_MAX_POOLS) {
		struct ike_pool *p = &c->pool[c->npool++];

		p->id = sqlite3_column_int64(st, 0);
		col_str(st, 1, p->name, sizeof(p->name));
		p->start = col_ip(st, 2);
		p->end = col_ip(st, 3);
		p->mask = sqlite3_column_type(st, 4) == SQLITE_NULL ? 0 : col_ip(st, 4);
	}
	sqlite3_finalize(st);
	r = db_prepare(db, "SELECT pool_id FROM isakmp_client_pool ORDER BY id LIMIT 1", &st, err);
	if (r < 0)
		return r;
	if (sqlite3_step(st) == SQLITE_ROW)
		c->client_pool_id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return 0;
}

static int
prefix_len(uint32_t mask)
{
	int n = 0;

	while (mask & 0x80000000u) {
		n++;
		mask <<= 1;
	}
	return n;
}

static int
load_split(struct db *db, struct ike_group *g, int64_t acl_id, struct pc_err *err)
{
	sqlite3_stmt *st;
	int r;

	r = db_prepare(db,
	               "SELECT src_kind, src_address, src_netmask FROM access_list_entry "
	               "WHERE acl_id = ? AND action = 'permit' ORDER BY position",
	               &st, err);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, acl_id);
	while (sqlite3_step(st) == SQLITE_ROW && g->nsplit < IKE_MAX_SPLIT) {
		char kind[16];

		col_str(st, 0, kind, sizeof(kind));
		if (strcmp(kind, "network") == 0) {
			g->split[g->nsplit].addr = col_ip(st, 1);
			g->split[g->nsplit].plen = (uint8_t)prefix_len(col_ip(st, 2));
			g->nsplit++;
		} else if (strcmp(kind, "host") == 0) {
			g->split[g->nsplit].addr = col_ip(st, 1);
			g->split[g->nsplit].plen = 32;
			g->nsplit++;
		}
	}
	sqlite3_finalize(st);
	return 0;
}

static int
load_groups(struct db *db, struct ike_conf *c, struct pc_err *err)
{
	sqlite3_stmt *st;
	int r = 0;

	r = db_prepare(db,
	               "SELECT name, password_secret, has_password, pool_id, dns_server1, "
	               "dns_server2, wins_server1, wins_server2, default_domain, "
	               "split_tunnel_acl_id, split_dns, idle_time_s, max_time_s, pfs, "
	               "backup_servers, banner, save_password FROM vpngroup ORDER BY position, id",
	               &st, err);
	if (r < 0)
		return r;
	while (sqlite3_step(st) == SQLITE_ROW && c->ngrp < IKE_MAX_GROUPS) {
		struct ike_group *g = &c->grp[c->ngrp++];

		col_str(st, 0, g->name, sizeof(g->name));
		col_str(st, 1, g->password, sizeof(g->password));
		g->has_password = sqlite3_column_type(st, 1) != SQLITE_NULL;
		g->pool_id = sqlite3_column_int64(st, 3);
		g->dns[0] = col_ip(st, 4);
		g->dns[1] = col_ip(st, 5);
		g->wins[0] = col_ip(st, 6);
		g->wins[1] = col_ip(st, 7);
		col_str(st, 8, g->domain, sizeof(g->domain));
		col_str(st, 10, g->split_dns, sizeof(g->split_dns));
		g->idle_s = (uint32_t)sqlite3_column_int64(st, 11);
		g->max_s = (uint32_t)sqlite3_column_int64(st, 12);
		g->pfs = sqlite3_column_int(st, 13) != 0;
		col_str(st, 14, g->backup, sizeof(g->backup));
		col_str(st, 15, g->banner, sizeof(g->banner));
		g->save_pw = sqlite3_column_int(st, 16) != 0;
		if (sqlite3_column_type(st, 9) != SQLITE_NULL) {
			r = load_split(db, g, sqlite3_column_int64(st, 9), err);
			if (r < 0)
				break;
		}
	}
	sqlite3_finalize(st);
	return r;
}

static void
tset_from_row(sqlite3_stmt *st, int col, struct ike_tset *t)
{
	char enc[32], auth[32], mode[16];

	col_str(st, col, t->name, sizeof(t->name));
	col_str(st, col + 1, enc, sizeof(enc));
	col_str(st, col + 2, auth, sizeof(auth));
	col_str(st, col + 3, mode, sizeof(mode));
	t->keybits = 0;
	t->esp_id = strcmp(enc, "esp-des") == 0       ? ESP_DES
	            : strcmp(enc, "esp-3des") == 0    ? ESP_3DES
	            : strcmp(enc, "esp-null") == 0    ? ESP_NULL
	            : strncmp(enc, "esp-aes", 7) == 0 ? ESP_AES
	                                              : 0;
	if (t->esp_id == ESP_AES)
		t->keybits = strcmp(enc, "esp-aes-256") == 0   ? 256
		             : strcmp(enc, "esp-aes-192") == 0 ? 192
		                                               : 128;
	t->auth = strcmp(auth, "esp-md5-hmac") == 0      ? 1
	          : strcmp(auth, "esp-sha-hmac") == 0    ? 2
	          : strcmp(auth, "esp-sha256-hmac") == 0 ? 5
	                                                 : 0;
	t->tunnel = strcmp(mode, "transport") != 0;
}

static int
load_cryptomap(struct db *db, struct ike_conf *c, struct pc_err *err)
{
	sqlite3_stmt *st;
	int r;

	/* Transform sets of the dynamic maps that a crypto map references, in map order. */
	r = db_prepare(db,
	               "SELECT ts.name, ts.esp_encryption, ts.esp_authentication, ts.mode, "
	               "d.pfs_group, d.lifetime_s, d.lifetime_kb "
	               "FROM crypto_map_entry s "
	               "JOIN crypto_map_entry d ON d.is_dynamic = 1 AND d.map_name = "
	               "s.dynamic_map_name "
	               "JOIN crypto_map_transform t ON t.entry_id = d.id "
	               "JOIN transform_set ts ON ts.id = t.transform_set_id "
	               "WHERE s.is_dynamic = 0 ORDER BY s.map_name, s.seq, d.seq, t.position",
	               &st, err);
	if (r < 0)
		return r;
	while (sqlite3_step(st) == SQLITE_ROW && c->ntset < IKE_MAX_TSETS) {
		struct ike_tset *t = &c->tset[c->ntset++];

		tset_from_row(st, 0, t);
		if (c->ntset == 1) {
			c->pfs_group = sqlite3_column_int(st, 4);
			if (sqlite3_column_type(st, 5) != SQLITE_NULL)
				c->qm_life_s = (uint32_t)sqlite3_column_int64(st, 5);
			if (sqlite3_column_type(st, 6) != SQLITE_NULL)
				c->qm_life_kb = (uint32_t)sqlite3_column_int64(st, 6);
		}
	}
	sqlite3_finalize(st);
	r = db_prepare(db,
	               "SELECT o.client_config_initiate, o.client_config_respond, g.name "
	               "FROM crypto_map_option o LEFT JOIN aaa_server_group g ON g.id = "
	               "o.client_auth_group_id ORDER BY o.position LIMIT 1",
	               &st, err);
	if (r < 0)
		return r;
	if (sqlite3_step(st) == SQLITE_ROW) {
		c->cfg_initiate = sqlite3_column_int(st, 0) != 0;
		c->cfg_respond = sqlite3_column_int(st, 1) != 0;
		col_str(st, 2, c->auth_group, sizeof(c->auth_group));
	}
	sqlite3_finalize(st);
	return 0;
}

int
ike_conf_load(struct db *db, struct ike_conf *c, struct pc_err *err)
{
	int r;

	memset(c, 0, sizeof(*c));
	c->qm_life_s = 28800;
	c->qm_life_kb = 4608000;
	r = load_policies(db, c, err);
	if (r == 0)
		r = load_keys(db, c, err);
	if (r == 0)
		r = load_pools(db, c, err);
	if (r == 0)
		r = load_groups(db, c, err);
	if (r == 0)
		r = load_cryptomap(db, c, err);
	if (r < 0) {
		ike_conf_wipe(c);
		return r;
	}
	log_info(LOG_IKE,
	         "config: %d isakmp policies, %d keys, %d vpngroups, %d pools, %d transform sets, "
	         "client auth group '%s', config-mode %s%s",
	         c->npol, c->nkey, c->ngrp, c->npool, c->ntset, c->auth_group,
	         c->cfg_initiate ? "initiate " : "", c->cfg_respond ? "respond" : "");
	return 0;
}

void
ike_conf_wipe(struct ike_conf *c)
{
	OPENSSL_cleanse(c, sizeof(*c));
}
