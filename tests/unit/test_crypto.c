/*
 * test_crypto.c - digests, HMAC, hex and constant-time comparison (lib/crypto.h).
 *
 * HMAC vectors are RFC 2202 (HMAC-SHA1) and RFC 4231 (HMAC-SHA256); SHA-256
 * vectors are FIPS 180-2's examples. Expected values are compared through
 * the test's own hex encoder, so a broken hg_hex_encode cannot hide a broken
 * digest.
 */
#include <stdlib.h>

#include "crypto.h"
#include "unit.h"

/* The test's own hex encoder (lowercase), independent of the library's. */
static void
to_hex(const unsigned char *data, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 0x0f];
    }
    out[2 * len] = '\0';
}

/* ------------------------------------------------------------------------ */
/* hg_hmac                                                                   */
/* ------------------------------------------------------------------------ */

/* A key or message is either text (which may hold any byte) or `fill` repeated. */
struct bytes_spec {
    const char *text;
    unsigned char fill;
    size_t fill_len;
};

struct hmac_case {
    const char *name;
    enum hg_digest digest;
    struct bytes_spec key;
    struct bytes_spec msg;
    const char *expected_hex; /* may be a prefix (RFC 4231 test 5 truncates) */
};

static const struct hmac_case hmac_cases[] = {
    /* RFC 2202, section 3 */
    {"rfc2202-1",
     HG_DIGEST_SHA1,
     {NULL, 0x0b, 20},
     {"Hi There", 0, 0},
     "b617318655057264e28bc0b6fb378c8ef146be00"},
    {"rfc2202-2",
     HG_DIGEST_SHA1,
     {"Jefe", 0, 0},
     {"what do ya want for nothing?", 0, 0},
     "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
    {"rfc2202-3",
     HG_DIGEST_SHA1,
     {NULL, 0xaa, 20},
     {NULL, 0xdd, 50},
     "125d7342b9ac11cd91a39af48aa17b4f63f175d3"},
    {"rfc2202-4",
     HG_DIGEST_SHA1,
     {"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16"
      "\x17\x18\x19",
      0, 0},
     {NULL, 0xcd, 50},
     "4c9007f4026250c6bc8414f9bf50c86c2d7235da"},
    {"rfc2202-5",
     HG_DIGEST_SHA1,
     {NULL, 0x0c, 20},
     {"Test With Truncation", 0, 0},
     "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04"},
    {"rfc2202-6",
     HG_DIGEST_SHA1,
     {NULL, 0xaa, 80},
     {"Test Using Larger Than Block-Size Key - Hash Key First", 0, 0},
     "aa4ae5e15272d00e95705637ce8a3b55ed402112"},
    {"rfc2202-7",
     HG_DIGEST_SHA1,
     {NULL, 0xaa, 80},
     {"Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data", 0, 0},
     "e8e99d0f45237d786d6bbaa7965c7808bbff1a91"},
    /* RFC 4231, section 4 */
    {"rfc4231-1",
     HG_DIGEST_SHA256,
     {NULL, 0x0b, 20},
     {"Hi There", 0, 0},
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
    {"rfc4231-2",
     HG_DIGEST_SHA256,
     {"Jefe", 0, 0},
     {"what do ya want for nothing?", 0, 0},
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
    {"rfc4231-3",
     HG_DIGEST_SHA256,
     {NULL, 0xaa, 20},
     {NULL, 0xdd, 50},
     "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
    {"rfc4231-4",
     HG_DIGEST_SHA256,
     {"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16"
      "\x17\x18\x19",
      0, 0},
     {NULL, 0xcd, 50},
     "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
    {"rfc4231-5-truncated",
     HG_DIGEST_SHA256,
     {NULL, 0x0c, 20},
     {"Test With Truncation", 0, 0},
     "a3b6167473100ee06e0c796c2955552b"},
    {"rfc4231-6",
     HG_DIGEST_SHA256,
     {NULL, 0xaa, 131},
     {"Test Using Larger Than Block-Size Key - Hash Key First", 0, 0},
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
    {"rfc4231-7",
     HG_DIGEST_SHA256,
     {NULL, 0xaa, 131},
     {"This is a test using a larger than block-size key and a larger than block-size data. The "
      "key needs to be hashed before being used by the HMAC algorithm.",
      0, 0},
     "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
};

static unsigned char *
make_bytes(const struct bytes_spec *spec, size_t *len)
{
    if (spec->text != NULL) {
        *len = strlen(spec->text);
        unsigned char *out = malloc(*len + 1);
        assert_non_null(out);
        memcpy(out, spec->text, *len);
        return out;
    }
    *len = spec->fill_len;
    unsigned char *out = malloc(*len + 1);
    assert_non_null(out);
    memset(out, spec->fill, *len);
    return out;
}

static void
test_hmac_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < UNIT_ARRAY_LEN(hmac_cases); i++) {
        const struct hmac_case *c = &hmac_cases[i];
        size_t key_len, msg_len;
        unsigned char *key = make_bytes(&c->key, &key_len);
        unsigned char *msg = make_bytes(&c->msg, &msg_len);
        unsigned char mac[HG_DIGEST_MAX];
        char hex[2 * HG_DIGEST_MAX + 1];
        size_t expected_len = c->digest == HG_DIGEST_SHA1 ? HG_SHA1_LEN : HG_SHA256_LEN;

        size_t n = hg_hmac(c->digest, key, key_len, msg, msg_len, mac);
        if (CHECK_INT(c->name, n, expected_len)) {
            to_hex(mac, n, hex);
            size_t want = strlen(c->expected_hex);
            CHECK_MEM(c->name, hex, want, c->expected_hex, want);
        }
        free(key);
        free(msg);
    }
    UNIT_END();
}

static void
test_digest_len(void **state)
{
    (void)state;
    CHECK_INT("sha1", hg_digest_len(HG_DIGEST_SHA1), 20);
    CHECK_INT("sha256", hg_digest_len(HG_DIGEST_SHA256), 32);
    UNIT_END();
}

/* ------------------------------------------------------------------------ */
/* hg_sha256                                                                 */
/* ------------------------------------------------------------------------ */

struct sha_case {
    const char *name;
    const char *msg;
    const char *expected_hex;
};

static const struct sha_case sha_cases[] = {
    {"fips-abc", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"empty", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"fips-two-blocks", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
};

static void
test_sha256(void **state)
{
    (void)state;
    for (size_t i = 0; i < UNIT_ARRAY_LEN(sha_cases); i++) {
        const struct sha_case *c = &sha_cases[i];
        unsigned char digest[HG_SHA256_LEN];
        char hex[2 * HG_SHA256_LEN + 1];
        hg_sha256(c->msg, strlen(c->msg), digest);
        to_hex(digest, sizeof digest, hex);
        CHECK_STR(c->name, hex, c->expected_hex);
    }
    /* The length is honoured: "abc" followed by other bytes hashes as "abc". */
    {
        unsigned char digest[HG_SHA256_LEN];
        char hex[2 * HG_SHA256_LEN + 1];
        hg_sha256("abcdef", 3, digest);
        to_hex(digest, sizeof digest, hex);
        CHECK_STR("length-honoured", hex, sha_cases[0].expected_hex);
    }
    UNIT_END();
}

/* ------------------------------------------------------------------------ */
/* hg_hex_encode / hg_hex_decode                                             */
/* ------------------------------------------------------------------------ */

struct hex_encode_case {
    const char *name;
    const char *bytes;
    size_t len;
    const char *expected;
};

static const struct hex_encode_case hex_encode_cases[] = {
    {"empty", "", 0, ""},
    {"one-byte", "\x00", 1, "00"},
    {"lowercase-output", "\x00\xff\xa5\x5a\x0f\xf0\x9c", 7, "00ffa55a0ff09c"},
    {"ascii", "abc", 3, "616263"},
};

static void
test_hex_encode(void **state)
{
    (void)state;
    for (size_t i = 0; i < UNIT_ARRAY_LEN(hex_encode_cases); i++) {
        const struct hex_encode_case *c = &hex_encode_cases[i];
        char out[64];
        memset(out, 'X', sizeof out);
        hg_hex_encode((const unsigned char *)c->bytes, c->len, out);
        CHECK_STR(c->name, out, c->expected);
        CHECK_INT(c->name, out[2 * c->len + 1], 'X'); /* nothing past the NUL */
    }
    UNIT_END();
}

struct hex_decode_case {
    const char *name;
    const char *hex;
    size_t out_len;
    int expected_rc;
    const char *expected; /* out_len bytes when expected_rc == 0 */
};

static const struct hex_decode_case hex_decode_cases[] = {
    {"lowercase", "00ffa55a0f", 5, 0, "\x00\xff\xa5\x5a\x0f"},
    {"uppercase", "00FFA55A0F", 5, 0, "\x00\xff\xa5\x5a\x0f"},
    {"mixed-case", "aBcDeF", 3, 0, "\xab\xcd\xef"},
    {"all-digits", "0123456789", 5, 0, "\x01\x23\x45\x67\x89"},
    {"empty", "", 0, 0, ""},
    {"odd-length", "abc", 1, -1, NULL},
    {"odd-length-rounded-up", "abc", 2, -1, NULL},
    {"too-long", "aabbcc", 2, -1, NULL},
    {"too-short", "aabb", 3, -1, NULL},
    {"bad-char-g", "0g", 1, -1, NULL},
    {"bad-char-first", "g0", 1, -1, NULL},
    {"bad-char-space", "a ", 1, -1, NULL},
    {"bad-char-colon", "a:", 1, -1, NULL},    /* ':' follows '9' in ASCII */
    {"bad-char-at", "@a", 1, -1, NULL},       /* '@' precedes 'A' */
    {"bad-char-backtick", "`a", 1, -1, NULL}, /* '`' precedes 'a' */
    {"bad-char-non-ascii", "\xc3\xa9", 1, -1, NULL},
    {"0x-prefix", "0xab", 2, -1, NULL},
    {"sign", "-1", 1, -1, NULL},
};

static void
test_hex_decode(void **state)
{
    (void)state;
    for (size_t i = 0; i < UNIT_ARRAY_LEN(hex_decode_cases); i++) {
        const struct hex_decode_case *c = &hex_decode_cases[i];
        unsigned char out[16];
        memset(out, 0x5c, sizeof out);
        int rc = hg_hex_decode(c->hex, strlen(c->hex), out, c->out_len);
        CHECK_INT(c->name, rc, c->expected_rc);
        if (rc == 0 && c->expected_rc == 0)
            CHECK_MEM(c->name, (const char *)out, c->out_len, c->expected, c->out_len);
        CHECK_INT(c->name, out[c->out_len], 0x5c); /* never writes past out_len */
    }
    /* hex_len is honoured: the characters after it are not read. */
    {
        unsigned char out[2];
        CHECK_INT("hex-len-honoured", hg_hex_decode("abcdzz", 4, out, 2), 0);
        CHECK_MEM("hex-len-honoured", (const char *)out, 2, "\xab\xcd", 2);
    }
    UNIT_END();
}

/* ------------------------------------------------------------------------ */
/* hg_hmac_verify_hex                                                        */
/* ------------------------------------------------------------------------ */

static unsigned char secret_old[] = "old-secret";
static unsigned char secret_new[] = "new-secret";
static unsigned char secret_other[] = "unrelated-secret";
/* Secrets are raw bytes: "ab\0cd" and "ab" are different keys. */
static unsigned char secret_nul[] = {'a', 'b', '\0', 'c', 'd'};
static unsigned char secret_nul_prefix[] = {'a', 'b'};

#define SECRET(s, n)                                                                               \
    {                                                                                              \
        (s), (n),                                                                                  \
        {                                                                                          \
            NULL, NULL                                                                             \
        }                                                                                          \
    }
#define SECRET_STR(s) SECRET((s), sizeof(s) - 1)

static struct hg_secret list_old[] = {SECRET_STR(secret_old)};
static struct hg_secret list_old_new[] = {SECRET_STR(secret_old), SECRET_STR(secret_new)};
static struct hg_secret list_new_old[] = {SECRET_STR(secret_new), SECRET_STR(secret_old)};
static struct hg_secret list_other_new[] = {SECRET_STR(secret_other), SECRET_STR(secret_new)};
static struct hg_secret list_nul_prefix[] = {SECRET(secret_nul_prefix, 2)};

enum sig_form {
    SIG_LOWER,
    SIG_UPPER,
    SIG_TRUNCATED,
    SIG_EXTENDED,
    SIG_BAD_CHAR,
    SIG_LAST_NIBBLE, /* last hex digit changed to another hex digit */
    SIG_FIRST_NIBBLE,
    SIG_EMPTY
};

struct verify_case {
    const char *name;
    enum hg_digest verify_digest;  /* digest hg_hmac_verify_hex is asked for */
    enum hg_digest sign_digest;    /* digest the signature was made with */
    const unsigned char *sign_key; /* key the signature was made with */
    size_t sign_key_len;
    struct hg_secret *secrets;
    size_t secret_count;
    enum sig_form form;
    int expected;
};

#define LIST(l) (l), UNIT_ARRAY_LEN(l)

static const struct verify_case verify_cases[] = {
    {"single-secret-match", HG_DIGEST_SHA256, HG_DIGEST_SHA256, secret_old, 10, LIST(list_old),
     SIG_LOWER, 1},
    {"rotation-first-of-two", HG_DIGEST_SHA256, HG_DIGEST_SHA256, secret_old, 10,
     LIST(list_old_new), SIG_LOWER, 1},
    {"rotation-second-of-two", HG_DIGEST_SHA256, HG_DIGEST_SHA256, secret_old, 10,
     LIST(list_new_old), SIG_LOWER, 1},
    {"rotation-sha1", HG_DIGEST_SHA1, HG_DIGEST_SHA1, secret_new, 10, LIST(list_old_new), SIG_LOWER,
     1},
    {"none-matching", HG_DIGEST_SHA256, HG_DIGEST_SHA256, secret_old, 10, LIST(list_other_new),
     SIG_LOWER, 0},
    {"uppercase-hex", HG_DIGEST_SHA256, HG_DIGEST_SHA256, secret_old, 10, LIST(list_new_old),
     SIG_UPPER, 1},
    {"uppercase-hex-sha1", HG_DIGEST_SHA1, HG_DIGEST_SHA1, secret_old, 10, LIST(list_old),
     SIG_UPPER, 1},
    {"truncated-signature", HG_DIGEST_SHA256, HG_DIGEST_SHA256, secret_old, 10, LIST(list_old),
     SIG_TRUNCATED, 0},
    {"extended-signature", HG_DIGEST_SHA256, HG_DIGEST_SHA256, secret_old, 10, LIST(list_old),
     SIG_EXTENDED, 0},
    {"last-nibble-changed", HG_DIGEST_SHA256, HG_DIGEST_SHA256, secret_old, 10, LIST(list_old),
     SIG_LAST_NIBBLE, 0},
    {"first-nibble-changed", HG_DIGEST_SHA256, HG_DIGEST_SHA256, secret_old, 10, LIST(list_new_old),
     SIG_FIRST_NIBBLE, 0},
    {"last-nibble-changed-sha1", HG_DIGEST_SHA1, HG_DIGEST_SHA1, secret_old, 10, LIST(list_old),
     SIG_LAST_NIBBLE, 0},
    {"bad-hex-char", HG_DIGEST_SHA256, HG_DIGEST_SHA256, secret_old, 10, LIST(list_old),
     SIG_BAD_CHAR, 0},
    {"empty-signature", HG_DIGEST_SHA256, HG_DIGEST_SHA256, secret_old, 10, LIST(list_old),
     SIG_EMPTY, 0},
    {"sha1-signature-for-sha256", HG_DIGEST_SHA256, HG_DIGEST_SHA1, secret_old, 10, LIST(list_old),
     SIG_LOWER, 0},
    {"sha256-signature-for-sha1", HG_DIGEST_SHA1, HG_DIGEST_SHA256, secret_old, 10, LIST(list_old),
     SIG_LOWER, 0},
    {"empty-secret-list", HG_DIGEST_SHA256, HG_DIGEST_SHA256, secret_old, 10, list_old, 0,
     SIG_LOWER, 0},
    {"secret-bytes-not-c-string", HG_DIGEST_SHA256, HG_DIGEST_SHA256, secret_nul, sizeof secret_nul,
     LIST(list_nul_prefix), SIG_LOWER, 0},
};

static void
test_hmac_verify_hex(void **state)
{
    (void)state;
    static const char msg[] = "{\"action\":\"created\",\"clocking\":{\"id\":\"C-1\"}}";
    for (size_t i = 0; i < UNIT_ARRAY_LEN(verify_cases); i++) {
        const struct verify_case *c = &verify_cases[i];
        unsigned char mac[HG_DIGEST_MAX];
        char sig[2 * HG_DIGEST_MAX + 8];
        size_t n = hg_hmac(c->sign_digest, c->sign_key, c->sign_key_len, msg, strlen(msg), mac);
        if (!CHECK(c->name, n > 0))
            continue;
        to_hex(mac, n, sig);
        size_t sig_len = 2 * n;
        switch (c->form) {
        case SIG_LOWER:
            break;
        case SIG_UPPER:
            for (size_t j = 0; j < sig_len; j++)
                if (sig[j] >= 'a' && sig[j] <= 'f')
                    sig[j] = (char)(sig[j] - 'a' + 'A');
            break;
        case SIG_TRUNCATED:
            sig_len -= 2;
            break;
        case SIG_EXTENDED:
            memcpy(sig + sig_len, "00", 3);
            sig_len += 2;
            break;
        case SIG_BAD_CHAR:
            sig[sig_len - 1] = 'g';
            break;
        case SIG_LAST_NIBBLE:
            sig[sig_len - 1] = sig[sig_len - 1] == '0' ? '1' : '0';
            break;
        case SIG_FIRST_NIBBLE:
            sig[0] = sig[0] == 'f' ? 'e' : 'f';
            break;
        case SIG_EMPTY:
            sig_len = 0;
            break;
        }
        /* Secrets as built by hand (each MAC keys itself), then as the
         * configuration prepares them (keyed contexts): the same answers. */
        struct hg_secret_list list = {c->secrets, c->secret_count};
        int rc = hg_hmac_verify_hex(c->verify_digest, &list, msg, strlen(msg), sig, sig_len);
        CHECK_INT(c->name, rc, c->expected);
        struct hg_secret prepared[4];
        assert_true(c->secret_count <= 4);
        for (size_t k = 0; k < c->secret_count; k++) {
            prepared[k] = c->secrets[k];
            CHECK(c->name, hg_secret_prepare(&prepared[k]) == 0 && prepared[k].mac[0] != NULL &&
                               prepared[k].mac[1] != NULL);
        }
        list.items = prepared;
        rc = hg_hmac_verify_hex(c->verify_digest, &list, msg, strlen(msg), sig, sig_len);
        CHECK_INT(c->name, rc, c->expected);
        for (size_t k = 0; k < c->secret_count; k++)
            hg_secret_release(&prepared[k]);
    }
    /* The message is authenticated: one changed byte fails. */
    {
        unsigned char mac[HG_DIGEST_MAX];
        char sig[2 * HG_DIGEST_MAX + 1];
        struct hg_secret_list list = {LIST(list_old)};
        size_t n = hg_hmac(HG_DIGEST_SHA256, secret_old, 10, "body-1", 6, mac);
        to_hex(mac, n, sig);
        CHECK_INT("message-match",
                  hg_hmac_verify_hex(HG_DIGEST_SHA256, &list, "body-1", 6, sig, 2 * n), 1);
        CHECK_INT("message-tampered",
                  hg_hmac_verify_hex(HG_DIGEST_SHA256, &list, "body-2", 6, sig, 2 * n), 0);
    }
    UNIT_END();
}

/* ------------------------------------------------------------------------ */
/* hg_ct_equal                                                               */
/* ------------------------------------------------------------------------ */

struct ct_case {
    const char *name;
    const char *a;
    size_t a_len;
    const char *b;
    size_t b_len;
    int equal;
};

static const struct ct_case ct_cases[] = {
    {"equal", "secret", 6, "secret", 6, 1},
    {"both-empty", "", 0, "", 0, 1},
    {"differ-first-byte", "secret", 6, "Secret", 6, 0},
    {"differ-last-byte", "secret", 6, "secreT", 6, 0},
    {"differ-high-bit", "\x80", 1, "\x00", 1, 0},
    {"prefix-shorter", "secret", 6, "secre", 5, 0},
    {"prefix-longer", "secre", 5, "secret", 6, 0},
    {"empty-vs-nonempty", "", 0, "a", 1, 0},
    {"embedded-nul-equal", "a\0b", 3, "a\0b", 3, 1},
    {"embedded-nul-differ", "a\0b", 3, "a\0c", 3, 0},
};

static void
test_ct_equal(void **state)
{
    (void)state;
    for (size_t i = 0; i < UNIT_ARRAY_LEN(ct_cases); i++) {
        const struct ct_case *c = &ct_cases[i];
        int rc = hg_ct_equal(c->a, c->a_len, c->b, c->b_len);
        CHECK_INT(c->name, rc != 0, c->equal);
    }
    UNIT_END();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hmac_vectors), cmocka_unit_test(test_digest_len),
        cmocka_unit_test(test_sha256),       cmocka_unit_test(test_hex_encode),
        cmocka_unit_test(test_hex_decode),   cmocka_unit_test(test_hmac_verify_hex),
        cmocka_unit_test(test_ct_equal),
    };
    return cmocka_run_group_tests_name("crypto", tests, NULL, NULL);
}
