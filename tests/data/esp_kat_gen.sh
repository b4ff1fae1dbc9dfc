#!/usr/bin/env bash
# Produces the ESP known-answer vectors embedded in tests/unit/esp_test.c, independently of our
# code: the padding is built here by hand (RFC 4303 2.4: 1, 2, 3, ...; pad length; next header
# 4), the payload is encrypted with `openssl enc -nopad` and the ICV computed with
# `openssl dgst -mac HMAC` over SPI | sequence | IV | ciphertext, truncated to 96/128 bits.
# Run once; the output was pasted into the test. Needs the OpenSSL CLI (legacy provider for DES).
set -euo pipefail

# Inner packet: IPv4 ICMP echo request 10.89.129.131 -> 10.89.129.200, 42 bytes.
INNER=4500002a00004000400122d60a5981830a5981c8080075fc12340001506f727463756c6c697320455350
SPI=c0ffee01
SEQ=00000001

hexlen() { echo $((${#1} / 2)); }

vector() { # name cipher keyhex ivhex block digest authkeyhex icvbytes
	local name=$1 cipher=$2 key=$3 iv=$4 block=$5 md=$6 akey=$7 icvlen=$8
	local len pad trailer i ct icv
	len=$(hexlen "$INNER")
	pad=$(((block - (len + 2) % block) % block))
	trailer=""
	for ((i = 1; i <= pad; i++)); do trailer+=$(printf '%02x' "$i"); done
	trailer+=$(printf '%02x' "$pad")04
	if [ "$cipher" = null ]; then # RFC 2410: no IV, payload in clear, 4-byte alignment
		ct=$INNER$trailer
	else
		ct=$(echo -n "$INNER$trailer" | xxd -r -p |
			openssl enc -provider legacy -provider default -"$cipher" -K "$key" -iv "$iv" \
				-nopad | xxd -p | tr -d '\n')
	fi
	icv=$(echo -n "$SPI$SEQ$iv$ct" | xxd -r -p |
		openssl dgst -"$md" -mac HMAC -macopt hexkey:"$akey" -binary | xxd -p | tr -d '\n')
	icv=${icv:0:$((icvlen * 2))}
	echo "$name key=$key iv=$iv akey=$akey"
	echo "  esp=$SPI$SEQ$iv$ct$icv"
}

vector des-md5 des-cbc 0123456789abcdef 1112131415161718 8 md5 \
	000102030405060708090a0b0c0d0e0f 12
vector 3des-sha1 des-ede3-cbc 0123456789abcdeffedcba987654321089abcdef01234567 \
	2122232425262728 8 sha1 0102030405060708090a0b0c0d0e0f1011121314 12
vector aes128-sha1 aes-128-cbc 06a9214036b8a15b512e03d534120006 3dafba429d9eb430b422da802c9fac41 \
	16 sha1 a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3 12
vector aes192-sha256 aes-192-cbc 8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b \
	000102030405060708090a0b0c0d0e0f 16 sha256 \
	4a656665000102030405060708090a0b0c0d0e0f101112131415161718191a1b 16
vector aes256-md5 aes-256-cbc 603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4 \
	f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff 16 md5 0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b 12
vector null-sha256 null "" "" 4 sha256 \
	0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20 16
