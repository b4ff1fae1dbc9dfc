/* libFuzzer harness for the ISAKMP codec: header validation, payload chain validation and every
 * payload interpreter (SA/proposal/transform/attributes, ID, notify, delete, Mode Config
 * attributes). Includes the parser's .c so its static helpers are fuzzed too. */
#include "gateway/ike/ike_pld.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
walk_attrs(const uint8_t *p, size_t len)
{
	struct ike_cur c;
	struct ike_attr a;
	uint64_t v;

	ike_cur_init(&c, p, len);
	while (ike_attr_next(&c, &a, NULL) > 0)
		(void)ike_attr_num(&a, &v);
}

static void
interpret(const struct ike_msg *m)
{
	static struct ike_sa_pl sa;
	struct ike_perr e;

	for (int i = 0; i < m->n; i++) {
		const struct ike_pl *pl = &m->pl[i];

		switch (pl->type) {
		case IKE_PL_SA:
			if (ike_pld_parse_sa(pl->body, pl->len, &sa, &e) == 0)
				for (int x = 0; x < sa.nxf; x++)
					walk_attrs(sa.xf[x].attrs, sa.xf[x].attrs_len);
			break;
		case IKE_PL_ID: {
			struct ike_id id;

			(void)ike_pld_parse_id(pl->body, pl->len, &id, &e);
			break;
		}
		case IKE_PL_N: {
			struct ike_notify n;

			if (ike_pld_parse_notify(pl->body, pl->len, &n, &e) == 0 &&
			    n.type == IKE_N_RESPONDER_LIFETIME)
				walk_attrs(n.data, n.data_len);
			break;
		}
		case IKE_PL_D: {
			struct ike_delete d;

			(void)ike_pld_parse_delete(pl->body, pl->len, &d, &e);
			break;
		}
		case IKE_PL_ATTR: {
			struct ike_cfg_hdr h;

			if (ike_pld_parse_cfg(pl->body, pl->len, &h, &e) == 0)
				walk_attrs(h.attrs, h.attrs_len);
			break;
		}
		default:
			break;
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ike_msg m;
	struct ike_perr e;
	struct ike_hdr h;

	if (ike_pld_validate_hdr(data, size, &h, &e) == 0 &&
	    ike_pld_validate_chain(h.np, data + IKE_HDR_LEN, size - IKE_HDR_LEN,
	                           (h.flags & IKE_FLAG_ENC) != 0, &m, &e) == 0)
		interpret(&m);
	/* the chain walker on its own, with whatever first type the input starts with */
	if (size > 1 && ike_pld_validate_chain(data[0], data + 1, size - 1, true, &m, &e) == 0)
		interpret(&m);
	return 0;
}
