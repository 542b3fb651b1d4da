/*
 * crypto.h - digests, HMAC, hex and constant-time comparison (private).
 */
#ifndef HG_CRYPTO_H
#define HG_CRYPTO_H

#include <stddef.h>

#include "hookgate.h"

#define HG_SHA256_LEN 32
#define HG_SHA1_LEN 20
#define HG_DIGEST_MAX 32

enum hg_digest { HG_DIGEST_SHA1, HG_DIGEST_SHA256 };

size_t hg_digest_len(enum hg_digest digest);

/* out must hold HG_SHA256_LEN bytes. */
void hg_sha256(const void *data, size_t len, unsigned char *out);

/* Computes HMAC(key, msg); returns the digest length, 0 on failure. */
size_t hg_hmac(enum hg_digest digest, const void *key, size_t key_len, const void *msg,
               size_t msg_len, unsigned char *out);

/*
 * Keys the secret's HMAC contexts once, so that each verification only copies
 * one (OpenSSL otherwise looks the algorithms up and hashes the key again on
 * every call). Returns 0, or -1 when out of memory. hg_secret_release frees
 * them (the secret's bytes stay).
 */
int hg_secret_prepare(struct hg_secret *secret);
void hg_secret_release(struct hg_secret *secret);

/* Writes 2*len lowercase hex characters and a NUL. */
void hg_hex_encode(const unsigned char *data, size_t len, char *out);

/*
 * Decodes exactly 2*out_len hex characters (either case) from `hex`.
 * Returns 0, or -1 when the length or a character is wrong.
 */
int hg_hex_decode(const char *hex, size_t hex_len, unsigned char *out, size_t out_len);

/*
 * Verifies a hex MAC against every secret in `secrets`: returns 1 when any
 * secret's HMAC over `msg` equals the decoded `sig_hex`, else 0. Every secret
 * is tried (no early exit) and compared with CRYPTO_memcmp.
 */
int hg_hmac_verify_hex(enum hg_digest digest, const struct hg_secret_list *secrets, const void *msg,
                       size_t msg_len, const char *sig_hex, size_t sig_len);

/*
 * Decodes standard base64 (with padding) into out; returns the decoded length,
 * or -1 when the input is malformed or does not fit.
 */
long hg_base64_decode(const char *in, size_t in_len, unsigned char *out, size_t out_size);

/* Encodes standard base64 with padding and a NUL; returns the length or -1. */
long hg_base64_encode(const void *in, size_t in_len, char *out, size_t out_size);

/* Equality of two byte strings in time independent of their contents and lengths. */
int hg_ct_equal(const void *a, size_t a_len, const void *b, size_t b_len);

#endif
