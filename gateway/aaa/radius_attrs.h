/* RADIUS attribute lists for Access-Request and Accounting-Request (radcli VALUE_PAIR lists),
 * separate from the exchange so that unit tests can check them without a server. */
#ifndef PORTCULLIS_AAA_RADIUS_ATTRS_H
#define PORTCULLIS_AAA_RADIUS_ATTRS_H

#include <radcli/radcli.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/aaa/aaa_attempt.h"

struct radius_auth_attrs {
	const char *user;
	const char *password;
	uint32_t nas_addr;    /* host order; 0: left out */
	uint32_t peer_addr;   /* Calling-Station-Id, dotted quad; 0: left out */
	uint32_t framed_addr; /* 0: left out */
};

/* Access-Request (PAP): User-Name, User-Password, NAS-IP-Address, NAS-Port-Type Virtual,
 * Service-Type Login, Calling-Station-Id, Framed-IP-Address, Message-Authenticator. */
int radius_build_auth(rc_handle *rh, const struct radius_auth_attrs *a, VALUE_PAIR **out, char *err,
                      size_t errlen);
/* Accounting-Request: Acct-Status-Type, Acct-Session-Id, User-Name, NAS-IP-Address,
 * NAS-Port-Type, Calling-Station-Id, Framed-IP-Address, Acct-Authentic, Acct-Delay-Time and for
 * Stop/Interim Acct-Session-Time, -Input/-Output-Octets, -Gigawords, -Packets,
 * Acct-Terminate-Cause (Stop). */
int radius_build_acct(rc_handle *rh, const struct aaa_acct_record *rec, uint32_t nas_addr,
                      VALUE_PAIR **out, char *err, size_t errlen);
/* Frees a list that may hold User-Password, wiping values first. */
void radius_pairs_free(VALUE_PAIR *vp);
/* Acct-Terminate-Cause number for a cause name ("user-request", "idle-timeout", ...); 0 if
 * unknown. */
uint32_t radius_terminate_cause(const char *name);
/* A fresh handle with the dictionary loaded, for srv (radius_client.c). */
int radius_handle_new(const struct aaa_server_cfg *srv, rc_handle **out, char *err, size_t errlen);

#endif
