/* RADIUS request attribute lists, built with radcli's rc_avpair_add(). */
#include "gateway/aaa/radius_attrs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int
add(rc_handle *rh, VALUE_PAIR **list, int attr, const void *val, int len, const char *name,
    char *err, size_t errlen)
{
	if (rc_avpair_add(rh, list, attr, val, len, 0) == NULL) {
		snprintf(err, errlen, "rc_avpair_add %s failed", name);
		return -EINVAL;
	}
	return 0;
}

static int
add_u32(rc_handle *rh, VALUE_PAIR **list, int attr, uint32_t v, const char *name, char *err,
        size_t errlen)
{
	return add(rh, list, attr, &v, 0, name, err, errlen);
}

static int
add_str(rc_handle *rh, VALUE_PAIR **list, int attr, const char *s, const char *name, char *err,
        size_t errlen)
{
	return add(rh, list, attr, s, -1, name, err, errlen);
}

static const struct {
	const char *name;
	uint32_t value;
} causes[] = {
        {"user-request", 1},    {"lost-carrier", 2},    {"lost-service", 3},
        {"idle-timeout", 4},    {"session-timeout", 5}, {"admin-reset", 6},
        {"admin-reboot", 7},    {"port-error", 8},      {"nas-error", 9},
        {"nas-request", 10},    {"nas-reboot", 11},     {"port-unneeded", 12},
        {"port-preempted", 13}, {"port-suspended", 14}, {"service-unavailable", 15},
        {"callback", 16},       {"user-error", 17},     {"host-request", 18},
};

uint32_t
radius_terminate_cause(const char *name)
{
	for (size_t i = 0; i < sizeof(causes) / sizeof(causes[0]); i++)
		if (strcmp(causes[i].name, name) == 0)
			return causes[i].value;
	return 0;
}

int
radius_build_acct(rc_handle *rh, const struct aaa_acct_record *rec, uint32_t nas_addr,
                  VALUE_PAIR **out, char *err, size_t errlen)
{
	VALUE_PAIR *l = NULL;
	uint32_t status, framed = 0;
	struct in_addr ia;
	int64_t delay = ((int64_t)time(NULL) * 1000 - rec->created_at_ms) / 1000;
	int rc;

	*out = NULL;
	status = rec->type == AAA_ACCT_START  ? PW_STATUS_START
	         : rec->type == AAA_ACCT_STOP ? PW_STATUS_STOP
	                                      : PW_STATUS_ALIVE;
	rc = add_u32(rh, &l, PW_ACCT_STATUS_TYPE, status, "Acct-Status-Type", err, errlen);
	if (rc == 0)
		rc = add_str(rh, &l, PW_ACCT_SESSION_ID, rec->session_id, "Acct-Session-Id", err,
		             errlen);
	if (rc == 0)
		rc = add_str(rh, &l, PW_USER_NAME, rec->user, "User-Name", err, errlen);
	if (rc == 0 && nas_addr != 0)
		rc = add_u32(rh, &l, PW_NAS_IP_ADDRESS, nas_addr, "NAS-IP-Address", err, errlen);
	if (rc == 0)
		rc = add_u32(rh, &l, PW_NAS_PORT_TYPE, PW_VIRTUAL, "NAS-Port-Type", err, errlen);
	if (rc == 0)
		rc = add_u32(rh, &l, PW_ACCT_AUTHENTIC, PW_RADIUS, "Acct-Authentic", err, errlen);
	if (rc == 0 && rec->peer_addr[0] != '\0')
		rc = add_str(rh, &l, PW_CALLING_STATION_ID, rec->peer_addr, "Calling-Station-Id",
		             err, errlen);
	if (rc == 0 && rec->caller_addr[0] != '\0' &&
	    inet_pton(AF_INET, rec->caller_addr, &ia) == 1) {
		framed = ntohl(ia.s_addr);
		rc = add_u32(rh, &l, PW_FRAMED_IP_ADDRESS, framed, "Framed-IP-Address", err,
		             errlen);
	}
	if (rc == 0)
		rc = add_u32(rh, &l, PW_ACCT_DELAY_TIME, delay > 0 ? (uint32_t)delay : 0,
		             "Acct-Delay-Time", err, errlen);
	if (rc == 0 && rec->type != AAA_ACCT_START) {
		rc = add_u32(rh, &l, PW_ACCT_SESSION_TIME, (uint32_t)rec->elapsed_s,
		             "Acct-Session-Time", err, errlen);
		if (rc == 0)
			rc = add_u32(rh, &l, PW_ACCT_INPUT_OCTETS, (uint32_t)rec->bytes_in,
			             "Acct-Input-Octets", err, errlen);
		if (rc == 0)
			rc = add_u32(rh, &l, PW_ACCT_OUTPUT_OCTETS, (uint32_t)rec->bytes_out,
			             "Acct-Output-Octets", err, errlen);
		if (rc == 0 && rec->bytes_in >> 32)
			rc = add_u32(rh, &l, PW_ACCT_INPUT_GIGAWORDS,
			             (uint32_t)(rec->bytes_in >> 32), "Acct-Input-Gigawords", err,
			             errlen);
		if (rc == 0 && rec->bytes_out >> 32)
			rc = add_u32(rh, &l, PW_ACCT_OUTPUT_GIGAWORDS,
			             (uint32_t)(rec->bytes_out >> 32), "Acct-Output-Gigawords", err,
			             errlen);
		if (rc == 0)
			rc = add_u32(rh, &l, PW_ACCT_INPUT_PACKETS, (uint32_t)rec->packets_in,
			             "Acct-Input-Packets", err, errlen);
		if (rc == 0)
			rc = add_u32(rh, &l, PW_ACCT_OUTPUT_PACKETS, (uint32_t)rec->packets_out,
			             "Acct-Output-Packets", err, errlen);
	}
	if (rc == 0 && rec->type == AAA_ACCT_STOP) {
		uint32_t cause = radius_terminate_cause(rec->terminate_cause);

		rc = add_u32(rh, &l, PW_ACCT_TERMINATE_CAUSE, cause != 0 ? cause : 1,
		             "Acct-Terminate-Cause", err, errlen);
	}
	if (rc < 0) {
		rc_avpair_free(l);
		return rc;
	}
	*out = l;
	return 0;
}
