/* Informational exchanges: notifies (plain before phase 1 keys, else encrypted with
 * HASH = prf(SKEYID_a, M-ID | N/D)), DELETE for IKE and ESP SAs, DPD R-U-THERE / ACK (RFC 3706). */
#include "gateway/ike/ike_int.h"
#include "gateway/core/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

/* The names of the error notifies this responder sends unencrypted (for the log). */
static const char *
notify_name(uint16_t type)
{
	switch (type) {
	case IKE_N_INVALID_PAYLOAD_TYPE:
		return "INVALID_PAYLOAD_TYPE";
	case IKE_N_INVALID_EXCHANGE_TYPE:
		return "INVALID_EXCHANGE_TYPE";
	case IKE_N_INVALID_FLAGS:
		return "INVALID_FLAGS";
	case IKE_N_INVALID_MESSAGE_ID:
		return "INVALID_MESSAGE_ID";
	case IKE_N_ATTRIBUTES_NOT_SUPPORTED:
		return "ATTRIBUTES_NOT_SUPPORTED";
	case IKE_N_NO_PROPOSAL_CHOSEN:
		return "NO_PROPOSAL_CHOSEN";
	case IKE_N_BAD_PROPOSAL_SYNTAX:
		return "BAD_PROPOSAL_SYNTAX";
	case IKE_N_PAYLOAD_MALFORMED:
		return "PAYLOAD_MALFORMED";
	case IKE_N_INVALID_KEY_INFORMATION:
		return "INVALID_KEY_INFORMATION";
	case IKE_N_INVALID_ID_INFORMATION:
		return "INVALID_ID_INFORMATION";
	case IKE_N_INVALID_HASH_INFORMATION:
		return "INVALID_HASH_INFORMATION";
	case IKE_N_AUTHENTICATION_FAILED:
		return "AUTHENTICATION_FAILED";
	default:
		return "notify";
	}
}

void
ike_info_notify_plain(struct ike *ike, const struct ike_hdr *h, bool natt,
                      const struct sockaddr_in *to, uint16_t type)
{
	struct ike_wbuf *w;
	uint32_t mid;
	size_t off;
	char p[32];

	if (type == 0)
		return;
	ike_peer_str(to, p, sizeof(p));
	log_info(LOG_IKE, "%s: sending notify %s (%u)", p, notify_name(type), type);
	w = malloc(sizeof(*w));
	if (w == NULL)
		return;
	ike_rand(&mid, sizeof(mid));
	ike_w_hdr(w, h->icookie, h->rcookie, IKE_EX_INFO, 0, mid);
	off = ike_w_pl_begin(w, IKE_PL_N);
	ike_w_u32(w, 1);
	ike_w_u8(w, 1);
	ike_w_u8(w, 0);
	ike_w_u16(w, type);
	ike_w_pl_end(w, off);
	ike_w_finish(w);
	if (!w->err)
		ike_msg_send_raw(ike, natt, to, w->buf, w->len);
	free(w);
}

/* Sends one encrypted informational message whose single payload the caller wrote into pl. */
static void
send_info(struct ike_sa *sa, uint8_t type, const struct ike_wbuf *pl)
{
	struct ike_wbuf *w = malloc(sizeof(*w));
	uint32_t mid;
	size_t hoff, off;

	if (w == NULL)
		return;
	mid = ike_new_mid(sa);
	hoff = ike_msg_begin_hashed(sa, w, IKE_EX_INFO, mid);
	off = ike_w_pl_begin(w, type);
	ike_w_bytes(w, pl->buf, pl->len);
	ike_w_pl_end(w, off);
	if (ike_msg_fill_hash(sa, w, hoff, mid, NULL, 0) == 0) {
		/* keep the reply cache: informational messages are not answers */
		uint8_t *save = sa->last_out;
		size_t save_len = sa->last_out_len;

		sa->last_out = NULL;
		sa->last_out_len = 0;
		ike_msg_encrypt_send(sa, w, false);
		free(sa->last_out);
		sa->last_out = save;
		sa->last_out_len = save_len;
	}
	ike_xchg_drop(sa, mid);
	free(w);
}

void
ike_info_notify(struct ike_sa *sa, uint16_t type, uint8_t proto, const uint8_t *spi, size_t spi_len,
                const uint8_t *data, size_t data_len)
{
	struct ike_wbuf *pl;

	if (ike_sa_half_open(sa) || sa->hlen == 0) {
		struct ike_hdr h;

		memcpy(h.icookie, sa->ci, 8);
		memcpy(h.rcookie, sa->cr, 8);
		ike_info_notify_plain(sa->ike, &h, sa->natt, &sa->peer, type);
		return;
	}
	pl = malloc(sizeof(*pl));
	if (pl == NULL)
		return;
	pl->len = 0;
	pl->err = false;
	ike_w_u32(pl, 1);
	ike_w_u8(pl, proto);
	ike_w_u8(pl, (uint8_t)spi_len);
	ike_w_u16(pl, type);
	ike_w_bytes(pl, spi, spi_len);
	ike_w_bytes(pl, data, data_len);
	if (!pl->err)
		send_info(sa, IKE_PL_N, pl);
	free(pl);
}

void
ike_info_dpd(struct ike_sa *sa, uint16_t type, uint32_t seq)
{
	uint8_t spi[16], d[4] = {(uint8_t)(seq >> 24), (uint8_t)(seq >> 16), (uint8_t)(seq >> 8),
	                         (uint8_t)seq};

	memcpy(spi, sa->ci, 8);
	memcpy(spi + 8, sa->cr, 8);
	ike_info_notify(sa, type, 1, spi, 16, d, 4);
}

void
ike_info_delete_ike(struct ike_sa *sa)
{
	struct ike_wbuf pl;

	pl.len = 0;
	pl.err = false;
	ike_w_u32(&pl, 1);
	ike_w_u8(&pl, 1);
	ike_w_u8(&pl, 16);
	ike_w_u16(&pl, 1);
	ike_w_bytes(&pl, sa->ci, 8);
	ike_w_bytes(&pl, sa->cr, 8);
	send_info(sa, IKE_PL_D, &pl);
}

void
ike_info_delete_esp(struct ike_sa *sa, uint32_t spi_in)
{
	struct ike_wbuf pl;

	pl.len = 0;
	pl.err = false;
	ike_w_u32(&pl, 1);
	ike_w_u8(&pl, 3);
	ike_w_u8(&pl, 4);
	ike_w_u16(&pl, 1);
	ike_w_u32(&pl, spi_in);
	send_info(sa, IKE_PL_D, &pl);
}

void
ike_info_input(struct ike_sa *sa, const struct ike_msg *m, const struct ike_hdr *h)
{
	struct ike_perr e = {0};
	char peer[32];

	ike_peer_str(&sa->peer, peer, sizeof(peer));
	if (ike_step_check(STEP_INFO, m, &e) < 0 ||
	    ike_msg_verify_hash(sa, m, h->msgid, NULL, 0, &e) < 0) {
		/* never answer a bad informational with another one (loops) */
		log_warn(LOG_IKE, "%s: informational dropped: %s", peer, e.msg);
		return;
	}
	for (int i = 1; i < m->n; i++) {
		const struct ike_pl *pl = &m->pl[i];

		if (pl->type == IKE_PL_N) {
			struct ike_notify n;

			if (ike_pld_parse_notify(pl->body, pl->len, &n, &e) < 0) {
				log_warn(LOG_IKE, "%s: informational: %s", peer, e.msg);
				continue;
			}
			if (n.type == IKE_N_R_U_THERE || n.type == IKE_N_R_U_THERE_ACK) {
				uint32_t seq;

				if (n.data_len != 4) {
					log_warn(LOG_IKE,
					         "%s: DPD notify with %zu data bytes (expected 4)",
					         peer, n.data_len);
					continue;
				}
				seq = (uint32_t)n.data[0] << 24 | (uint32_t)n.data[1] << 16 |
				      (uint32_t)n.data[2] << 8 | n.data[3];
				if (n.type == IKE_N_R_U_THERE) {
					log_debug(LOG_IKE, "%s: DPD R-U-THERE %u, sending ACK",
					          peer, seq);
					ike_info_dpd(sa, IKE_N_R_U_THERE_ACK, seq);
				} else if (seq == sa->dpd_seq) {
					log_debug(LOG_IKE, "%s: DPD R-U-THERE-ACK %u", peer, seq);
					sa->dpd_tries = 0;
					sa->dpd_sent_ms = 0;
				}
				continue;
			}
			log_info(LOG_IKE, "%s: informational: notify %u (protocol %u)", peer,
			         n.type, n.proto);
			continue;
		}
		if (pl->type == IKE_PL_D) {
			struct ike_delete d;

			if (ike_pld_parse_delete(pl->body, pl->len, &d, &e) < 0) {
				log_warn(LOG_IKE, "%s: informational: %s", peer, e.msg);
				continue;
			}
			if (d.proto == 1) {
				log_info(LOG_IKE, "%s: peer deleted the IKE SA", peer);
				ike_sa_kill(sa, "peer delete", false);
				return;
			}
			if (d.proto == 3 && d.spi_size == 4) {
				for (unsigned k = 0; k < d.nspi; k++) {
					uint32_t spi = (uint32_t)d.spis[k * 4] << 24 |
					               (uint32_t)d.spis[k * 4 + 1] << 16 |
					               (uint32_t)d.spis[k * 4 + 2] << 8 |
					               d.spis[k * 4 + 3];

					for (int c = 0; c < IKE_MAX_CHILDREN; c++)
						if (sa->child[c].used &&
						    sa->child[c].spi_out == spi) {
							log_info(LOG_IKE,
							         "%s: peer deleted IPsec SA spi "
							         "0x%08x",
							         peer, spi);
							ike_child_kill(sa, &sa->child[c],
							               "peer delete");
						}
				}
			}
		}
	}
}
