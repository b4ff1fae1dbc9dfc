/* Micro-benchmark of the ESP transform: packets per second and Gbit/s of inner traffic for
 * esp_encap() and esp_decap() per algorithm pair, one core, in place, no I/O.
 * Build (from the source root, against a release build of the library):
 *   cmake -S . -B build/rel -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=clang
 *   cmake --build build/rel -j2 --target portcullis_lib
 *   clang -O2 -D_GNU_SOURCE -I. bench/esp_bench.c build/rel/libportcullis_lib.a \
 *         -lcrypto -lmnl -o build/rel/esp_bench
 *   build/rel/esp_bench [packet_size] [seconds_per_case] [only_alg_substring]
 * Then prints the heap (ours and OpenSSL's) one SA pair takes per algorithm pair. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "gateway/ipsec/esp.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct pair {
	const char *name;
	enum ipsec_enc enc;
	size_t ek;
	enum ipsec_auth auth;
	size_t ak;
};

/* Heap bytes (ours and OpenSSL's, glibc mallinfo2) per SA pair of one algorithm pair: n inbound
 * and n outbound SAs created, measured, freed. */
static int
mem_per_pair(const struct pair *p, int n, double *bytes)
{
	struct esp_sa **sas = calloc((size_t)n * 2, sizeof(*sas));
	struct ipsec_keys k = {.enc_key_len = p->ek, .auth_key_len = p->ak};
	size_t before, after;

	if (sas == NULL)
		return -1;
	RAND_bytes(k.enc_key, sizeof(k.enc_key));
	RAND_bytes(k.auth_key, sizeof(k.auth_key));
	before = mallinfo2().uordblks;
	for (int i = 0; i < n * 2; i++) {
		k.spi = 0x1000 + (uint32_t)i;
		if (esp_sa_new(p->enc, p->auth, &k, i % 2 == 0, 64, &sas[i]) < 0)
			return -1;
	}
	after = mallinfo2().uordblks;
	for (int i = 0; i < n * 2; i++)
		esp_sa_free(sas[i]);
	free(sas);
	*bytes = (double)(after - before) / n;
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct pair pairs[] = {
	        {"des/md5", IPSEC_ENC_DES, 8, IPSEC_AUTH_HMAC_MD5_96, 16},
	        {"3des/sha1", IPSEC_ENC_3DES, 24, IPSEC_AUTH_HMAC_SHA1_96, 20},
	        {"aes128/sha1", IPSEC_ENC_AES_CBC, 16, IPSEC_AUTH_HMAC_SHA1_96, 20},
	        {"aes256/sha256", IPSEC_ENC_AES_CBC, 32, IPSEC_AUTH_HMAC_SHA256_128, 32},
	        {"aes128/none", IPSEC_ENC_AES_CBC, 16, IPSEC_AUTH_NONE, 0},
	        {"null/sha1", IPSEC_ENC_NULL, 0, IPSEC_AUTH_HMAC_SHA1_96, 20},
	};
	size_t size = argc > 1 ? (size_t)atoi(argv[1]) : 1400;
	double secs = argc > 2 ? atof(argv[2]) : 1.0;
	const char *only = argc > 3 ? argv[3] : NULL;
	static uint8_t buf[ESP_HEADROOM + 65536 + ESP_TAILROOM], pkt[sizeof(buf)];

	if (size < 20 || size > 65535)
		return 2;
	printf("%-14s %8s %12s %10s %12s %10s\n", "alg", "size", "encap pps", "Gbit/s", "decap pps",
	       "Gbit/s");
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		const struct pair *p = &pairs[i];
		struct ipsec_keys k = {.spi = 0x1000, .enc_key_len = p->ek, .auth_key_len = p->ak};
		struct esp_sa *out, *in;
		size_t off, len, ioff, ilen, plen = 0;
		enum esp_drop why;
		double t0, te, td;
		unsigned long n = 0, m = 0;

		if (only != NULL && strstr(p->name, only) == NULL)
			continue;
		RAND_bytes(k.enc_key, sizeof(k.enc_key));
		RAND_bytes(k.auth_key, sizeof(k.auth_key));
		if (esp_sa_new(p->enc, p->auth, &k, true, 0, &out) < 0 ||
		    esp_sa_new(p->enc, p->auth, &k, false, 0, &in) < 0)
			return 1;
		memset(buf, 0x45, sizeof(buf));
		t0 = now_s();
		do {
			for (int j = 0; j < 1000; j++, n++)
				if (esp_encap(out, buf, sizeof(buf), ESP_HEADROOM, size, &off, &len,
				              &why) < 0)
					return 1;
			te = now_s() - t0;
		} while (te < secs);
		/* Decap needs a fresh copy each time (it decrypts in place); the copy is timed
		 * too, as the real path copies from the socket buffer. Anti-replay is off. */
		memcpy(pkt, buf + off, len);
		plen = len;
		t0 = now_s();
		do {
			for (int j = 0; j < 1000; j++, m++) {
				memcpy(buf, pkt, plen);
				if (esp_decap(in, buf, plen, &ioff, &ilen, &why) < 0)
					return 1;
			}
			td = now_s() - t0;
		} while (td < secs);
		printf("%-14s %8zu %12.0f %10.2f %12.0f %10.2f\n", p->name, size, n / te,
		       n / te * size * 8 / 1e9, m / td, m / td * size * 8 / 1e9);
		esp_sa_free(out);
		esp_sa_free(in);
	}
	printf("\nheap per SA pair (esp_sa_new() in + out, including OpenSSL's contexts, 1000 "
	       "pairs)\n");
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		double b;

		if (only != NULL && strstr(pairs[i].name, only) == NULL)
			continue;
		if (mem_per_pair(&pairs[i], 1000, &b) < 0)
			return 1;
		printf("%-14s %8.0f bytes\n", pairs[i].name, b);
	}
	return 0;
}
