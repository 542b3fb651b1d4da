/*
 * crypto.c - SHA-256, HMAC, hex, constant-time comparison (OpenSSL).
 */
#include <limits.h>
#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/sha.h>

#include "crypto.h"

/*
 * OpenSSL 3 looks an algorithm up by name (locks, a hash table) on every
 * one-shot call; the hot path fetches SHA-256 and HMAC once and keeps them.
 */
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;
static EVP_MAC *hmac_mac;

static void
fetch_algorithms(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    hmac_mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

struct hg_mac_key {
    EVP_MAC_CTX *ctx; /* keyed; copied for each use, never changed after */
};

size_t
hg_digest_len(enum hg_digest digest)
{
    return digest == HG_DIGEST_SHA1 ? HG_SHA1_LEN : HG_SHA256_LEN;
}

void
hg_sha256(const void *data, size_t len, unsigned char *out)
{
    pthread_once(&fetch_once, fetch_algorithms);
    if (sha256_md == NULL || EVP_Digest(len ? data : "", len, out, NULL, sha256_md, NULL) != 1)
        SHA256(data, len, out);
}

int
hg_secret_prepare(struct hg_secret *secret)
{
    static char sha1[] = "SHA1", sha256[] = "SHA256";
    char *const names[2] = {sha1, sha256};

    pthread_once(&fetch_once, fetch_algorithms);
    if (hmac_mac == NULL || secret->len == 0)
        return 0; /* every MAC keys itself then */
    for (int d = 0; d < 2; d++) {
        OSSL_PARAM params[2];
        struct hg_mac_key *k = calloc(1, sizeof *k);

        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, names[d], 0);
        params[1] = OSSL_PARAM_construct_end();
        if (k == NULL || (k->ctx = EVP_MAC_CTX_new(hmac_mac)) == NULL ||
            EVP_MAC_init(k->ctx, secret->bytes, secret->len, params) != 1) {
            if (k)
                EVP_MAC_CTX_free(k->ctx);
            free(k);
            hg_secret_release(secret);
            return -1;
        }
        secret->mac[d] = k;
    }
    return 0;
}

void
hg_secret_release(struct hg_secret *secret)
{
    for (int d = 0; d < 2; d++) {
        if (secret->mac[d]) {
            EVP_MAC_CTX_free(secret->mac[d]->ctx);
            free(secret->mac[d]);
            secret->mac[d] = NULL;
        }
    }
}

/* HMAC with the secret's keyed context, or keyed now when it has none. */
static size_t
secret_hmac(enum hg_digest digest, const struct hg_secret *s, const void *msg, size_t msg_len,
            unsigned char *out)
{
    const struct hg_mac_key *k = s->mac[digest == HG_DIGEST_SHA1 ? 0 : 1];
    EVP_MAC_CTX *ctx;
    size_t out_len = 0;

    if (k == NULL)
        return hg_hmac(digest, s->bytes, s->len, msg, msg_len, out);
    if ((ctx = EVP_MAC_CTX_dup(k->ctx)) == NULL)
        return 0;
    if (EVP_MAC_update(ctx, msg_len ? msg : (const void *)"", msg_len) != 1 ||
        EVP_MAC_final(ctx, out, &out_len, HG_DIGEST_MAX) != 1)
        out_len = 0;
    EVP_MAC_CTX_free(ctx);
    return out_len;
}

size_t
hg_hmac(enum hg_digest digest, const void *key, size_t key_len, const void *msg, size_t msg_len,
        unsigned char *out)
{
    const EVP_MD *md = digest == HG_DIGEST_SHA1 ? EVP_sha1() : EVP_sha256();
    static const unsigned char empty[1];
    unsigned int out_len = 0;

    if (key_len > INT_MAX)
        return 0;
    /* OpenSSL treats a NULL key as "reuse the previous one": never pass NULL. */
    if (HMAC(md, key_len ? key : empty, (int)key_len, msg_len ? msg : empty, msg_len, out,
             &out_len) == NULL)
        return 0;
    return out_len;
}

void
hg_hex_encode(const unsigned char *data, size_t len, char *out)
{
    static const char hex[] = "0123456789abcdef";

    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hex[data[i] >> 4];
        out[2 * i + 1] = hex[data[i] & 15];
    }
    out[2 * len] = '\0';
}

static int
hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int
hg_hex_decode(const char *hex, size_t hex_len, unsigned char *out, size_t out_len)
{
    if (hex_len != 2 * out_len)
        return -1;
    for (size_t i = 0; i < out_len; i++) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);

        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

int
hg_hmac_verify_hex(enum hg_digest digest, const struct hg_secret_list *secrets, const void *msg,
                   size_t msg_len, const char *sig_hex, size_t sig_len)
{
    unsigned char want[HG_DIGEST_MAX], got[HG_DIGEST_MAX];
    size_t dlen = hg_digest_len(digest);
    int match = 0;

    if (secrets == NULL || sig_hex == NULL || hg_hex_decode(sig_hex, sig_len, want, dlen) != 0)
        return 0;
    for (size_t i = 0; i < secrets->count; i++) {
        const struct hg_secret *s = &secrets->items[i];

        if (secret_hmac(digest, s, msg, msg_len, got) != dlen)
            continue;
        match |= CRYPTO_memcmp(want, got, dlen) == 0;
    }
    OPENSSL_cleanse(got, sizeof got);
    return match;
}

int
hg_ct_equal(const void *a, size_t a_len, const void *b, size_t b_len)
{
    unsigned char da[HG_SHA256_LEN], db[HG_SHA256_LEN];
    int equal;

    /* Comparing digests takes the same time whatever the lengths, so not
     * even the length of a secret leaks; the length check decides after. */
    hg_sha256(a_len ? a : "", a_len, da);
    hg_sha256(b_len ? b : "", b_len, db);
    equal = CRYPTO_memcmp(da, db, sizeof da) == 0;
    return equal & (a_len == b_len);
}

static int
b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

long
hg_base64_decode(const char *in, size_t in_len, unsigned char *out, size_t out_size)
{
    size_t o = 0;

    if (in_len % 4 != 0)
        return -1;
    for (size_t i = 0; i < in_len; i += 4) {
        int v[4], pad = 0;

        for (int k = 0; k < 4; k++) {
            if (in[i + k] == '=' && i + 4 == in_len && k >= 2) {
                v[k] = 0;
                pad++;
            } else if (pad || (v[k] = b64_value(in[i + k])) < 0) {
                return -1;
            }
        }
        unsigned long triple = (unsigned long)v[0] << 18 | (unsigned long)v[1] << 12 |
                               (unsigned long)v[2] << 6 | (unsigned long)v[3];
        for (int k = 0; k < 3 - pad; k++) {
            if (o >= out_size)
                return -1;
            out[o++] = (unsigned char)(triple >> (16 - 8 * k));
        }
    }
    return (long)o;
}

long
hg_base64_encode(const void *in, size_t in_len, char *out, size_t out_size)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = in;
    size_t o = 0, need = (in_len + 2) / 3 * 4 + 1;

    if (need > out_size)
        return -1;
    for (size_t i = 0; i < in_len; i += 3) {
        unsigned long v = (unsigned long)p[i] << 16;

        if (i + 1 < in_len)
            v |= (unsigned long)p[i + 1] << 8;
        if (i + 2 < in_len)
            v |= p[i + 2];
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = i + 1 < in_len ? alphabet[v >> 6 & 63] : '=';
        out[o++] = i + 2 < in_len ? alphabet[v & 63] : '=';
    }
    out[o] = '\0';
    return (long)o;
}
