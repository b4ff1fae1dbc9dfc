/* The physical bound on IKE handshakes: how many 1024-bit modular exponentiations (DH group 2,
 * RFC 2409 MODP-1024 prime) OpenSSL does per second on one core, with a full-length (1023-bit)
 * private exponent, or with one of the given length (second argument: 256 is what Portcullis
 * uses, gateway/ike/ike_crypto.c). A responder does two per handshake (its public value and the
 * shared secret). Built and run by bench/dh_bench.sh: cc -O2 bench/dh_bound.c -lcrypto
 *   dh_bound [SECONDS [EXPONENT_BITS]] */
#include <openssl/bn.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static const char modp1024[] = "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1"
                               "29024E088A67CC74020BBEA63B139B22514A08798E3404DD"
                               "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245"
                               "E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
                               "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381"
                               "FFFFFFFFFFFFFFFF";

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 3.0;
	int bits = argc > 2 ? atoi(argv[2]) : 1023;
	BN_CTX *ctx = BN_CTX_new();
	BN_MONT_CTX *mont = BN_MONT_CTX_new();
	BIGNUM *p = NULL, *g = BN_new(), *x = BN_new(), *y = BN_new();
	double t0, t;
	long n = 0;

	if (bits < 64 || bits > 1023) {
		fprintf(stderr, "dh_bound: exponent bits must be 64..1023, got %d\n", bits);
		return 2;
	}
	BN_hex2bn(&p, modp1024);
	BN_set_word(g, 2);
	BN_MONT_CTX_set(mont, p, ctx);
	t0 = now();
	do {
		for (int i = 0; i < 50; i++) {
			BN_rand(x, bits, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY);
			BN_mod_exp_mont_consttime(y, g, x, p, ctx, mont);
			n++;
		}
		t = now() - t0;
	} while (t < secs);
	printf("%.1f\n", (double)n / t);
	BN_free(p);
	BN_free(g);
	BN_free(x);
	BN_free(y);
	BN_MONT_CTX_free(mont);
	BN_CTX_free(ctx);
	return 0;
}
