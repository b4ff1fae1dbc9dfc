/* Test doubles for the uauth hooks: an in-memory stand-in for the nftables uauth set and an AAA
 * layer that answers asynchronously (on a loop timer, like the real one) and accepts one user. */
#ifndef PORTCULLIS_TESTS_UAUTH_FAKES_H
#define PORTCULLIS_TESTS_UAUTH_FAKES_H

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/core/loop.h"
#include "gateway/uauth/uauth.h"

#define FAKE_SET_MAX 8192

struct fake_set {
	pthread_mutex_t lock;
	uint32_t addr[FAKE_SET_MAX];
	uint32_t timeout_s[FAKE_SET_MAX];
	int n;
	int adds, dels;
	int fail_add;         /* next set_add fails with this (negative) */
	uint64_t get_left_ms; /* what set_get answers for present elements */
	int gets;
};

static inline int
fake_set_find(struct fake_set *s, uint32_t addr)
{
	for (int i = 0; i < s->n; i++)
		if (s->addr[i] == addr)
			return i;
	return -1;
}

static inline int
fake_set_add(void *arg, uint32_t addr, uint32_t timeout_s)
{
	struct fake_set *s = arg;
	int i, rc = 0;

	pthread_mutex_lock(&s->lock);
	if (s->fail_add != 0) {
		rc = s->fail_add;
		s->fail_add = 0;
		goto out;
	}
	s->adds++;
	i = fake_set_find(s, addr);
	if (i < 0) {
		if (s->n >= FAKE_SET_MAX) {
			rc = -ENOSPC;
			goto out;
		}
		i = s->n++;
	}
	s->addr[i] = addr;
	s->timeout_s[i] = timeout_s;
out:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static inline int
fake_set_del(void *arg, uint32_t addr)
{
	struct fake_set *s = arg;
	int i, rc = 0;

	pthread_mutex_lock(&s->lock);
	s->dels++;
	i = fake_set_find(s, addr);
	if (i < 0) {
		rc = -ENOENT;
	} else {
		s->addr[i] = s->addr[s->n - 1];
		s->timeout_s[i] = s->timeout_s[s->n - 1];
		s->n--;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static inline int
fake_set_get(void *arg, uint32_t addr, uint64_t *left)
{
	struct fake_set *s = arg;
	int rc;

	pthread_mutex_lock(&s->lock);
	s->gets++;
	rc = fake_set_find(s, addr) < 0 ? -ENOENT : 0;
	*left = s->get_left_ms;
	s->get_left_ms = 0; /* one refresh, then it runs out */
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* Whether addr is in the set and with which timeout (-1: absent). */
static inline long
fake_set_timeout(struct fake_set *s, uint32_t addr)
{
	long t;
	int i;

	pthread_mutex_lock(&s->lock);
	i = fake_set_find(s, addr);
	t = i < 0 ? -1 : (long)s->timeout_s[i];
	pthread_mutex_unlock(&s->lock);
	return t;
}

static inline int
fake_set_count(struct fake_set *s)
{
	int n;

	pthread_mutex_lock(&s->lock);
	n = s->n;
	pthread_mutex_unlock(&s->lock);
	return n;
}

struct fake_aaa_req {
	struct fake_aaa *a;
	uint64_t id;
	aaa_auth_fn fn;
	void *arg;
	struct loop_timer *t;
	enum aaa_result result;
	struct fake_aaa_req *next;
};

struct fake_aaa {
	struct loop *loop;
	pthread_mutex_t lock;
	const char *user, *password; /* the one user it accepts */
	uint32_t delay_ms;
	uint64_t next_id;
	int requests, cancels;
	char last_group[64];
	enum aaa_service last_service;
	uint32_t last_peer;
	bool unavailable;
	struct fake_aaa_req *pending;
};

static inline void
fake_aaa_unlink(struct fake_aaa *a, struct fake_aaa_req *r)
{
	for (struct fake_aaa_req **pp = &a->pending; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			return;
		}
	}
}

static inline void
fake_aaa_fire(struct loop *loop, void *arg)
{
	struct fake_aaa_req *r = arg;
	struct aaa_auth_result res = {.result = r->result};

	snprintf(res.reason, sizeof(res.reason), "%s",
	         r->result == AAA_ACCEPT   ? "accepted"
	         : r->result == AAA_REJECT ? "wrong user name or password"
	                                   : "no server answered");
	snprintf(res.server, sizeof(res.server), "fake");
	fake_aaa_unlink(r->a, r);
	r->fn(r->arg, &res);
	free(r);
}

static inline int
fake_aaa_authenticate(void *arg, const struct aaa_auth_req *req, aaa_auth_fn fn, void *cb_arg,
                      uint64_t *req_id)
{
	struct fake_aaa *a = arg;
	struct fake_aaa_req *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return -ENOMEM;
	pthread_mutex_lock(&a->lock);
	a->requests++;
	snprintf(a->last_group, sizeof(a->last_group), "%s", req->group);
	a->last_service = req->service;
	a->last_peer = req->peer_addr;
	pthread_mutex_unlock(&a->lock);
	r->a = a;
	r->id = ++a->next_id;
	r->fn = fn;
	r->arg = cb_arg;
	if (a->unavailable)
		r->result = AAA_UNAVAILABLE;
	else
		r->result =
		        strcmp(req->user, a->user) == 0 && strcmp(req->password, a->password) == 0
		                ? AAA_ACCEPT
		                : AAA_REJECT;
	r->t = loop_timer_add(a->loop, a->delay_ms, fake_aaa_fire, r);
	if (r->t == NULL) {
		free(r);
		return -ENOMEM;
	}
	r->next = a->pending;
	a->pending = r;
	*req_id = r->id;
	return 0;
}

static inline void
fake_aaa_cancel(void *arg, uint64_t id)
{
	struct fake_aaa *a = arg;

	for (struct fake_aaa_req *r = a->pending; r != NULL; r = r->next) {
		if (r->id == id) {
			fake_aaa_unlink(a, r);
			loop_timer_cancel(a->loop, r->t);
			free(r);
			pthread_mutex_lock(&a->lock);
			a->cancels++;
			pthread_mutex_unlock(&a->lock);
			return;
		}
	}
}

static inline void
fake_hooks(struct uauth_hooks *h, struct fake_set *s, struct fake_aaa *a)
{
	memset(h, 0, sizeof(*h));
	h->set_add = fake_set_add;
	h->set_del = fake_set_del;
	h->set_get = fake_set_get;
	h->set_arg = s;
	h->authenticate = fake_aaa_authenticate;
	h->cancel = fake_aaa_cancel;
	h->aaa_arg = a;
}

#endif
