/* RADIUS attribute lists for Accounting-Request (radcli VALUE_PAIR lists),
 * separate from the exchange so that unit tests can check them without a server. */
#ifndef PORTCULLIS_AAA_RADIUS_ATTRS_H
#define PORTCULLIS_AAA_RADIUS_ATTRS_H

#include <radcli/radcli.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/aaa/aaa_attempt.h"

/* Accounting-Request: Acct-Status-Type, Acct-Session-Id, User-Name, NAS-IP-Address,
 * NAS-Port-Type, Calling-Station-Id, Framed-IP-Address, Acct-Authentic, Acct-Delay-Time and for
 * Stop/Interim Acct-Session-Time, -Input/-Output-Octets, -Gigawords, -Packets,
 * Acct-Terminate-Cause (Stop). */
int radius_build_acct(rc_handle *rh, const struct aaa_acct_record *rec, uint32_t nas_addr,
                      VALUE_PAIR **out, char *err, size_t errlen);
/* Acct-Terminate-Cause number for a cause name ("user-request", "idle-timeout", ...); 0 if
 * unknown. */
uint32_t radius_terminate_cause(const char *name);
/* A fresh handle with the dictionary loaded, for srv (radius_client.c). */
int radius_handle_new(const struct aaa_server_cfg *srv, rc_handle **out, char *err, size_t errlen);

#endif
