/* The AAA engine: server groups read from SQLite, authentication requests walked through a
 * group's hosts in order (dead hosts skipped until their dead time passes, LOCAL fallback where
 * configured), and the accounting outbox (acct_record) delivered with retries and backoff.
 *
 * Threads: everything here runs on the loop thread except job_run(), which runs on a worker and
 * touches only its own struct aaa_job (a copy of what it needs). Workers hand jobs back with
 * loop_post(); a job whose request was cancelled or timed out is dropped on return, after its
 * result has updated the server's health. */
#include "gateway/aaa/aaa.h"
#include "gateway/aaa/aaa_attempt.h"
#include "gateway/aaa/aaa_hash.h"
#include "gateway/aaa/aaa_health.h"
#include "db/db.h"
#include "gateway/core/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum aaa_proto { PROTO_LOCAL, PROTO_TACACS, PROTO_RADIUS };

struct aaa_host {
	int64_t id;
	struct aaa_server_cfg auth; /* port = auth port */
	uint16_t acct_port;
	struct aaa_health health;
};

struct aaa_group {
	char name[64];
	enum aaa_proto proto;
	int max_failed;
	uint64_t deadtime_ms;
	bool fallback_local;
	bool simultaneous; /* accounting_mode: every host gets every record */
	struct aaa_host hosts[AAA_MAX_HOSTS_PER_GROUP];
	int nhosts;
};

struct auth_req {
	uint64_t id;
	struct aaa_auth_req req;
	aaa_auth_fn fn;
	void *arg;
	int next_host; /* index of the next host to try */
	bool tried_local;
	bool in_flight;
	char last_error[160];
	struct loop_timer *deadline;
	void *deadline_arg;   /* freed here while the timer has not fired */
	uint64_t deadline_ms; /* loop_now_ms() value of the deadline */
	struct auth_req *next;
};

/* Shared between the engine and jobs in flight: jobs that come back after aaa_free() find
 * aaa == NULL and only free themselves. Touched on the loop thread only. */
struct aaa_anchor {
	struct aaa *aaa;
	int refs; /* atomic: a worker drops its job's reference when loop_post fails */
};

static void
anchor_unref(struct aaa_anchor *a)
{
	if (a != NULL && __atomic_sub_fetch(&a->refs, 1, __ATOMIC_ACQ_REL) == 0)
		free(a);
}

enum job_kind { JOB_AUTH_REMOTE, JOB_AUTH_LOCAL, JOB_ACCT };

struct aaa_job {
	enum job_kind kind;
	enum aaa_proto proto;
	uint64_t req_id; /* JOB_AUTH_*: the request */
	int64_t host_id; /* which host, for health */
	char group[64];
	int host_idx;
	struct aaa_server_cfg srv;
	char user[AAA_MAX_USER];
	char password[AAA_MAX_PASSWORD];
	uint32_t peer_addr, framed_addr;
	enum aaa_tac_authen tac_how;
	bool tac_authorize;
	char service[16];
	char stored_hash[256]; /* JOB_AUTH_LOCAL */
	char hash_kind[32];
	struct aaa_acct_record rec; /* JOB_ACCT */
	uint64_t deadline_ms;       /* authentication: the request's deadline; 0 for accounting */
	bool expired;               /* the deadline passed while the job waited for a worker */
	struct aaa_attempt_result res;
	bool round_transmitted; /* JOB_ACCT: some host of this round got the record */
	bool fanout;            /* JOB_ACCT, simultaneous mode: one of several copies */
	char round_error[256];
	struct aaa_job *next;
};

struct drain_waiter {
	aaa_drain_fn fn;
	void *arg;
	uint64_t until;
	struct drain_waiter *next;
};

struct aaa {
	struct loop *loop;
	struct db *db;
	struct aaa_anchor *anchor;
	struct aaa_group *groups;
	int ngroups;
	struct auth_req *reqs;
	int nreqs;
	uint64_t next_id;
	bool tac_pap, tac_authorize;

	/* accounting */
	uint64_t backoff_base_ms, backoff_max_ms;
	int64_t inflight[AAA_OUTBOX_INFLIGHT];
	int ninflight;
	struct acct_fan {
		int64_t id;
		int outstanding; /* copies still out */
		bool failed;
		bool transmitted;
		int attempts;
		char err[200];
	} fans[AAA_OUTBOX_INFLIGHT]; /* simultaneous-mode records in flight */
	int nfans;
	struct loop_timer *pump;
	uint64_t pump_due;
	struct drain_waiter *waiters;
	struct loop_timer *wait_timer;

	/* workers */
	pthread_t threads[AAA_WORKERS];
	int nthreads;
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	struct aaa_job *q_head, *q_tail;
	struct aaa_job *d_head, *d_tail; /* finished by a worker, not yet handled (qlock) */
	bool q_stop;
	bool closing; /* aaa_free() is running: results are recorded, nothing new is sent */
	/* LOCAL checks of cheap (pix-md5) hashes: run on this loop from a zero-delay timer, not by a
	 * worker (the hand-off to another thread and back costs more than the MD5) */
	struct aaa_job *local_head, *local_tail;
	struct loop_timer *local_timer;
};

static void pump_schedule(struct aaa *aaa, uint64_t delay_ms);
static void done_drain(struct aaa *aaa);
static void job_submit(struct aaa *aaa, struct aaa_job *j);
static void auth_step(struct aaa *aaa, struct auth_req *r);

const char *
aaa_result_name(enum aaa_result r)
{
	switch (r) {
	case AAA_ACCEPT:
		return "accept";
	case AAA_REJECT:
		return "reject";
	case AAA_UNAVAILABLE:
		return "unavailable";
	case AAA_ERROR:
	default:
		return "error";
	}
}

static uint64_t
epoch_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void
ip_str(uint32_t a, char buf[INET_ADDRSTRLEN])
{
	struct in_addr ia = {.s_addr = htonl(a)};

	inet_ntop(AF_INET, &ia, buf, INET_ADDRSTRLEN);
}

static void
job_wipe_free(struct aaa_job *j)
{
	if (j == NULL)
		return;
	explicit_bzero(j->password, sizeof(j->password));
	explicit_bzero(j->srv.key, sizeof(j->srv.key));
	explicit_bzero(j->stored_hash, sizeof(j->stored_hash));
	free(j);
}

/* ---- workers ---- */

static void
job_run(struct aaa_job *j)
{
	uint64_t t0, now = loop_now_ms();
	int rc;

	if (j->deadline_ms != 0) {
		/* a request whose deadline passed in the queue is not sent at all, and a try never
		 * outlasts the request */
		if (now >= j->deadline_ms) {
			j->expired = true;
			memset(&j->res, 0, sizeof(j->res));
			j->res.status = AAA_ATT_NOT_SENT;
			snprintf(j->res.msg, sizeof(j->res.msg),
			         "%s: deadline passed before sending", j->srv.name);
			goto out;
		}
		if (j->srv.timeout_ms > j->deadline_ms - now)
			j->srv.timeout_ms = (uint32_t)(j->deadline_ms - now);
	}
	switch (j->kind) {
	case JOB_AUTH_LOCAL:
		t0 = loop_now_ms();
		memset(&j->res, 0, sizeof(j->res));
		rc = aaa_hash_verify(j->hash_kind, j->stored_hash, j->user, j->password);
		j->res.latency_ms = (uint32_t)(loop_now_ms() - t0);
		if (rc == 0) {
			j->res.status = AAA_ATT_ACCEPT;
			snprintf(j->res.msg, sizeof(j->res.msg), "LOCAL: password matches");
		} else if (rc == -EACCES) {
			j->res.status = AAA_ATT_REJECT;
			snprintf(j->res.msg, sizeof(j->res.msg), "LOCAL: wrong password");
		} else {
			j->res.status = AAA_ATT_REJECT;
			snprintf(j->res.msg, sizeof(j->res.msg),
			         "LOCAL: stored %s hash unusable (%s)", j->hash_kind,
			         strerror(-rc));
		}
		break;
	case JOB_AUTH_REMOTE:
		if (j->proto == PROTO_TACACS)
			tac_client_authenticate(&j->srv, j->user, j->password, j->tac_how,
			                        j->tac_authorize, j->service, j->peer_addr,
			                        &j->res);
		else
			radius_client_authenticate(&j->srv, j->user, j->password, j->peer_addr,
			                           j->framed_addr, &j->res);
		break;
	case JOB_ACCT:
		if (j->proto == PROTO_TACACS)
			tac_client_account(&j->srv, &j->rec, &j->res);
		else
			radius_client_account(&j->srv, &j->rec, &j->res);
		break;
	}
out:
	explicit_bzero(j->password, sizeof(j->password));
	explicit_bzero(j->srv.key, sizeof(j->srv.key));
}

static int done_cmd(struct loop *loop, void *arg);

/* Hands a finished job to the loop thread: onto the done list, then a command that drains it.
 * If the command cannot be queued the job still waits on the list, drained by the next command,
 * the outbox pump, or aaa_free(): a result is never dropped. */
static void
job_finished(struct aaa *aaa, struct aaa_job *j)
{
	int rc;

	pthread_mutex_lock(&aaa->qlock);
	j->next = NULL;
	if (aaa->d_tail != NULL)
		aaa->d_tail->next = j;
	else
		aaa->d_head = j;
	aaa->d_tail = j;
	pthread_mutex_unlock(&aaa->qlock);
	__atomic_add_fetch(&aaa->anchor->refs, 1, __ATOMIC_ACQ_REL);
	rc = loop_post(aaa->loop, done_cmd, aaa->anchor);
	if (rc < 0) {
		anchor_unref(aaa->anchor);
		log_debug(LOG_AAA, "%s: loop_post: %s (result kept for later)", j->srv.name,
		          strerror(-rc));
	}
}

static void *
worker_main(void *arg)
{
	struct aaa *aaa = arg;

	for (;;) {
		struct aaa_job *j;

		pthread_mutex_lock(&aaa->qlock);
		while (aaa->q_head == NULL && !aaa->q_stop)
			pthread_cond_wait(&aaa->qcond, &aaa->qlock);
		if (aaa->q_stop) {
			pthread_mutex_unlock(&aaa->qlock);
			break;
		}
		j = aaa->q_head;
		aaa->q_head = j->next;
		if (aaa->q_head == NULL)
			aaa->q_tail = NULL;
		pthread_mutex_unlock(&aaa->qlock);
		job_run(j);
		job_finished(aaa, j);
	}
	return NULL;
}

static void
job_submit(struct aaa *aaa, struct aaa_job *j)
{
	j->next = NULL;
	pthread_mutex_lock(&aaa->qlock);
	if (aaa->q_tail != NULL)
		aaa->q_tail->next = j;
	else
		aaa->q_head = j;
	aaa->q_tail = j;
	pthread_cond_signal(&aaa->qcond);
	pthread_mutex_unlock(&aaa->qlock);
}

/* ---- configuration ---- */

static struct aaa_group *
group_find(struct aaa *aaa, const char *name)
{
	for (int i = 0; i < aaa->ngroups; i++)
		if (strcmp(aaa->groups[i].name, name) == 0)
			return &aaa->groups[i];
	return NULL;
}

static struct aaa_host *
host_find(struct aaa *aaa, const char *group, int64_t host_id)
{
	struct aaa_group *g = group_find(aaa, group);

	if (g == NULL)
		return NULL;
	for (int i = 0; i < g->nhosts; i++)
		if (g->hosts[i].id == host_id)
			return &g->hosts[i];
	return NULL;
}

static int
load_groups(struct aaa *aaa, struct aaa_group **out, int *nout, struct pc_err *err)
{
	static const char sql[] =
	        "SELECT g.name, g.protocol, g.max_failed_attempts, g.deadtime_min, "
	        "g.fallback_local,"
	        " h.id, h.address, h.key_secret, h.timeout_s, h.retries, h.auth_port, h.acct_port,"
	        " i.address, g.accounting_mode"
	        " FROM aaa_server_group g"
	        " LEFT JOIN aaa_server_host h ON h.group_id = g.id"
	        " LEFT JOIN interface i ON i.id = h.interface_id"
	        " ORDER BY g.position, g.id, h.position, h.id";
	struct aaa_group *gs = calloc(AAA_MAX_GROUPS, sizeof(*gs));
	sqlite3_stmt *st = NULL;
	int n = 0, rc;

	if (gs == NULL)
		return -ENOMEM;
	rc = db_prepare(aaa->db, sql, &st, err);
	if (rc < 0)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const char *proto = (const char *)sqlite3_column_text(st, 1);
		struct aaa_group *g =
		        n > 0 && strcmp(gs[n - 1].name, name) == 0 ? &gs[n - 1] : NULL;
		struct aaa_host *h;
		const char *addr, *key, *ifaddr;
		struct in_addr ia;

		if (g == NULL) {
			if (n >= AAA_MAX_GROUPS) {
				log_warn(LOG_AAA,
				         "more than %d server groups: '%s' and later ignored",
				         AAA_MAX_GROUPS, name);
				break;
			}
			g = &gs[n++];
			snprintf(g->name, sizeof(g->name), "%s", name);
			g->proto = strcmp(proto, "tacacs+") == 0  ? PROTO_TACACS
			           : strcmp(proto, "radius") == 0 ? PROTO_RADIUS
			                                          : PROTO_LOCAL;
			g->max_failed = sqlite3_column_int(st, 2);
			g->deadtime_ms = (uint64_t)sqlite3_column_int64(st, 3) * 60000u;
			g->fallback_local = sqlite3_column_int(st, 4) != 0;
			g->simultaneous = sqlite3_column_text(st, 13) != NULL &&
			                  strcmp((const char *)sqlite3_column_text(st, 13),
			                         "simultaneous") == 0;
		}
		if (sqlite3_column_type(st, 5) == SQLITE_NULL || g->proto == PROTO_LOCAL)
			continue;
		if (g->nhosts >= AAA_MAX_HOSTS_PER_GROUP) {
			log_warn(LOG_AAA, "group %s: more than %d hosts, the rest ignored", g->name,
			         AAA_MAX_HOSTS_PER_GROUP);
			continue;
		}
		h = &g->hosts[g->nhosts];
		addr = (const char *)sqlite3_column_text(st, 6);
		key = (const char *)sqlite3_column_text(st, 7);
		ifaddr = (const char *)sqlite3_column_text(st, 12);
		if (addr == NULL || inet_pton(AF_INET, addr, &ia) != 1) {
			log_warn(LOG_AAA, "group %s: host address '%s' unusable", g->name,
			         addr ? addr : "");
			continue;
		}
		h->id = sqlite3_column_int64(st, 5);
		h->auth.addr = ntohl(ia.s_addr);
		if (key != NULL && strlen(key) > AAA_MAX_KEY) {
			log_warn(LOG_AAA,
			         "group %s host %s: key longer than %d bytes, host ignored",
			         g->name, addr, AAA_MAX_KEY);
			continue;
		}
		snprintf(h->auth.key, sizeof(h->auth.key), "%s", key ? key : "");
		h->auth.timeout_ms = (uint32_t)sqlite3_column_int(st, 8) * 1000u;
		h->auth.retries = sqlite3_column_int(st, 9);
		if (g->proto == PROTO_TACACS) {
			h->auth.port = sqlite3_column_type(st, 10) == SQLITE_NULL
			                       ? AAA_TACACS_PORT
			                       : (uint16_t)sqlite3_column_int(st, 10);
			h->acct_port = h->auth.port;
		} else {
			h->auth.port = sqlite3_column_type(st, 10) == SQLITE_NULL
			                       ? AAA_RADIUS_AUTH_PORT
			                       : (uint16_t)sqlite3_column_int(st, 10);
			h->acct_port = sqlite3_column_type(st, 11) == SQLITE_NULL
			                       ? AAA_RADIUS_ACCT_PORT
			                       : (uint16_t)sqlite3_column_int(st, 11);
		}
		if (ifaddr != NULL && inet_pton(AF_INET, ifaddr, &ia) == 1)
			h->auth.nas_addr = ntohl(ia.s_addr);
		snprintf(h->auth.name, sizeof(h->auth.name), "%s:%u", addr, h->auth.port);
		g->nhosts++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		rc = db_error(aaa->db, err, "read aaa_server_group");
		goto fail;
	}
	sqlite3_finalize(st);
	*out = gs;
	*nout = n;
	return 0;
fail:
	sqlite3_finalize(st);
	explicit_bzero(gs, AAA_MAX_GROUPS * sizeof(*gs));
	free(gs);
	return rc < 0 ? rc : -EIO;
}

static void
groups_free(struct aaa_group *gs)
{
	if (gs == NULL)
		return;
	explicit_bzero(gs, AAA_MAX_GROUPS * sizeof(*gs));
	free(gs);
}

int
aaa_reload(struct aaa *aaa, struct pc_err *err)
{
	struct aaa_group *gs;
	int n, rc;

	rc = load_groups(aaa, &gs, &n, err);
	if (rc < 0)
		return rc;
	/* keep the health of servers that are still configured the same way */
	for (int i = 0; i < n; i++) {
		for (int k = 0; k < gs[i].nhosts; k++) {
			struct aaa_host *old = host_find(aaa, gs[i].name, gs[i].hosts[k].id);

			if (old != NULL && old->auth.addr == gs[i].hosts[k].auth.addr &&
			    old->auth.port == gs[i].hosts[k].auth.port &&
			    old->acct_port == gs[i].hosts[k].acct_port)
				gs[i].hosts[k].health = old->health;
		}
	}
	groups_free(aaa->groups);
	aaa->groups = gs;
	aaa->ngroups = n;
	log_info(LOG_AAA, "%d server group(s) loaded", n);
	/* records that could not be sent may be deliverable with the new configuration */
	if (db_exec(aaa->db,
	            "UPDATE acct_record SET next_attempt_at_ms = 0 WHERE state = 'pending' AND"
	            " last_error LIKE 'not sent:%'",
	            err) < 0)
		return -EIO;
	pump_schedule(aaa, 0);
	return 0;
}

/* ---- authentication ---- */

static struct auth_req *
req_find(struct aaa *aaa, uint64_t id)
{
	for (struct auth_req *r = aaa->reqs; r != NULL; r = r->next)
		if (r->id == id)
			return r;
	return NULL;
}

static void
req_unlink(struct aaa *aaa, struct auth_req *r)
{
	for (struct auth_req **pp = &aaa->reqs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			aaa->nreqs--;
			return;
		}
	}
}

static void
req_free(struct aaa *aaa, struct auth_req *r)
{
	if (r->deadline != NULL) {
		loop_timer_cancel(aaa->loop, r->deadline);
		free(r->deadline_arg);
	}
	explicit_bzero(r, sizeof(*r)); /* the password is in r->req */
	free(r);
}

static void
auth_finish(struct aaa *aaa, struct auth_req *r, enum aaa_result result, const char *server,
            const char *reason)
{
	struct aaa_auth_result res = {.result = result};
	aaa_auth_fn fn = r->fn;
	void *arg = r->arg;

	snprintf(res.reason, sizeof(res.reason), "%s", reason);
	snprintf(res.server, sizeof(res.server), "%s", server ? server : "");
	log_info(LOG_AAA, "user %s group %s: %s (%s)", r->req.user, r->req.group,
	         aaa_result_name(result), reason);
	req_unlink(aaa, r);
	req_free(aaa, r);
	fn(arg, &res);
}

static const char *
service_name(enum aaa_service s)
{
	switch (s) {
	case AAA_SVC_XAUTH:
		return "ipsec";
	case AAA_SVC_HTTP:
		return "http";
	case AAA_SVC_FTP:
		return "ftp";
	case AAA_SVC_TELNET:
		return "telnet";
	case AAA_SVC_ADMIN:
	default:
		return "shell";
	}
}

static void job_finish(struct aaa *aaa, struct aaa_job *j);

static void
local_run(struct loop *loop, void *arg)
{
	struct aaa *aaa = arg;
	struct aaa_job *j = aaa->local_head;

	aaa->local_timer = NULL;
	aaa->local_head = aaa->local_tail = NULL;
	while (j != NULL) {
		struct aaa_job *next = j->next;

		j->next = NULL;
		job_run(j);
		job_finish(aaa, j);
		j = next;
	}
}

/* Queues a LOCAL check to run on the loop; false when it cannot (then a worker does it). */
static bool
local_queue(struct aaa *aaa, struct aaa_job *j)
{
	if (aaa->local_timer == NULL) {
		aaa->local_timer = loop_timer_add(aaa->loop, 0, local_run, aaa);
		if (aaa->local_timer == NULL)
			return false;
	}
	j->next = NULL;
	if (aaa->local_tail != NULL)
		aaa->local_tail->next = j;
	else
		aaa->local_head = j;
	aaa->local_tail = j;
	return true;
}

static void
auth_local(struct aaa *aaa, struct auth_req *r)
{
	static const char sql[] = "SELECT password_hash, hash_kind FROM local_user WHERE name = ?";
	sqlite3_stmt *st = NULL;
	struct aaa_job *j;
	const char *hash, *kind;
	int rc;

	r->tried_local = true;
	if (db_prepare_cached(aaa->db, sql, &st, NULL) < 0) {
		auth_finish(aaa, r, AAA_ERROR, "LOCAL", "LOCAL: cannot read local_user");
		return;
	}
	sqlite3_bind_text(st, 1, r->req.user, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		db_done(aaa->db, st);
		auth_finish(aaa, r, rc == SQLITE_DONE ? AAA_REJECT : AAA_ERROR, "LOCAL",
		            rc == SQLITE_DONE ? "LOCAL: no such user"
		                              : "LOCAL: local_user query failed");
		return;
	}
	hash = (const char *)sqlite3_column_text(st, 0);
	kind = (const char *)sqlite3_column_text(st, 1);
	if (hash == NULL || kind == NULL || strcmp(kind, "plain-unset") == 0 ||
	    strlen(hash) >= sizeof(j->stored_hash)) {
		db_done(aaa->db, st);
		auth_finish(aaa, r, AAA_REJECT, "LOCAL", "LOCAL: user has no usable password");
		return;
	}
	j = calloc(1, sizeof(*j));
	if (j == NULL) {
		db_done(aaa->db, st);
		auth_finish(aaa, r, AAA_ERROR, "LOCAL", "out of memory");
		return;
	}
	j->kind = JOB_AUTH_LOCAL;
	j->proto = PROTO_LOCAL;
	j->deadline_ms = r->deadline_ms;
	j->req_id = r->id;
	j->host_id = -1;
	snprintf(j->stored_hash, sizeof(j->stored_hash), "%s", hash);
	snprintf(j->hash_kind, sizeof(j->hash_kind), "%s", kind);
	snprintf(j->user, sizeof(j->user), "%s", r->req.user);
	snprintf(j->password, sizeof(j->password), "%s", r->req.password);
	snprintf(j->srv.name, sizeof(j->srv.name), "LOCAL");
	db_done(aaa->db, st);
	r->in_flight = true;
	if (strcmp(j->hash_kind, "pix-md5") == 0 && local_queue(aaa, j))
		return; /* one MD5: on this loop, still after this call returns */
	job_submit(aaa, j);
}

static void
auth_step(struct aaa *aaa, struct auth_req *r)
{
	struct aaa_group *g = group_find(aaa, r->req.group);
	uint64_t now = loop_now_ms();
	struct aaa_job *j;
	char why[256];

	if (g == NULL || g->proto == PROTO_LOCAL) {
		if (g == NULL && strcmp(r->req.group, "LOCAL") != 0) {
			snprintf(why, sizeof(why), "no server group '%s'", r->req.group);
			auth_finish(aaa, r, AAA_ERROR, NULL, why);
			return;
		}
		auth_local(aaa, r);
		return;
	}
	while (r->next_host < g->nhosts && !aaa_health_usable(&g->hosts[r->next_host].health, now))
		r->next_host++;
	if (r->next_host >= g->nhosts) {
		if (g->fallback_local && !r->tried_local) {
			log_info(LOG_AAA,
			         "user %s group %s: no server usable, falling back to LOCAL",
			         r->req.user, g->name);
			auth_local(aaa, r);
			return;
		}
		if (g->nhosts == 0)
			snprintf(why, sizeof(why), "group %s has no servers", g->name);
		else
			snprintf(why, sizeof(why), "no server of group %.63s answered%s%.120s",
			         g->name, r->last_error[0] ? ": " : " (all marked dead)",
			         r->last_error);
		auth_finish(aaa, r, AAA_UNAVAILABLE, NULL, why);
		return;
	}
	j = calloc(1, sizeof(*j));
	if (j == NULL) {
		auth_finish(aaa, r, AAA_ERROR, NULL, "out of memory");
		return;
	}
	j->kind = JOB_AUTH_REMOTE;
	j->proto = g->proto;
	j->req_id = r->id;
	j->host_id = g->hosts[r->next_host].id;
	j->host_idx = r->next_host;
	snprintf(j->group, sizeof(j->group), "%s", g->name);
	j->srv = g->hosts[r->next_host].auth;
	snprintf(j->user, sizeof(j->user), "%s", r->req.user);
	snprintf(j->password, sizeof(j->password), "%s", r->req.password);
	j->peer_addr = r->req.peer_addr;
	j->framed_addr = r->req.framed_addr;
	j->tac_how = aaa->tac_pap ? AAA_TAC_PAP : AAA_TAC_ASCII;
	j->tac_authorize = aaa->tac_authorize;
	j->deadline_ms = r->deadline_ms;
	snprintf(j->service, sizeof(j->service), "%s", service_name(r->req.service));
	r->in_flight = true;
	log_debug(LOG_AAA, "user %s: trying %s (group %s)", r->req.user, j->srv.name, g->name);
	job_submit(aaa, j);
}

struct deadline_arg {
	struct aaa *aaa;
	uint64_t id;
};

static void
deadline_fired(struct loop *loop, void *arg)
{
	struct deadline_arg *d = arg;
	struct aaa *aaa = d->aaa;
	struct auth_req *r = req_find(aaa, d->id);
	char why[256];

	free(d);
	if (r == NULL)
		return;
	r->deadline = NULL;
	r->deadline_arg = NULL;
	snprintf(why, sizeof(why), "deadline passed%s%s", r->last_error[0] ? "; last error: " : "",
	         r->last_error);
	auth_finish(aaa, r, AAA_UNAVAILABLE, NULL, why);
}

static uint32_t
group_budget_ms(struct aaa *aaa, const char *group)
{
	struct aaa_group *g = group_find(aaa, group);
	uint64_t t = 2000; /* LOCAL: hashing only */

	if (g != NULL)
		for (int i = 0; i < g->nhosts; i++)
			t += (uint64_t)g->hosts[i].auth.timeout_ms *
			     (uint64_t)(g->proto == PROTO_RADIUS ? g->hosts[i].auth.retries + 1
			                                         : 1);
	if (g != NULL && g->fallback_local)
		t += 2000;
	return t > 600000 ? 600000 : (uint32_t)t;
}

int
aaa_authenticate(struct aaa *aaa, const struct aaa_auth_req *req, aaa_auth_fn fn, void *arg,
                 uint64_t *req_id)
{
	struct deadline_arg *d;
	struct auth_req *r;
	uint32_t budget;

	if (aaa == NULL || req == NULL || fn == NULL)
		return -EINVAL;
	if (memchr(req->user, '\0', sizeof(req->user)) == NULL ||
	    memchr(req->password, '\0', sizeof(req->password)) == NULL ||
	    memchr(req->group, '\0', sizeof(req->group)) == NULL || req->user[0] == '\0')
		return -EINVAL;
	if (aaa->nreqs >= AAA_MAX_PENDING_AUTH) {
		log_warn(LOG_AAA, "user %s: %d authentications already in progress, refused",
		         req->user, AAA_MAX_PENDING_AUTH);
		return -EBUSY;
	}
	r = calloc(1, sizeof(*r));
	d = calloc(1, sizeof(*d));
	if (r == NULL || d == NULL) {
		free(r);
		free(d);
		return -ENOMEM;
	}
	r->id = ++aaa->next_id;
	r->req = *req;
	r->fn = fn;
	r->arg = arg;
	budget = req->timeout_ms ? req->timeout_ms : group_budget_ms(aaa, req->group);
	r->deadline_ms = loop_now_ms() + budget;
	d->aaa = aaa;
	d->id = r->id;
	r->deadline = loop_timer_add(aaa->loop, budget, deadline_fired, d);
	r->deadline_arg = d;
	if (r->deadline == NULL) {
		free(d);
		explicit_bzero(&r->req, sizeof(r->req));
		free(r);
		return -ENOMEM;
	}
	r->next = aaa->reqs;
	aaa->reqs = r;
	aaa->nreqs++;
	if (req_id != NULL)
		*req_id = r->id;
	auth_step(aaa, r);
	return 0;
}

void
aaa_cancel(struct aaa *aaa, uint64_t req_id)
{
	struct auth_req *r;

	if (aaa == NULL)
		return;
	r = req_find(aaa, req_id);
	if (r == NULL)
		return;
	req_unlink(aaa, r);
	/* the deadline timer's argument is freed with it */
	req_free(aaa, r);
}

/* ---- accounting outbox ---- */

static const char *const acct_type_names[] = {"start", "stop", "interim"};

static bool
inflight_has(struct aaa *aaa, int64_t id)
{
	for (int i = 0; i < aaa->ninflight; i++)
		if (aaa->inflight[i] == id)
			return true;
	return false;
}

static void
inflight_del(struct aaa *aaa, int64_t id)
{
	for (int i = 0; i < aaa->ninflight; i++) {
		if (aaa->inflight[i] == id) {
			aaa->inflight[i] = aaa->inflight[--aaa->ninflight];
			return;
		}
	}
}

/* Runs one UPDATE with parameters ?1 = id, ?2 = t1, ?3 = t2, ?4 = i1; a statement that uses
 * fewer of them leaves the rest unbound (sqlite3_bind_* then returns SQLITE_RANGE, ignored). */
static int
exec_bound(struct aaa *aaa, const char *sql, const char *what, int64_t id, const char *t1,
           const char *t2, int64_t i1)
{
	sqlite3_stmt *st = NULL;
	int rc = db_prepare(aaa->db, sql, &st, NULL);

	if (rc < 0) {
		log_error(LOG_AAA, "%s: prepare failed", what);
		return rc;
	}
	sqlite3_bind_int64(st, 1, id);
	if (t1 != NULL)
		sqlite3_bind_text(st, 2, t1, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 2);
	if (t2 != NULL)
		sqlite3_bind_text(st, 3, t2, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 3);
	sqlite3_bind_int64(st, 4, i1);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		log_error(LOG_AAA, "%s (record %" PRId64 "): %s", what, id,
		          sqlite3_errmsg(db_sqlite(aaa->db)));
		return -EIO;
	}
	return 0;
}

static void
copy_col(sqlite3_stmt *st, int col, char *dst, size_t n)
{
	const char *v = (const char *)sqlite3_column_text(st, col);

	snprintf(dst, n, "%s", v != NULL ? v : "");
}

static int
rec_load(struct aaa *aaa, int64_t id, struct aaa_acct_record *rec)
{
	static const char sql[] =
	        "SELECT created_at_ms, record_type, session_id, task_id, username, group_name,"
	        " caller_address, peer_address, service, protocol, elapsed_s, bytes_in, bytes_out,"
	        " packets_in, packets_out, terminate_cause, server_group, attempts,"
	        " possible_duplicate, delivered_to FROM acct_record WHERE id = ?";
	sqlite3_stmt *st = NULL;
	char type[16];
	int rc = db_prepare(aaa->db, sql, &st, NULL);

	if (rc < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return -ENOENT;
	}
	memset(rec, 0, sizeof(*rec));
	rec->id = id;
	rec->created_at_ms = sqlite3_column_int64(st, 0);
	copy_col(st, 1, type, sizeof(type));
	rec->type = strcmp(type, "start") == 0  ? AAA_ACCT_START
	            : strcmp(type, "stop") == 0 ? AAA_ACCT_STOP
	                                        : AAA_ACCT_INTERIM;
	copy_col(st, 2, rec->session_id, sizeof(rec->session_id));
	rec->task_id = (uint32_t)sqlite3_column_int64(st, 3);
	copy_col(st, 4, rec->user, sizeof(rec->user));
	copy_col(st, 5, rec->user_group, sizeof(rec->user_group));
	copy_col(st, 6, rec->caller_addr, sizeof(rec->caller_addr));
	copy_col(st, 7, rec->peer_addr, sizeof(rec->peer_addr));
	copy_col(st, 8, rec->service, sizeof(rec->service));
	copy_col(st, 9, rec->protocol, sizeof(rec->protocol));
	rec->elapsed_s = (uint64_t)sqlite3_column_int64(st, 10);
	rec->bytes_in = (uint64_t)sqlite3_column_int64(st, 11);
	rec->bytes_out = (uint64_t)sqlite3_column_int64(st, 12);
	rec->packets_in = (uint64_t)sqlite3_column_int64(st, 13);
	rec->packets_out = (uint64_t)sqlite3_column_int64(st, 14);
	copy_col(st, 15, rec->terminate_cause, sizeof(rec->terminate_cause));
	copy_col(st, 16, rec->server_group, sizeof(rec->server_group));
	rec->attempts = sqlite3_column_int(st, 17);
	rec->possible_duplicate = sqlite3_column_int(st, 18) != 0;
	copy_col(st, 19, rec->delivered_to, sizeof(rec->delivered_to));
	sqlite3_finalize(st);
	return 0;
}

/* The round of tries for a record failed on every usable host: back off. */
/* A round of tries for record id failed: back off. The error says whether anything may have
 * reached a server ("sent") or not ("not sent"), which decides possible_duplicate later. */
static void
acct_retry_later(struct aaa *aaa, int64_t id, int attempts, bool transmitted, const char *why)
{
	uint64_t delay = aaa_backoff_ms(attempts, aaa->backoff_base_ms, aaa->backoff_max_ms);
	char err[300];

	snprintf(err, sizeof(err), "%s: %s", transmitted ? "sent" : "not sent", why);
	exec_bound(aaa,
	           "UPDATE acct_record SET last_error = ?2, next_attempt_at_ms = ?4"
	           " WHERE id = ?1 AND state = 'pending'",
	           "acct_record retry", id, err, NULL, (int64_t)(epoch_ms() + delay));
	log_warn(LOG_AAA,
	         "accounting record %" PRId64 ": attempt %d failed, retry in %" PRIu64 " ms: %s",
	         id, attempts, delay, why);
	inflight_del(aaa, id);
	pump_schedule(aaa, delay < 1000 ? delay : 1000);
}

static void
acct_round_failed(struct aaa *aaa, struct aaa_job *j, const char *why)
{
	acct_retry_later(aaa, j->rec.id, j->rec.attempts, j->round_transmitted, why);
	job_wipe_free(j);
}

static void
acct_mark_delivered(struct aaa *aaa, const struct aaa_acct_record *rec, const char *to)
{
	exec_bound(aaa,
	           "UPDATE acct_record SET state = 'delivered', delivered_at_ms = ?4,"
	           " delivered_to = coalesce(?2, delivered_to), last_error = ?3 WHERE id = ?1",
	           "acct_record delivered", rec->id, to, NULL, (int64_t)epoch_ms());
	log_info(LOG_AAA, "accounting record %" PRId64 " (%s %s) delivered to %s%s", rec->id,
	         acct_type_names[rec->type], rec->session_id,
	         to != NULL ? to : "every server of its group",
	         rec->possible_duplicate ? " (possible duplicate)" : "");
	inflight_del(aaa, rec->id);
	pump_schedule(aaa, 0);
}

/* ---- simultaneous mode: one copy per server, delivered once every server acknowledged ---- */

static struct acct_fan *
fan_find(struct aaa *aaa, int64_t id)
{
	for (int i = 0; i < aaa->nfans; i++)
		if (aaa->fans[i].id == id)
			return &aaa->fans[i];
	return NULL;
}

static bool
listed(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; p != NULL && *p != '\0';) {
		const char *c = strchr(p, ',');
		size_t len = c != NULL ? (size_t)(c - p) : strlen(p);

		if (len == n && strncmp(p, name, n) == 0)
			return true;
		p = c != NULL ? c + 1 : NULL;
	}
	return false;
}

static void
fan_complete(struct aaa *aaa, struct acct_fan *f, const struct aaa_acct_record *rec)
{
	struct acct_fan done = *f;

	*f = aaa->fans[--aaa->nfans];
	if (done.failed)
		acct_retry_later(aaa, done.id, done.attempts, done.transmitted, done.err);
	else
		acct_mark_delivered(aaa, rec, NULL);
}

/* One copy came back, or will never be sent (aaa_free). */
static void
fan_done(struct aaa *aaa, struct aaa_job *j)
{
	struct acct_fan *f = fan_find(aaa, j->rec.id);

	if (f == NULL) {
		job_wipe_free(j);
		return;
	}
	if (j->res.status == AAA_ATT_ACCEPT) {
		exec_bound(aaa,
		           "UPDATE acct_record SET delivered_to = CASE WHEN delivered_to IS NULL OR"
		           " delivered_to = '' THEN ?2 ELSE delivered_to || ',' || ?2 END WHERE id "
		           "= ?1",
		           "acct_record delivered_to", j->rec.id, j->srv.name, NULL, 0);
	} else {
		f->failed = true;
		f->transmitted = f->transmitted || j->res.transmitted;
		snprintf(f->err, sizeof(f->err), "%.199s", j->res.msg);
	}
	if (--f->outstanding == 0)
		fan_complete(aaa, f, &j->rec);
	job_wipe_free(j);
}

/* Fills j to go to host i of g (accounting port). */
static void
job_target(struct aaa_job *j, const struct aaa_group *g, int i)
{
	char a[INET_ADDRSTRLEN];

	j->kind = JOB_ACCT;
	j->proto = g->proto;
	j->host_idx = i;
	j->host_id = g->hosts[i].id;
	snprintf(j->group, sizeof(j->group), "%s", g->name);
	j->srv = g->hosts[i].auth;
	j->srv.port = g->hosts[i].acct_port;
	ip_str(j->srv.addr, a);
	snprintf(j->srv.name, sizeof(j->srv.name), "%s:%u", a, j->srv.port);
}

/* Sends a copy of the template j to every usable server that has not acknowledged the record
 * yet; frees j. */
static void
acct_fanout(struct aaa *aaa, struct aaa_job *j, const struct aaa_group *g)
{
	struct acct_fan *f = &aaa->fans[aaa->nfans++];
	uint64_t now = loop_now_ms();

	*f = (struct acct_fan){.id = j->rec.id, .attempts = j->rec.attempts, .outstanding = 1};
	for (int i = 0; i < g->nhosts; i++) {
		struct aaa_job *c;

		job_target(j, g, i);
		if (listed(j->rec.delivered_to, j->srv.name))
			continue;
		if (!aaa_health_usable(&aaa->groups[g - aaa->groups].hosts[i].health, now)) {
			f->failed = true;
			snprintf(f->err, sizeof(f->err), "%s is marked dead", j->srv.name);
			continue;
		}
		c = malloc(sizeof(*c));
		if (c == NULL) {
			f->failed = true;
			snprintf(f->err, sizeof(f->err), "out of memory");
			break;
		}
		*c = *j;
		c->fanout = true;
		f->outstanding++;
		job_submit(aaa, c);
	}
	/* the extra count held while submitting keeps a fast copy from completing the record */
	j->fanout = true;
	j->res.status = AAA_ATT_NOT_SENT;
	snprintf(j->res.msg, sizeof(j->res.msg), "%s", f->err);
	j->res.transmitted = false;
	if (!f->failed) {
		/* fan_done on the template must not count as a failure */
		if (--f->outstanding == 0)
			fan_complete(aaa, f, &j->rec);
		job_wipe_free(j);
		return;
	}
	fan_done(aaa, j);
}

/* Sends j's record to the first usable host of its group at or after index from. */
static void
acct_dispatch(struct aaa *aaa, struct aaa_job *j, int from)
{
	struct aaa_group *g = group_find(aaa, j->rec.server_group);
	uint64_t now = loop_now_ms();
	int i = from;

	if (g == NULL) {
		acct_round_failed(aaa, j, "server group no longer configured");
		return;
	}
	while (i < g->nhosts && !aaa_health_usable(&g->hosts[i].health, now))
		i++;
	if (i >= g->nhosts) {
		acct_round_failed(aaa, j,
		                  j->round_error[0] ? j->round_error
		                                    : "every server of the group is dead");
		return;
	}
	job_target(j, g, i);
	job_submit(aaa, j);
}

static void
acct_done(struct aaa *aaa, struct aaa_job *j)
{
	if (j->fanout) {
		fan_done(aaa, j);
		return;
	}
	if (j->res.status == AAA_ATT_ACCEPT) {
		acct_mark_delivered(aaa, &j->rec, j->srv.name);
		job_wipe_free(j);
		return;
	}
	j->round_transmitted = j->round_transmitted || j->res.transmitted;
	snprintf(j->round_error, sizeof(j->round_error), "%s", j->res.msg);
	if (aaa->closing)
		acct_round_failed(aaa, j, j->round_error);
	else
		acct_dispatch(aaa, j, j->host_idx + 1);
}

static void
acct_begin(struct aaa *aaa, int64_t id)
{
	struct aaa_group *g;
	struct aaa_job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return;
	if (rec_load(aaa, id, &j->rec) < 0) {
		free(j);
		return;
	}
	g = group_find(aaa, j->rec.server_group);
	if (g != NULL && g->proto == PROTO_LOCAL) {
		exec_bound(aaa,
		           "UPDATE acct_record SET state = 'failed', last_error = ?2 WHERE id = ?1",
		           "acct_record failed", id,
		           "server group uses protocol local, which cannot receive accounting",
		           NULL, 0);
		free(j);
		return;
	}
	if (g == NULL || g->nhosts == 0) {
		exec_bound(aaa,
		           "UPDATE acct_record SET last_error = ?2, next_attempt_at_ms = ?4"
		           " WHERE id = ?1",
		           "acct_record no group", id,
		           g == NULL ? "not sent: no such server group"
		                     : "not sent: group has no hosts",
		           NULL, (int64_t)(epoch_ms() + aaa->backoff_max_ms));
		free(j);
		return;
	}
	/* The attempt is recorded before anything is sent: a record re-sent after an attempt that
	 * may have reached a server (no ack, or a crash meanwhile) is a possible duplicate. */
	if (exec_bound(aaa,
	               "UPDATE acct_record SET possible_duplicate = CASE WHEN attempts > 0 AND"
	               " (last_error IS NULL OR last_error NOT LIKE 'not sent:%') THEN 1 ELSE"
	               " possible_duplicate END, attempts = attempts + 1, last_error = NULL"
	               " WHERE id = ?1",
	               "acct_record attempt", id, NULL, NULL, 0) < 0 ||
	    rec_load(aaa, id, &j->rec) < 0) {
		free(j);
		return;
	}
	aaa->inflight[aaa->ninflight++] = id;
	if (g->simultaneous)
		acct_fanout(aaa, j, g);
	else
		acct_dispatch(aaa, j, 0);
}

static int
outbox_count(struct aaa *aaa)
{
	sqlite3_stmt *st = NULL;
	int n;

	if (db_prepare(aaa->db, "SELECT COUNT(*) FROM acct_record WHERE state = 'pending'", &st,
	               NULL) < 0)
		return -EIO;
	n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -EIO;
	sqlite3_finalize(st);
	return n;
}

static void
waiters_check(struct aaa *aaa, bool force_timeout_check)
{
	uint64_t now = loop_now_ms();
	bool drained = aaa->ninflight == 0 && outbox_count(aaa) == 0;

	for (struct drain_waiter **pp = &aaa->waiters; *pp != NULL;) {
		struct drain_waiter *w = *pp;

		if (drained || now >= w->until) {
			*pp = w->next;
			w->fn(w->arg, drained);
			free(w);
			continue;
		}
		pp = &w->next;
	}
	(void)force_timeout_check;
}

static void
pump_fire(struct loop *loop, void *arg)
{
	/* the oldest pending record of each (session, group), if due: a Stop never overtakes its
	 * Start. O(pending) per run via the state index (a correlated NOT EXISTS took 300 ms at
	 * 1000 pending records). */
	static const char sql[] =
	        "SELECT r.id FROM acct_record r JOIN (SELECT MIN(id) AS id FROM acct_record"
	        " WHERE state = 'pending' GROUP BY session_id, server_group) h ON r.id = h.id"
	        " WHERE r.next_attempt_at_ms <= ?1 ORDER BY r.id LIMIT ?2";
	struct aaa *aaa = arg;
	int64_t ids[AAA_OUTBOX_INFLIGHT * 2];
	int n = 0, room = AAA_OUTBOX_INFLIGHT - aaa->ninflight;
	sqlite3_stmt *st = NULL;
	int64_t next = -1;

	aaa->pump = NULL;
	done_drain(aaa);
	room = AAA_OUTBOX_INFLIGHT - aaa->ninflight;
	if (room > 0 && db_prepare(aaa->db, sql, &st, NULL) == 0) {
		sqlite3_bind_int64(st, 1, (int64_t)epoch_ms());
		sqlite3_bind_int(st, 2, AAA_OUTBOX_INFLIGHT * 2);
		while (n < (int)(sizeof(ids) / sizeof(ids[0])) && sqlite3_step(st) == SQLITE_ROW)
			ids[n++] = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	for (int i = 0; i < n && aaa->ninflight < AAA_OUTBOX_INFLIGHT; i++)
		if (!inflight_has(aaa, ids[i]))
			acct_begin(aaa, ids[i]);
	if (db_prepare(aaa->db,
	               "SELECT MIN(next_attempt_at_ms) FROM acct_record WHERE state = 'pending'",
	               &st, NULL) == 0) {
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
			next = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	if (next >= 0) {
		int64_t d = next - (int64_t)epoch_ms();

		pump_schedule(aaa, d < 200 ? 200 : d > 60000 ? 60000 : (uint64_t)d);
	}
	waiters_check(aaa, false);
}

static void
pump_schedule(struct aaa *aaa, uint64_t delay_ms)
{
	uint64_t due = loop_now_ms() + delay_ms;

	if (aaa->closing)
		return;
	if (aaa->pump != NULL) {
		if (aaa->pump_due <= due)
			return;
		loop_timer_cancel(aaa->loop, aaa->pump);
	}
	aaa->pump = loop_timer_add(aaa->loop, delay_ms, pump_fire, aaa);
	aaa->pump_due = due;
}

int
aaa_account(struct aaa *aaa, const struct aaa_acct_event *ev, struct pc_err *err)
{
	static const char sql[] =
	        "INSERT INTO acct_record (created_at_ms, record_type, session_id, task_id, "
	        "username,"
	        " group_name, caller_address, peer_address, nas_address, service, protocol,"
	        " elapsed_s, bytes_in, bytes_out, packets_in, packets_out, terminate_cause,"
	        " server_group, state, next_attempt_at_ms)"
	        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
	        " ?16, ?17, 'pending', 0)";
	char caller[INET_ADDRSTRLEN], peer[INET_ADDRSTRLEN];
	sqlite3_stmt *st = NULL;
	int rc;

	if (aaa == NULL || ev == NULL)
		return pc_err_set(err, PC_ERR_INVALID, NULL, "aaa_account: no event");
	if ((unsigned)ev->type > AAA_ACCT_INTERIM)
		return pc_err_set(err, PC_ERR_INVALID, "type", "record type %d unknown", ev->type);
#define NEED_STR(f)                                                                                \
	if (memchr(ev->f, '\0', sizeof(ev->f)) == NULL || ev->f[0] == '\0')                        \
	return pc_err_set(err, PC_ERR_INVALID, #f, "%s: expected a non-empty string", #f)
	NEED_STR(group);
	NEED_STR(session_id);
	NEED_STR(user);
	NEED_STR(service);
#undef NEED_STR
	if (memchr(ev->user_group, '\0', sizeof(ev->user_group)) == NULL ||
	    memchr(ev->protocol, '\0', sizeof(ev->protocol)) == NULL ||
	    memchr(ev->terminate_cause, '\0', sizeof(ev->terminate_cause)) == NULL)
		return pc_err_set(err, PC_ERR_INVALID, NULL, "unterminated string field");
	if (ev->elapsed_s > INT64_MAX || ev->bytes_in > INT64_MAX || ev->bytes_out > INT64_MAX ||
	    ev->packets_in > INT64_MAX || ev->packets_out > INT64_MAX)
		return pc_err_set(err, PC_ERR_INVALID, NULL, "counter beyond 2^63");
	ip_str(ev->caller_addr, caller);
	ip_str(ev->peer_addr, peer);
	/* the outbox promise: the record is on disk (WAL synced) when this returns */
	rc = db_exec(aaa->db, "PRAGMA synchronous = FULL", err);
	if (rc < 0)
		return rc;
	rc = db_prepare(aaa->db, sql, &st, err);
	if (rc < 0)
		goto out;
	sqlite3_bind_int64(st, 1, (int64_t)epoch_ms());
	sqlite3_bind_text(st, 2, acct_type_names[ev->type], -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ev->session_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, ev->task_id);
	sqlite3_bind_text(st, 5, ev->user, -1, SQLITE_STATIC);
	if (ev->user_group[0])
		sqlite3_bind_text(st, 6, ev->user_group, -1, SQLITE_STATIC);
	if (ev->caller_addr)
		sqlite3_bind_text(st, 7, caller, -1, SQLITE_STATIC);
	if (ev->peer_addr)
		sqlite3_bind_text(st, 8, peer, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, ev->service, -1, SQLITE_STATIC);
	if (ev->protocol[0])
		sqlite3_bind_text(st, 10, ev->protocol, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 11, (int64_t)ev->elapsed_s);
	sqlite3_bind_int64(st, 12, (int64_t)ev->bytes_in);
	sqlite3_bind_int64(st, 13, (int64_t)ev->bytes_out);
	sqlite3_bind_int64(st, 14, (int64_t)ev->packets_in);
	sqlite3_bind_int64(st, 15, (int64_t)ev->packets_out);
	if (ev->terminate_cause[0])
		sqlite3_bind_text(st, 16, ev->terminate_cause, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 17, ev->group, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		rc = db_error(aaa->db, err, "insert acct_record");
		goto out;
	}
	rc = 0;
	log_info(LOG_AAA, "accounting %s for user %s session %s queued for group %s",
	         acct_type_names[ev->type], ev->user, ev->session_id, ev->group);
	pump_schedule(aaa, 0);
out:
	if (db_exec(aaa->db, "PRAGMA synchronous = NORMAL", NULL) < 0)
		log_warn(LOG_AAA, "PRAGMA synchronous = NORMAL failed");
	return rc;
}

int
aaa_outbox_pending(struct aaa *aaa)
{
	return outbox_count(aaa);
}

static void
waiter_tick(struct loop *loop, void *arg)
{
	struct aaa *aaa = arg;

	aaa->wait_timer = NULL;
	waiters_check(aaa, true);
	if (aaa->waiters != NULL)
		aaa->wait_timer = loop_timer_add(loop, 100, waiter_tick, aaa);
}

int
aaa_outbox_wait(struct aaa *aaa, uint64_t timeout_ms, aaa_drain_fn fn, void *arg)
{
	struct drain_waiter *w = calloc(1, sizeof(*w));
	bool first = aaa->waiters == NULL;

	if (w == NULL)
		return -ENOMEM;
	w->fn = fn;
	w->arg = arg;
	w->until = loop_now_ms() + timeout_ms;
	w->next = aaa->waiters;
	aaa->waiters = w;
	if (first && aaa->wait_timer == NULL)
		aaa->wait_timer = loop_timer_add(aaa->loop, 0, waiter_tick, aaa);
	if (aaa->wait_timer == NULL) {
		aaa->waiters = w->next;
		free(w);
		return -ENOMEM;
	}
	return 0;
}

/* ---- results from workers ---- */

static void
job_finish(struct aaa *aaa, struct aaa_job *j)
{
	struct auth_req *r;

	if (j->kind != JOB_AUTH_LOCAL && !j->expired) {
		struct aaa_host *h = host_find(aaa, j->group, j->host_id);
		struct aaa_group *g = group_find(aaa, j->group);

		if (h != NULL &&
		    (j->res.status == AAA_ATT_ACCEPT || j->res.status == AAA_ATT_REJECT))
			aaa_health_success(&h->health, j->res.latency_ms);
		else if (h != NULL && aaa_health_failure(&h->health, loop_now_ms(), g->max_failed,
		                                         g->deadtime_ms, j->res.msg))
			log_warn(LOG_AAA,
			         "server %s (group %s) marked dead for %" PRIu64
			         " min after %d failures: %s",
			         h->auth.name, g->name, g->deadtime_ms / 60000,
			         h->health.consecutive_failures, j->res.msg);
	}
	if (j->kind == JOB_ACCT) {
		acct_done(aaa, j);
		return;
	}
	r = aaa->closing ? NULL : req_find(aaa, j->req_id);
	if (r == NULL) { /* cancelled, deadline passed, or shutting down */
		job_wipe_free(j);
		return;
	}
	r->in_flight = false;
	switch (j->res.status) {
	case AAA_ATT_ACCEPT:
		auth_finish(aaa, r, AAA_ACCEPT, j->srv.name, j->res.msg);
		break;
	case AAA_ATT_REJECT:
		auth_finish(aaa, r, AAA_REJECT, j->srv.name, j->res.msg);
		break;
	default:
		log_warn(LOG_AAA, "user %s: %s", r->req.user, j->res.msg);
		snprintf(r->last_error, sizeof(r->last_error), "%.159s", j->res.msg);
		r->next_host = j->host_idx + 1;
		auth_step(aaa, r);
		break;
	}
	job_wipe_free(j);
}

static void
done_drain(struct aaa *aaa)
{
	for (;;) {
		struct aaa_job *j;

		pthread_mutex_lock(&aaa->qlock);
		j = aaa->d_head;
		if (j != NULL) {
			aaa->d_head = j->next;
			if (aaa->d_head == NULL)
				aaa->d_tail = NULL;
		}
		pthread_mutex_unlock(&aaa->qlock);
		if (j == NULL)
			return;
		job_finish(aaa, j);
	}
}

static int
done_cmd(struct loop *loop, void *arg)
{
	struct aaa_anchor *anchor = arg;
	struct aaa *aaa = anchor->aaa;

	anchor_unref(anchor);
	if (aaa != NULL)
		done_drain(aaa);
	return 0;
}

/* ---- lifecycle, health, options ---- */

int
aaa_new(struct loop *loop, const char *db_path, struct aaa **out)
{
	struct pc_err err = {0};
	struct aaa *aaa;
	int rc, pending;

	*out = NULL;
	aaa = calloc(1, sizeof(*aaa));
	if (aaa == NULL)
		return -ENOMEM;
	aaa->loop = loop;
	aaa->backoff_base_ms = 5000;
	aaa->backoff_max_ms = 600000;
	pthread_mutex_init(&aaa->qlock, NULL);
	pthread_cond_init(&aaa->qcond, NULL);
	aaa->anchor = calloc(1, sizeof(*aaa->anchor));
	if (aaa->anchor == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	aaa->anchor->aaa = aaa;
	aaa->anchor->refs = 1;
	rc = db_open(db_path, &aaa->db, &err);
	if (rc < 0) {
		log_error(LOG_AAA, "open %s: %s", db_path, err.msg);
		goto fail;
	}
	/* delivery bookkeeping (attempts, delivered) may lose its last commits on power loss: the
	 * record is then re-sent, flagged possible_duplicate. aaa_account() itself syncs. */
	rc = db_exec(aaa->db, "PRAGMA synchronous = NORMAL", &err);
	if (rc < 0)
		goto fail;
	rc = aaa_reload(aaa, &err);
	if (rc < 0) {
		log_error(LOG_AAA, "load server groups: %s", err.msg);
		goto fail;
	}
	for (int i = 0; i < AAA_WORKERS; i++) {
		rc = -pthread_create(&aaa->threads[i], NULL, worker_main, aaa);
		if (rc < 0) {
			log_error(LOG_AAA, "pthread_create: %s", strerror(-rc));
			goto fail;
		}
		aaa->nthreads++;
	}
	pending = outbox_count(aaa);
	if (pending > 0)
		log_info(LOG_AAA, "%d accounting record(s) pending from before: delivering",
		         pending);
	pump_schedule(aaa, 0);
	*out = aaa;
	return 0;
fail:
	aaa_free(aaa);
	return rc;
}

void
aaa_free(struct aaa *aaa)
{
	struct aaa_job *j;

	if (aaa == NULL)
		return;
	aaa->closing = true;
	if (aaa->anchor != NULL)
		aaa->anchor->aaa = NULL;
	if (aaa->local_timer != NULL)
		loop_timer_cancel(aaa->loop, aaa->local_timer);
	while ((j = aaa->local_head) != NULL) {
		aaa->local_head = j->next;
		job_wipe_free(j);
	}
	pthread_mutex_lock(&aaa->qlock);
	aaa->q_stop = true;
	pthread_cond_broadcast(&aaa->qcond);
	pthread_mutex_unlock(&aaa->qlock);
	for (int i = 0; i < aaa->nthreads; i++)
		pthread_join(aaa->threads[i], NULL);
	/* exchanges that finished: record their outcome (an acknowledged record is delivered) */
	if (aaa->db != NULL)
		done_drain(aaa);
	/* jobs never started: an accounting record's attempt did not send anything */
	while ((j = aaa->q_head) != NULL) {
		aaa->q_head = j->next;
		if (j->kind == JOB_ACCT && aaa->db != NULL && j->fanout) {
			j->res.status = AAA_ATT_NOT_SENT;
			j->res.transmitted = false;
			snprintf(j->res.msg, sizeof(j->res.msg), "gateway stopped before sending");
			fan_done(aaa, j);
		} else if (j->kind == JOB_ACCT && aaa->db != NULL) {
			acct_round_failed(aaa, j, "gateway stopped before sending");
		} else {
			job_wipe_free(j);
		}
	}
	while (aaa->reqs != NULL) {
		struct auth_req *r = aaa->reqs;

		aaa->reqs = r->next;
		req_free(aaa, r);
	}
	while (aaa->waiters != NULL) {
		struct drain_waiter *w = aaa->waiters;

		aaa->waiters = w->next;
		free(w);
	}
	if (aaa->pump != NULL)
		loop_timer_cancel(aaa->loop, aaa->pump);
	if (aaa->wait_timer != NULL)
		loop_timer_cancel(aaa->loop, aaa->wait_timer);
	anchor_unref(aaa->anchor);
	groups_free(aaa->groups);
	db_close(aaa->db);
	pthread_cond_destroy(&aaa->qcond);
	pthread_mutex_destroy(&aaa->qlock);
	free(aaa);
}

int
aaa_server_health(struct aaa *aaa, struct aaa_server_health *out, int max)
{
	uint64_t now = loop_now_ms();
	int n = 0;

	for (int i = 0; i < aaa->ngroups; i++) {
		struct aaa_group *g = &aaa->groups[i];

		for (int k = 0; k < g->nhosts; k++, n++) {
			struct aaa_host *h = &g->hosts[k];
			struct aaa_server_health *o;

			if (n >= max)
				continue;
			o = &out[n];
			memset(o, 0, sizeof(*o));
			snprintf(o->group, sizeof(o->group), "%s", g->name);
			snprintf(o->protocol, sizeof(o->protocol), "%s",
			         g->proto == PROTO_TACACS ? "tacacs+" : "radius");
			snprintf(o->host, sizeof(o->host), "%s", h->auth.name);
			o->dead = h->health.dead && now < h->health.dead_until_ms;
			o->dead_for_s =
			        o->dead ? (uint32_t)((h->health.dead_until_ms - now + 999) / 1000)
			                : 0;
			o->consecutive_failures = h->health.consecutive_failures;
			o->last_latency_ms = h->health.last_latency_ms;
			o->requests = h->health.requests;
			o->failures = h->health.failures;
			snprintf(o->last_error, sizeof(o->last_error), "%s", h->health.last_error);
		}
	}
	return n;
}

void
aaa_set_tacacs_login(struct aaa *aaa, bool pap, bool authorize)
{
	aaa->tac_pap = pap;
	aaa->tac_authorize = authorize;
}

void
aaa_set_acct_backoff(struct aaa *aaa, uint64_t base_ms, uint64_t max_ms)
{
	aaa->backoff_base_ms = base_ms > 0 ? base_ms : 1;
	aaa->backoff_max_ms = max_ms >= aaa->backoff_base_ms ? max_ms : aaa->backoff_base_ms;
}
