/* libFuzzer harness for ESP input: the decapsulation path of the tun backend (SPI lookup, length
 * validation, replay check, ICV, decryption, padding, next header, inner IPv4 header, selectors)
 * with fixed SAs. Includes the sources so the static functions are fuzzed too.
 *
 * The first byte picks the mode:
 *   0: the rest is an ESP packet (SPI to ICV), fed as received (SPI 0x100 is AES-128-CBC +
 *      HMAC-SHA1-96 on the loop thread, 0x200 DES-CBC without integrity on a worker thread, so
 *      garbage reaches the trailer checks);
 *   1: the rest is sequence number (4 bytes) + plaintext payload (inner packet, padding, pad
 *      length, next header, as the fuzzer wrote them), which the harness encrypts and signs with
 *      SA 0x100's keys, so the post-ICV parsers see fuzzer-chosen plaintext;
 *   2: the rest goes to the UDP 4500 classifier and the IPv4 header validator;
 *   3: the rest is a packet "read from the TUN device": outbound validation, route lookup
 *      (10.2.0.0/16 via SA 0x100, 10.2.0.2/32 via SA 0x200), selectors, encapsulation; the send
 *      fails on purpose (the "socket" is /dev/null), so nothing leaves the process;
 *   4: the rest is decrypted packets for the TUN writes' segment joining (tun_gro): each a
 *      byte of flags (bit 0: fix up the IPv4 header and TCP checksums so the joining rules, not
 *      the checksum, decide; bit 1: the other SA), a length byte, then the packet; flushed at
 *      the end. Writes go to /dev/null. */
#include "gateway/ipsec/esp.c"
#include "gateway/ipsec/tun.c"

#include <fcntl.h>

#include <openssl/hmac.h>

static const uint8_t key_a[16] = "fuzz-aes-key-16b";
static const uint8_t akey_a[20] = "fuzz-hmac-sha1-key20";
static const uint8_t key_b[8] = "des-key8";

static struct tun_be *fbe;

static struct tun_sa *
fake_sa(uint32_t spi, enum ipsec_enc enc, enum ipsec_auth auth, const uint8_t *k, size_t klen,
        const uint8_t *ak, size_t aklen)
{
	struct ipsec_sa_params p = {.enc = enc, .auth = auth};
	struct tun_sa *sa;
	unsigned b;

	p.in.spi = spi;
	p.in.enc_key_len = klen;
	memcpy(p.in.enc_key, k, klen);
	p.in.auth_key_len = aklen;
	memcpy(p.in.auth_key, ak, aklen);
	p.out = p.in;
	p.out.spi = spi + 1;
	p.udp_encap = true;
	p.peer.sin_family = AF_INET;
	p.peer.sin_port = htons(4500);
	p.peer.sin_addr.s_addr = htonl(0x7f000001);
	p.remote_ts[0] = (struct ipsec_prefix){0x0a020000, 16};
	p.n_remote_ts = 1;
	p.local_ts[0] = (struct ipsec_prefix){0, 0};
	p.n_local_ts = 1;
	sa = sa_alloc(fbe, &p);
	if (sa == NULL || esp_sa_new(enc, auth, &p.in, false, 64, &sa->in) < 0 ||
	    esp_sa_new(enc, auth, &p.out, true, 0, &sa->out) < 0)
		abort();
	sa->handle = ++fbe->next_handle;
	sa->next = fbe->sas;
	fbe->sas = sa;
	b = hash32(spi) & (TUN_SPI_BUCKETS - 1);
	sa->spi_next = fbe->spi_hash[b];
	fbe->spi_hash[b] = sa;
	fbe->n_sas++;
	return sa;
}

/* A route entry as route_ref() would make it, without the kernel. */
static void
fake_route(struct tun_sa *sa, uint32_t addr, uint8_t plen)
{
	struct tun_route *r = calloc(1, sizeof(*r)), **head;

	if (r == NULL)
		abort();
	r->addr = addr;
	r->plen = plen;
	r->refs = 1;
	r->sa = sa;
	head = route_head(fbe, addr, plen);
	r->next = *head;
	*head = r;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_set_all_levels(LOG_LVL_ERROR);
	struct tun_sa *sa_b;

	fbe = calloc(1, sizeof(*fbe));
	if (fbe == NULL)
		abort();
	fbe->be.ops = &tun_ops;
	fbe->be.natt_fd = -1;
	fbe->raw_fd = -1;
	fbe->tun_fd = open("/dev/null", O_WRONLY | O_CLOEXEC); /* "writes to the TUN" */
	snprintf(fbe->ifname, sizeof(fbe->ifname), "fuzz");
	fbe->slots = calloc(TUN_OUT_BATCH, TUN_OUT_SLOT);
	if (fbe->slots == NULL)
		abort();
	fbe->be.natt_fd = open("/dev/null", O_WRONLY | O_CLOEXEC); /* sendmmsg fails: ENOTSOCK */
	/* the loop is never run: the one flush timer esp_input() may add just stays */
	if (loop_new(&fbe->be.loop) < 0)
		abort();
	fbe->part0.t = fbe;
	if (tun_gro_init(&fbe->part0.gro, fbe->tun_fd, gro_write_failed, &fbe->part0) < 0)
		abort();
	fbe->part0.gro_ok = true;
	/* one worker thread: SA 0x200's packets go through it, as on a gateway with 2 CPUs */
	fbe->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fbe->efd < 0 || worker_new(fbe, 1, &fbe->workers[0]) < 0)
		abort();
	fbe->nworkers = 1;
	fake_route(
	        fake_sa(0x100, IPSEC_ENC_AES_CBC, IPSEC_AUTH_HMAC_SHA1_96, key_a, 16, akey_a, 20),
	        0x0a020000, 16);
	sa_b = fake_sa(0x200, IPSEC_ENC_DES, IPSEC_AUTH_NONE, key_b, 8, akey_a, 0);
	sa_b->thread = 1;
	fake_route(sa_b, 0x0a020002, 32);
	return 0;
}

/* Mode 1: SPI 0x100 | seq | IV | E(plaintext) | ICV, built independently of esp_encap(). */
static size_t
seal(const uint8_t *data, size_t size, uint8_t *out, size_t cap)
{
	uint8_t iv[16] = {0};
	size_t plen;
	unsigned int ml = 0;
	int outl = 0;
	EVP_CIPHER_CTX *c;

	if (size < 4)
		return 0;
	plen = (size - 4) & ~(size_t)15;
	if (plen == 0 || 24 + plen + 20 > cap)
		return 0;
	ipsec_put_be32(out, 0x100);
	memcpy(out + 4, data, 4);
	memcpy(out + 8, iv, 16);
	memcpy(out + 24, data + 4, plen);
	c = EVP_CIPHER_CTX_new();
	if (c == NULL || !EVP_EncryptInit_ex(c, EVP_aes_128_cbc(), NULL, key_a, iv) ||
	    !EVP_CIPHER_CTX_set_padding(c, 0) ||
	    !EVP_EncryptUpdate(c, out + 24, &outl, out + 24, (int)plen))
		abort();
	EVP_CIPHER_CTX_free(c);
	if (HMAC(EVP_sha1(), akey_a, 20, out, 24 + plen, out + 24 + plen, &ml) == NULL)
		abort();
	return 24 + plen + 12;
}

static uint32_t
fsum(const uint8_t *p, size_t n, uint32_t s)
{
	for (; n > 1; p += 2, n -= 2)
		s += (uint32_t)p[0] << 8 | p[1];
	if (n == 1)
		s += (uint32_t)p[0] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

/* Mode 4 (see the top). */
static void
gro_input(const uint8_t *d, size_t n, uint8_t *buf, size_t cap)
{
	while (n >= 2) {
		uint8_t flags = d[0], *p = buf + TUN_GRO_HDR_LEN;
		size_t len = d[1] < n - 2 ? d[1] : n - 2;

		if (TUN_GRO_HDR_LEN + len > cap)
			break;
		memcpy(p, d + 2, len);
		d += 2 + len;
		n -= 2 + len;
		if ((flags & 1) && len >= 40) {
			size_t ihl = (size_t)(p[0] & 0x0f) * 4;

			p[2] = (uint8_t)(len >> 8);
			p[3] = (uint8_t)len;
			p[9] = 6;
			if (ihl >= 20 && len >= ihl + 20) {
				uint32_t ps = fsum(p + 12, 8, 0) + 6 + (uint32_t)(len - ihl);
				uint16_t c;

				p[ihl + 16] = p[ihl + 17] = 0;
				c = (uint16_t)~fsum(p + ihl, len - ihl, ps);
				p[ihl + 16] = (uint8_t)(c >> 8);
				p[ihl + 17] = (uint8_t)c;
			}
		}
		tun_gro_input(&fbe->part0.gro, (flags & 2) ? (void *)fbe->sas : (void *)fbe, p,
		              len);
	}
	tun_gro_flush(&fbe->part0.gro);
	wfail_drain(fbe, &fbe->part0);
}

/* Hands the worker what was queued for it, waits until it is done, and counts it. */
static void
settle(void)
{
	ipsec_tun_settle(&fbe->be);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pkt[4096];
	struct ip4_hdr h;
	size_t len;

	if (size < 1 || size - 1 > sizeof(pkt) - 64)
		return 0;
	/* A fresh window per input keeps runs reproducible. */
	for (struct tun_sa *sa = fbe->sas; sa != NULL; sa = sa->next)
		esp_replay_init(sa->in->replay, sa->in->replay->window);
	switch (data[0] % 5) {
	case 0:
		memcpy(fbe->buf + ESP_HEADROOM, data + 1, size - 1);
		esp_input(fbe, fbe->buf + ESP_HEADROOM, size - 1, 0x7f000001);
		settle();
		break;
	case 4:
		gro_input(data + 1, size - 1, pkt, sizeof(pkt));
		break;
	case 1:
		len = seal(data + 1, size - 1, pkt, sizeof(pkt));
		if (len > 0) {
			struct sockaddr_in from = {.sin_family = AF_INET};

			tun_udp_input(&fbe->be, pkt, len, &from, NULL);
			tun_input_done(&fbe->be);
			settle();
		}
		break;
	case 3:
		if (size - 1 <= TUN_OUT_SLOT - ESP_HEADROOM - ESP_TAILROOM) {
			int nq = 0;

			memcpy(fbe->slots + ESP_HEADROOM, data + 1, size - 1);
			outbound_one(fbe, fbe->slots, size - 1, &nq);
			outbound_flush(fbe, nq);
			settle();
		}
		break;
	default:
		(void)esp_udp_classify(data + 1, size - 1);
		if (ip4_validate(data + 1, size - 1, &h) == 0 &&
		    (h.tot > size - 1 || h.ihl_bytes < 20))
			abort();
		break;
	}
	return 0;
}
