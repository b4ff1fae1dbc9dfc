/* The responder's exchanges as a table: every message it accepts, the exchange it belongs to,
 * and the payloads it must carry (the first payload, where fixed, is checked too). The handlers
 * in ike_aggr.c, ike_main.c, ike_cfg.c, ike_quick.c and ike_info.c call ike_step_check() before
 * interpreting a message, so a missing payload is always rejected the same way: with
 * PAYLOAD_MALFORMED and "<step> lacks <payload>".
 *
 *   responder step   exchange      in (required)          out
 *   AM1 -> AM2       Aggressive    SA KE Ni ID            SA KE Nr IDir HASH_R [VID NAT-D N]
 *   AM3              Aggressive    HASH_I [N NAT-D]       (phase 1 done)
 *   MM1 -> MM2       Main          SA                     SA [VID N]
 *   MM3 -> MM4       Main          KE Ni [NAT-D]          KE Nr [NAT-D]
 *   MM5 -> MM6       Main          IDii HASH_I [N]        IDir HASH_R
 *   TRANS            Transaction   HASH ATTR              HASH ATTR (REQUEST/REPLY/SET/ACK)
 *   QM1 -> QM2       Quick         HASH(1) SA Ni [KE ID]  HASH(2) SA Nr [KE ID N]
 *   QM3              Quick         HASH(3)                (IPsec SAs installed)
 *   INFO             Informational HASH (N|D)...          [HASH N] (DPD ACK)
 */
#include "gateway/ike/ike_int.h"

#define NEED(t) (1ull << (t))

const struct ike_step ike_steps[STEP_COUNT] = {
        [STEP_AM1] = {IKE_EX_AGGR, "Aggressive Mode message 1",
                      NEED(IKE_PL_SA) | NEED(IKE_PL_KE) | NEED(IKE_PL_NONCE) | NEED(IKE_PL_ID),
                      IKE_PL_NONE},
        [STEP_AM3] = {IKE_EX_AGGR, "Aggressive Mode message 3", NEED(IKE_PL_HASH), IKE_PL_NONE},
        [STEP_MM1] = {IKE_EX_MAIN, "Main Mode message 1", NEED(IKE_PL_SA), IKE_PL_NONE},
        [STEP_MM3] = {IKE_EX_MAIN, "Main Mode message 3", NEED(IKE_PL_KE) | NEED(IKE_PL_NONCE),
                      IKE_PL_NONE},
        [STEP_MM5] = {IKE_EX_MAIN, "Main Mode message 5", NEED(IKE_PL_ID) | NEED(IKE_PL_HASH),
                      IKE_PL_NONE},
        [STEP_TRANS] = {IKE_EX_TRANSACTION, "transaction message",
                        NEED(IKE_PL_HASH) | NEED(IKE_PL_ATTR), IKE_PL_HASH},
        [STEP_QM1] = {IKE_EX_QUICK, "Quick Mode message 1",
                      NEED(IKE_PL_HASH) | NEED(IKE_PL_SA) | NEED(IKE_PL_NONCE), IKE_PL_HASH},
        [STEP_QM3] = {IKE_EX_QUICK, "Quick Mode message 3", NEED(IKE_PL_HASH), IKE_PL_HASH},
        [STEP_INFO] = {IKE_EX_INFO, "informational message", NEED(IKE_PL_HASH), IKE_PL_HASH},
};

static const char *
pl_name(int t)
{
	switch (t) {
	case IKE_PL_SA:
		return "SA";
	case IKE_PL_KE:
		return "KE";
	case IKE_PL_ID:
		return "ID";
	case IKE_PL_HASH:
		return "HASH";
	case IKE_PL_NONCE:
		return "Nonce";
	case IKE_PL_ATTR:
		return "Attribute";
	}
	return "a required";
}

int
ike_step_check(enum ike_step_id id, const struct ike_msg *m, struct ike_perr *e)
{
	const struct ike_step *st = &ike_steps[id];
	uint64_t have = 0;

	for (int i = 0; i < m->n; i++)
		if (m->pl[i].type < 64)
			have |= NEED(m->pl[i].type);
	for (int t = 0; t < 64; t++)
		if ((st->need & NEED(t)) && !(have & NEED(t)))
			return ike_perr_set(e, IKE_N_PAYLOAD_MALFORMED, "%s lacks the %s payload",
			                    st->name, pl_name(t));
	if (st->first != IKE_PL_NONE && (m->n == 0 || m->pl[0].type != st->first))
		return ike_perr_set(e, IKE_N_INVALID_PAYLOAD_TYPE,
		                    "%s: first payload is type %u (expected %s)", st->name,
		                    m->n > 0 ? m->pl[0].type : 0, pl_name(st->first));
	return 0;
}
