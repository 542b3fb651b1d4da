/*
 * test_providers.c - TruTac and 1UPVISION end to end through hg_process:
 * detection, authentication, freshness, normalization and the envelope.
 *
 * Each row builds a request by hand (headers, body, route, a fixed now_ms),
 * signs it with hg_hmac and the row's secret, runs hg_process, and checks the
 * outcome. Bodies and headers live in heap buffers of exact size that are
 * freed right after hg_process: the outcome must borrow nothing from the
 * request, and ASan catches a read past the body or after it is freed.
 */
#include <stdlib.h>
#include <strings.h>

#include "crypto.h"
#include "hookgate.h"
#include "json.h"
#include "provider.h"
#include "unit.h"

/* ------------------------------------------------------------------------ */
/* Configuration, secrets, bodies                                            */
/* ------------------------------------------------------------------------ */

#define TT_SECRET_OLD "tt-secret-old-4d1"
#define TT_SECRET_NEW "tt-secret-new-8e2"
#define TT_SECRET_ACME "tt-acme-secret-c3a"
#define OU_SECRET_A "oneup-secret-a-771"
#define OU_SECRET_B "oneup-secret-b-239"
#define WRONG_SECRET "wrong-secret-000"
#define OU_UUID "1dc54786-9d69-487a-8c17-407ff20d0bdc"

static const char config_text[] =
    "{\n"
    "  // literal secrets: this file is a test fixture\n"
    "  \"providers\": {\n"
    "    \"trutac\": {\"secrets\": [\"" TT_SECRET_OLD "\", \"" TT_SECRET_NEW "\"],\n"
    "               \"tenants\": {\"acme\": {\"secrets\": [\"" TT_SECRET_ACME "\"]}}},\n"
    "    \"oneupvision\": {\"tenants\": {\"" OU_UUID "\": {\"secrets\": [\"" OU_SECRET_A
    "\", \"" OU_SECRET_B "\"]}}}\n"
    "  }\n"
    "}\n";

/* Every configured secret: none may ever appear in an outcome message. */
static const char *const all_secrets[] = {TT_SECRET_OLD, TT_SECRET_NEW, TT_SECRET_ACME, OU_SECRET_A,
                                          OU_SECRET_B};

/* 1UPVISION's documented example timestamp, and the gateway's clock 42.123 s later. */
#define T_SEED 1661708219000LL  /* 2022-08-28T17:36:59Z */
#define NOW_MS (T_SEED + 42123) /* 2022-08-28T17:37:41.123Z */

/* TruTac's documented example, as printed (with its line breaks). */
static const char tt_seed[] = "{\n\"action\": \"created\",\n\"clocking\": {\n"
                              "\"id\": \"CLOCKING-ID-123\",\n\"driverId\": \"DRIVER-ID-123\",\n"
                              "\"clockingTimeStamp\": \"2018-01-01T09:01:53\",\n"
                              "\"isClockIn\": true\n}\n}";

/* 1UPVISION's documented punch.create example. */
static const char ou_seed[] =
    "{\"punch\":{\"id\":2,\"punched_at\":\"2022-08-28T17:36:59.163781Z\",\"punch_type\":\"IN"
    "\",\"photo_url\":\"\",\"body_temp\":null,\"body_temp_unit\":null,\"body_temp_status\":n"
    "ull,\"person\":{\"id\":1,\"first_name\":\"Rohit\",\"last_name\":\"\",\"mobile_number\":\"+9"
    "1 9999999999\",\"email\":\"\",\"dob\":null,\"primary_face_image_url\":\"\",\"picture_url"
    "\":null,\"people_custom_data\":{\"data\":[],\"form_schema_revision_id\":1},\"people_"
    "form_schema_revision_id\":1,\"is_blacklisted\":false,\"created_at\":\"2023-06-14T0"
    "6:23:40.675961Z\"},\"shift\":{\"id\":1,\"name\":\"Flexible Shift\",\"code\":\"flexible-s"
    "hift\",\"type\":\"FLEXIBLE\",\"created_at\":\"2022-02-02T12:12:09.798381Z\",\"updated_"
    "at\":\"2022-02-02T12:12:09.798398Z\"},\"attendance\":{\"id\":1,\"attendance_date\":\"2"
    "022-08-28\",\"shift_id\":1,\"person_id\":1,\"created_at\":\"2022-08-28T04:06:37.5126"
    "32Z\",\"updated_at\":\"2022-08-28T17:36:59.683209Z\"},\"created_at\":\"2022-08-28T17"
    ":36:59.540351Z\",\"updated_at\":\"2022-08-28T17:36:59.540375Z\",\"space_id\":1,\"org"
    "anization_id\":1}}";

static const char tt_ping[] = "{\"hook\":{\"id\":\"HOOK-1\",\"events\":[\"clocking\"]}}";

/* Only TruTac configured: 1UPVISION is a known provider that is not enabled. */
static const char config_trutac_only_text[] =
    "{\"providers\": {\"trutac\": {\"secrets\": [\"" TT_SECRET_OLD "\"]}}}";

static struct hg_config *config;
static struct hg_config *config_trutac_only;

static int
setup(void **state)
{
    (void)state;
    char err[512];
    if (hg_config_parse("providers-test.json", config_text, sizeof config_text - 1, &config, err,
                        sizeof err) != HG_OK) {
        print_error("config: %s\n", err);
        return -1;
    }
    if (hg_config_parse("trutac-only.json", config_trutac_only_text,
                        sizeof config_trutac_only_text - 1, &config_trutac_only, err,
                        sizeof err) != HG_OK) {
        print_error("config: %s\n", err);
        return -1;
    }
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    hg_config_free(config);
    hg_config_free(config_trutac_only);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Rows                                                                      */
/* ------------------------------------------------------------------------ */

enum hdrs { H_TRUTAC, H_ONEUP, H_BOTH, H_NONE };
enum sig_form { SIG_OK, SIG_UPPER, SIG_TRUNCATED, SIG_LAST_CHAR, SIG_NO_PREFIX, SIG_NONE };

/* A header value that is not sent at all. */
static const char OMIT[] = "<omit>";
/* Expected provider: not checked. */
static const char ANY[] = "<any>";

struct row {
    const char *name;
    enum hdrs hdrs;
    const char *route_provider;
    const char *route_tenant;
    const char *body;      /* NULL: the provider's seed example */
    const char *tamper[2]; /* after signing, replace the first tamper[0] with tamper[1] */
    const char *secret;    /* NULL: the provider's first secret */
    enum sig_form sig;
    const char *event;     /* NULL: "clocking" / "punch.create"; OMIT: not sent */
    const char *timestamp; /* 1UPVISION; NULL: the seed's; OMIT: not sent */
    const char *uuid;      /* 1UPVISION; NULL: the seed's; OMIT: not sent */
    int lowercase_names;
    int trutac_only;       /* run against config_trutac_only */
    const char *duplicate; /* sends this header (another spelling of a sent one) twice */

    /* Expected */
    enum hg_status status;
    int http;             /* nonzero: only hg_status_http(status) == http is required */
    const char *provider; /* NULL: the headers' provider; "" : none; ANY: not checked */
    const char *category; /* OK rows; NULL: "attendance.punched" */
    const char *subject;  /* OK rows; NULL: the seed's when the body is, else not checked */
    int64_t time_ms;      /* OK rows; 0: the timestamp (1UPVISION seed) or now (TruTac) */
};

/* The table stays one row per case; clang-format would give each field a line. */
// clang-format off
static const struct row rows[] = {
    /* TruTac */
    {.name = "tt-seed-accepted", .hdrs = H_TRUTAC, .route_provider = "trutac"},
    {.name = "tt-seed-detected", .hdrs = H_TRUTAC},
    {.name = "tt-rotated-secret", .hdrs = H_TRUTAC, .secret = TT_SECRET_NEW},
    {.name = "tt-wrong-secret", .hdrs = H_TRUTAC, .secret = WRONG_SECRET,
     .status = HG_ERR_UNAUTHORIZED},
    {.name = "tt-tampered-body", .hdrs = H_TRUTAC, .tamper = {"ID-123", "ID-124"},
     .status = HG_ERR_UNAUTHORIZED},
    {.name = "tt-uppercase-hex", .hdrs = H_TRUTAC, .sig = SIG_UPPER},
    {.name = "tt-sha1-prefix-missing", .hdrs = H_TRUTAC, .sig = SIG_NO_PREFIX,
     .status = HG_ERR_UNAUTHORIZED},
    {.name = "tt-truncated-signature", .hdrs = H_TRUTAC, .sig = SIG_TRUNCATED,
     .status = HG_ERR_UNAUTHORIZED},
    {.name = "tt-last-hex-digit-changed", .hdrs = H_TRUTAC, .sig = SIG_LAST_CHAR,
     .status = HG_ERR_UNAUTHORIZED},
    {.name = "tt-missing-signature", .hdrs = H_TRUTAC, .route_provider = "trutac",
     .sig = SIG_NONE, .status = HG_ERR_UNAUTHORIZED},
    {.name = "tt-header-names-lowercase", .hdrs = H_TRUTAC, .lowercase_names = 1},
    {.name = "tt-ping", .hdrs = H_TRUTAC, .body = tt_ping, .event = "ping", .status = HG_PING},
    {.name = "tt-ping-wrong-secret", .hdrs = H_TRUTAC, .body = tt_ping, .event = "ping",
     .secret = WRONG_SECRET, .status = HG_ERR_UNAUTHORIZED},
    {.name = "tt-action-updated", .hdrs = H_TRUTAC,
     .body = "{\"action\":\"updated\",\"clocking\":{\"id\":\"C-2\",\"isClockIn\":false}}",
     .category = "attendance.punch_updated", .subject = "C-2"},
    {.name = "tt-action-deleted", .hdrs = H_TRUTAC,
     .body = "{\"action\":\"deleted\",\"clocking\":{\"id\":\"C-3\"}}",
     .category = "attendance.punch_deleted", .subject = "C-3"},
    {.name = "tt-action-unknown", .hdrs = H_TRUTAC,
     .body = "{\"action\":\"archived\",\"clocking\":{\"id\":\"C-4\"}}", .category = "other",
     .subject = "C-4"},
    {.name = "tt-event-unknown", .hdrs = H_TRUTAC, .event = "driver",
     .body = "{\"action\":\"created\",\"driver\":{\"id\":\"D-1\"}}", .category = "other",
     .subject = "D-1"},
    {.name = "tt-tenant-route", .hdrs = H_TRUTAC, .route_provider = "trutac",
     .route_tenant = "acme", .secret = TT_SECRET_ACME},
    {.name = "tt-tenant-route-provider-secret", .hdrs = H_TRUTAC, .route_provider = "trutac",
     .route_tenant = "acme", .status = HG_ERR_UNAUTHORIZED},
    {.name = "tt-unknown-tenant", .hdrs = H_TRUTAC, .route_provider = "trutac",
     .route_tenant = "nosuch", .status = HG_ERR_UNAUTHORIZED},
    {.name = "tt-tenant-secret-without-tenant", .hdrs = H_TRUTAC, .route_provider = "trutac",
     .secret = TT_SECRET_ACME, .status = HG_ERR_UNAUTHORIZED},
    {.name = "tt-invalid-json", .hdrs = H_TRUTAC, .route_provider = "trutac",
     .body = "{\"action\":\"BODY-MARKER\",", .status = HG_ERR_BAD_JSON},
    {.name = "tt-signature-header-twice", .hdrs = H_TRUTAC, .duplicate = "tt-hook-signature",
     .status = HG_ERR_BAD_REQUEST},
    {.name = "tt-event-header-twice", .hdrs = H_TRUTAC, .duplicate = "TT-HOOK-EVENT",
     .status = HG_ERR_BAD_REQUEST},
    {.name = "tt-duplicate-key", .hdrs = H_TRUTAC, .route_provider = "trutac",
     .body = "{\"action\":\"created\",\"action\":\"deleted\",\"clocking\":{\"id\":\"C-5\"}}",
     .status = HG_ERR_BAD_JSON},
    {.name = "tt-invalid-utf8", .hdrs = H_TRUTAC, .route_provider = "trutac",
     .body = "{\"action\":\"created\",\"clocking\":{\"id\":\"\xc0\xaf\"}}",
     .status = HG_ERR_BAD_JSON},

    /* 1UPVISION */
    {.name = "ou-seed-accepted", .hdrs = H_ONEUP, .route_provider = "oneupvision"},
    {.name = "ou-seed-detected", .hdrs = H_ONEUP},
    {.name = "ou-rotated-secret", .hdrs = H_ONEUP, .secret = OU_SECRET_B},
    {.name = "ou-wrong-secret", .hdrs = H_ONEUP, .secret = WRONG_SECRET,
     .status = HG_ERR_UNAUTHORIZED},
    {.name = "ou-tampered-body", .hdrs = H_ONEUP, .tamper = {"\"id\":2,", "\"id\":3,"},
     .status = HG_ERR_UNAUTHORIZED},
    {.name = "ou-uppercase-hex", .hdrs = H_ONEUP, .sig = SIG_UPPER},
    {.name = "ou-truncated-signature", .hdrs = H_ONEUP, .sig = SIG_TRUNCATED,
     .status = HG_ERR_UNAUTHORIZED},
    {.name = "ou-last-hex-digit-changed", .hdrs = H_ONEUP, .sig = SIG_LAST_CHAR,
     .status = HG_ERR_UNAUTHORIZED},
    {.name = "ou-missing-signature", .hdrs = H_ONEUP, .sig = SIG_NONE,
     .status = HG_ERR_UNAUTHORIZED},
    {.name = "ou-timestamp-300s-past", .hdrs = H_ONEUP, .timestamp = "2022-08-28T17:32:41.123Z",
     .time_ms = NOW_MS - 300000},
    {.name = "ou-timestamp-300s-future", .hdrs = H_ONEUP,
     .timestamp = "2022-08-28T17:42:41.123Z", .time_ms = NOW_MS + 300000},
    {.name = "ou-timestamp-301s-past", .hdrs = H_ONEUP, .timestamp = "2022-08-28T17:32:40.123Z",
     .status = HG_ERR_STALE},
    {.name = "ou-timestamp-301s-future", .hdrs = H_ONEUP,
     .timestamp = "2022-08-28T17:42:42.123Z", .status = HG_ERR_STALE},
    {.name = "ou-timestamp-offset-form", .hdrs = H_ONEUP, .timestamp = "2022-08-28T23:06:59+05:30",
     .time_ms = T_SEED},
    {.name = "ou-timestamp-yesterday", .hdrs = H_ONEUP, .timestamp = "yesterday", .http = 401},
    {.name = "ou-timestamp-month-13", .hdrs = H_ONEUP, .timestamp = "2020-13-01T00:00:00Z",
     .http = 401},
    {.name = "ou-timestamp-empty", .hdrs = H_ONEUP, .timestamp = "", .http = 401},
    {.name = "ou-timestamp-missing", .hdrs = H_ONEUP, .timestamp = OMIT, .http = 401},
    {.name = "ou-unknown-uuid", .hdrs = H_ONEUP, .uuid = "00000000-0000-0000-0000-000000000000",
     .status = HG_ERR_UNAUTHORIZED},
    {.name = "ou-missing-uuid", .hdrs = H_ONEUP, .uuid = OMIT, .status = HG_ERR_UNAUTHORIZED},
    {.name = "ou-missing-event", .hdrs = H_ONEUP, .event = OMIT, .http = 400},
    {.name = "ou-header-names-lowercase", .hdrs = H_ONEUP, .lowercase_names = 1},
    {.name = "ou-punch.update", .hdrs = H_ONEUP, .event = "punch.update",
     .category = "attendance.punch_updated"},
    {.name = "ou-attendance.create", .hdrs = H_ONEUP, .event = "attendance.create",
     .category = "attendance.day_created"},
    {.name = "ou-attendance.update", .hdrs = H_ONEUP, .event = "attendance.update",
     .category = "attendance.day_updated"},
    {.name = "ou-visit.checkin", .hdrs = H_ONEUP, .event = "visit.checkin",
     .category = "visitor.checked_in"},
    {.name = "ou-visit.checkout", .hdrs = H_ONEUP, .event = "visit.checkout",
     .category = "visitor.checked_out"},
    {.name = "ou-visit.update", .hdrs = H_ONEUP, .event = "visit.update",
     .category = "visitor.updated"},
    {.name = "ou-people.create", .hdrs = H_ONEUP, .event = "people.create",
     .category = "person.created"},
    {.name = "ou-people.update", .hdrs = H_ONEUP, .event = "people.update",
     .category = "person.updated"},
    {.name = "ou-people.delete", .hdrs = H_ONEUP, .event = "people.delete",
     .category = "person.deleted"},
    {.name = "ou-people.bulk_create", .hdrs = H_ONEUP, .event = "people.bulk_create",
     .category = "person.created"},
    {.name = "ou-people.bulk_update", .hdrs = H_ONEUP, .event = "people.bulk_update",
     .category = "person.updated"},
    {.name = "ou-people.bulk_delete", .hdrs = H_ONEUP, .event = "people.bulk_delete",
     .category = "person.deleted"},
    {.name = "ou-unknown-event", .hdrs = H_ONEUP, .event = "whatever.else", .category = "other"},
    {.name = "ou-invalid-json", .hdrs = H_ONEUP, .route_provider = "oneupvision",
     .body = "{\"punch\":{\"id\":\"BODY-MARKER\"}", .status = HG_ERR_BAD_JSON},
    {.name = "ou-body-not-object", .hdrs = H_ONEUP, .body = "[{\"id\":1}]", .http = 400},
    {.name = "ou-timestamp-header-twice", .hdrs = H_ONEUP,
     .duplicate = "x-servicehook-timestamp", .status = HG_ERR_BAD_REQUEST},
    {.name = "ou-signature-header-twice", .hdrs = H_ONEUP,
     .duplicate = "X-SERVICEHOOK-SIGNATURE", .status = HG_ERR_BAD_REQUEST},
    {.name = "ou-route-tenant-equals-uuid", .hdrs = H_ONEUP, .route_provider = "oneupvision",
     .route_tenant = OU_UUID},
    {.name = "ou-route-tenant-differs-from-uuid", .hdrs = H_ONEUP,
     .route_provider = "oneupvision", .route_tenant = "other-tenant",
     .status = HG_ERR_UNAUTHORIZED},
    {.name = "ou-event-name-needs-escaping", .hdrs = H_ONEUP, .event = "punch\"x\\y/z",
     .category = "other"},
    {.name = "ou-event-name-control-char", .hdrs = H_ONEUP, .event = "punch\tcreate",
     .status = HG_ERR_BAD_REQUEST},

    /* Detection and routing */
    {.name = "detect-both-header-sets", .hdrs = H_BOTH, .body = tt_seed,
     .status = HG_ERR_AMBIGUOUS, .provider = ""},
    {.name = "detect-none", .hdrs = H_NONE, .body = "{\"a\":1}",
     .status = HG_ERR_UNKNOWN_SOURCE, .provider = ""},
    {.name = "detect-invalid-json", .hdrs = H_TRUTAC, .body = "{\"action\":",
     .status = HG_ERR_BAD_JSON, .provider = ANY},
    {.name = "route-overrides-detection", .hdrs = H_BOTH, .route_provider = "trutac",
     .body = tt_seed, .provider = "trutac"},
    {.name = "route-other-provider-headers", .hdrs = H_ONEUP, .route_provider = "trutac",
     .status = HG_ERR_UNAUTHORIZED, .provider = "trutac"},
    {.name = "route-provider-not-configured", .hdrs = H_ONEUP, .route_provider = "oneupvision",
     .trutac_only = 1, .status = HG_ERR_DISABLED, .provider = ANY},
    {.name = "detect-provider-not-configured", .hdrs = H_ONEUP, .trutac_only = 1,
     .status = HG_ERR_DISABLED, .provider = ANY},
    {.name = "configured-provider-with-other-config", .hdrs = H_TRUTAC, .trutac_only = 1},
    {.name = "route-provider-unknown", .hdrs = H_NONE, .route_provider = "nosuch",
     .body = "{\"a\":1}", .status = HG_ERR_NOT_FOUND, .provider = ANY},
};
// clang-format on

/* ------------------------------------------------------------------------ */
/* Building the request                                                      */
/* ------------------------------------------------------------------------ */

#define MAX_HEADERS 12

struct built {
    struct hg_header headers[MAX_HEADERS];
    size_t count;
    char *body; /* exactly body_len bytes, no NUL */
    size_t body_len;
    const char *sent_body; /* the same bytes, NUL-terminated, for the checks */
};

static char *
dup_bytes(const char *s, size_t len, int nul)
{
    char *out = malloc(len + (nul ? 1 : 0) + (len == 0));
    assert_non_null(out);
    memcpy(out, s, len);
    if (nul)
        out[len] = '\0';
    return out;
}

static void
add_header(struct built *b, const char *name, const char *value, int lowercase)
{
    assert_true(b->count < MAX_HEADERS);
    char *n = dup_bytes(name, strlen(name), 1);
    if (lowercase)
        for (char *p = n; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
    b->headers[b->count].name = n;
    b->headers[b->count].value = dup_bytes(value, strlen(value), 1);
    b->count++;
}

static void
built_free(struct built *b)
{
    for (size_t i = 0; i < b->count; i++) {
        free((void *)(uintptr_t)b->headers[i].name);
        free((void *)(uintptr_t)b->headers[i].value);
    }
    free(b->body);
}

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

/* The signature header value for `body` under `secret`, in the row's form. */
static void
make_signature(const struct row *r, enum hg_digest digest, const char *prefix, const char *secret,
               const char *body, size_t body_len, char *out, size_t out_size)
{
    unsigned char mac[HG_DIGEST_MAX];
    char hex[2 * HG_DIGEST_MAX + 1];
    size_t n = hg_hmac(digest, secret, strlen(secret), body, body_len, mac);
    assert_true(n > 0);
    to_hex(mac, n, hex);
    if (r->sig == SIG_UPPER)
        for (char *p = hex; *p; p++)
            if (*p >= 'a' && *p <= 'f')
                *p = (char)(*p - 'a' + 'A');
    if (r->sig == SIG_TRUNCATED)
        hex[2 * n - 2] = '\0';
    if (r->sig == SIG_LAST_CHAR)
        hex[2 * n - 1] = hex[2 * n - 1] == '0' ? '1' : '0';
    snprintf(out, out_size, "%s%s", r->sig == SIG_NO_PREFIX ? "" : prefix, hex);
}

static const char *
or_default(const char *value, const char *fallback)
{
    return value != NULL ? value : fallback;
}

static void
build(const struct row *r, struct built *b, char *body_buf, size_t body_buf_size)
{
    memset(b, 0, sizeof *b);
    const char *body = or_default(r->body, r->hdrs == H_ONEUP ? ou_seed : tt_seed);
    size_t len = strlen(body);
    char sig[2 * HG_DIGEST_MAX + 16];

    assert_true(len < body_buf_size);
    memcpy(body_buf, body, len + 1);

    add_header(b, "Content-Type", "application/json", r->lowercase_names);
    if (r->hdrs == H_TRUTAC || r->hdrs == H_BOTH) {
        const char *event = or_default(r->event, "clocking");
        if (event != OMIT)
            add_header(b, "TT-Hook-Event", event, r->lowercase_names);
        if (r->sig != SIG_NONE) {
            const char *secret =
                r->hdrs == H_TRUTAC ? or_default(r->secret, TT_SECRET_OLD) : TT_SECRET_OLD;
            make_signature(r, HG_DIGEST_SHA1, "sha1=", secret, body, len, sig, sizeof sig);
            add_header(b, "TT-Hook-Signature", sig, r->lowercase_names);
        }
    }
    if (r->hdrs == H_ONEUP || r->hdrs == H_BOTH) {
        const char *event = or_default(r->hdrs == H_ONEUP ? r->event : NULL, "punch.create");
        const char *timestamp = or_default(r->timestamp, "2022-08-28T17:36:59Z");
        const char *uuid = or_default(r->uuid, OU_UUID);
        if (event != OMIT)
            add_header(b, "X-ServiceHook-Event", event, r->lowercase_names);
        if (timestamp != OMIT)
            add_header(b, "X-ServiceHook-Timestamp", timestamp, r->lowercase_names);
        if (uuid != OMIT)
            add_header(b, "X-ServiceHook-UUID", uuid, r->lowercase_names);
        if (r->sig != SIG_NONE) {
            const char *secret =
                r->hdrs == H_ONEUP ? or_default(r->secret, OU_SECRET_A) : OU_SECRET_A;
            make_signature(r, HG_DIGEST_SHA256, "", secret, body, len, sig, sizeof sig);
            add_header(b, "X-ServiceHook-Signature", sig, r->lowercase_names);
        }
    }

    if (r->duplicate != NULL) {
        const char *value = NULL;
        for (size_t i = 0; i < b->count; i++)
            if (strcasecmp(b->headers[i].name, r->duplicate) == 0)
                value = b->headers[i].value;
        assert_non_null(value);
        add_header(b, r->duplicate, value, 0);
    }

    /* Tampering happens after signing: the signature covers the original. */
    if (r->tamper[0] != NULL) {
        char *at = strstr(body_buf, r->tamper[0]);
        assert_non_null(at);
        assert_int_equal(strlen(r->tamper[0]), strlen(r->tamper[1]));
        memcpy(at, r->tamper[1], strlen(r->tamper[1]));
    }
    b->body = dup_bytes(body_buf, len, 0);
    b->body_len = len;
    b->sent_body = body_buf;
}

/* ------------------------------------------------------------------------ */
/* Checking the outcome                                                      */
/* ------------------------------------------------------------------------ */

static const char *
headers_provider(const struct row *r)
{
    if (r->route_provider != NULL)
        return r->route_provider;
    return r->hdrs == H_ONEUP ? "oneupvision" : "trutac";
}

/* write(parse(text)) with no sorting: the compact form of a JSON text. */
static int
compact(const char *text, size_t len, struct hg_buf *out)
{
    struct hg_arena *arena = hg_arena_new();
    char err[128];
    assert_non_null(arena);
    const struct hg_json *root =
        hg_json_parse(arena, text, len, HG_JSON_MAX_DEPTH, 0, err, sizeof err);
    int rc = root != NULL ? hg_json_write(out, root, HG_JSON_SORT_NONE) : -1;
    hg_arena_free(arena);
    return rc;
}

static void
check_json_string(const char *name, const struct hg_json *env, const char *key,
                  const char *expected)
{
    const struct hg_json *v = hg_json_get(env, key);
    char what[64];
    snprintf(what, sizeof what, "%s envelope.%s", name, key);
    if (expected == NULL) {
        if (!CHECK(what, v == NULL))
            print_error("    envelope.%s should be absent\n", key);
        return;
    }
    if (CHECK(what, v != NULL && v->type == HG_JSON_STRING))
        CHECK_MEM(what, v->str, v->len, expected, strlen(expected));
}

static void
check_json_time(const char *name, const struct hg_json *env, const char *key, int64_t expected_ms)
{
    const struct hg_json *v = hg_json_get_type(env, key, HG_JSON_STRING);
    char what[64];
    int64_t ms = -1;
    snprintf(what, sizeof what, "%s envelope.%s", name, key);
    if (CHECK(what, v != NULL) && CHECK_INT(what, hg_time_parse_iso8601(v->str, v->len, &ms), 0))
        CHECK_INT(what, ms, expected_ms);
}

static void
check_event(const struct row *r, const struct hg_event *ev, const char *body,
            const char *expected_tenant)
{
    const char *name = r->name;
    const char *provider = headers_provider(r);
    const int oneup = strcmp(provider, "oneupvision") == 0;
    const char *event_name =
        oneup ? or_default(r->event, "punch.create") : or_default(r->event, "clocking");
    const char *category = or_default(r->category, "attendance.punched");
    char expected[256];

    /* id: "<provider>:" + sha256 hex of the raw body */
    unsigned char digest[HG_SHA256_LEN];
    char hex[2 * HG_SHA256_LEN + 1];
    hg_sha256(body, strlen(body), digest);
    to_hex(digest, sizeof digest, hex);
    char id[128];
    snprintf(id, sizeof id, "%s:%s", provider, hex);
    CHECK_STR(name, ev->id, id);

    snprintf(expected, sizeof expected, "%s.%s", provider, event_name);
    CHECK_STR(name, ev->type, expected);
    CHECK_STR(name, ev->category, category);
    CHECK_STR(name, ev->provider, provider);
    char stream[64];
    snprintf(stream, sizeof stream, "webhooks:{%s}", provider);
    CHECK_STR(name, ev->stream, stream);
    snprintf(expected, sizeof expected, "%s:seen:%s", stream, id);
    CHECK_STR(name, ev->seen_key, expected);

    if (!CHECK(name, ev->envelope != NULL))
        return;
    CHECK_INT(name, ev->envelope_len, strlen(ev->envelope));

    struct hg_arena *arena = hg_arena_new();
    char err[128];
    assert_non_null(arena);
    const struct hg_json *env =
        hg_json_parse(arena, ev->envelope, ev->envelope_len, HG_JSON_MAX_DEPTH, 0, err, sizeof err);
    if (!CHECK(name, env != NULL && env->type == HG_JSON_OBJECT)) {
        print_error("    envelope does not parse: %s\n", err);
        hg_arena_free(arena);
        return;
    }
    check_json_string(name, env, "specversion", "1.0");
    check_json_string(name, env, "id", id);
    snprintf(expected, sizeof expected, "/webhooks/%s", provider);
    check_json_string(name, env, "source", expected);
    check_json_string(name, env, "type", ev->type);
    check_json_string(name, env, "category", category);
    check_json_string(name, env, "provider", provider);
    check_json_string(name, env, "tenant", expected_tenant);
    const char *subject = r->subject;
    if (subject == NULL && r->body == NULL)
        subject = oneup ? "2" : "CLOCKING-ID-123";
    if (subject != NULL)
        check_json_string(name, env, "subject", subject);
    int64_t time_ms = r->time_ms != 0 ? r->time_ms : oneup ? T_SEED : NOW_MS;
    check_json_time(name, env, "time", time_ms);
    check_json_time(name, env, "receivedat", NOW_MS);
    check_json_string(name, env, "verification", oneup ? "hmac-sha256" : "hmac-sha1");
    check_json_string(name, env, "datacontenttype", "application/json");

    /* data is the whole body, unchanged: compare compact forms. */
    const struct hg_json *data = hg_json_get(env, "data");
    if (CHECK(name, data != NULL)) {
        struct hg_buf got, want;
        hg_buf_init(&got, 1 << 20);
        hg_buf_init(&want, 1 << 20);
        if (CHECK_INT(name, hg_json_write(&got, data, HG_JSON_SORT_NONE), 0) &&
            CHECK_INT(name, compact(body, strlen(body), &want), 0))
            CHECK_MEM(name, got.data, got.len, want.data, want.len);
        hg_buf_free(&got);
        hg_buf_free(&want);
    }
    hg_arena_free(arena);
}

static void
run_row(const struct row *r)
{
    struct built b;
    char body_buf[2048];
    build(r, &b, body_buf, sizeof body_buf);

    struct hg_request req = {
        .headers = b.headers,
        .header_count = b.count,
        .body = b.body,
        .body_len = b.body_len,
        .route_provider = r->route_provider,
        .route_tenant = r->route_tenant,
        .client_addr = "192.0.2.10",
        .now_ms = NOW_MS,
    };
    struct hg_outcome *out = hg_process(r->trutac_only ? config_trutac_only : config, &req);
    /* The outcome borrows nothing from the request. */
    built_free(&b);
    if (!CHECK(r->name, out != NULL))
        return;

    enum hg_status st = hg_outcome_status(out);
    if (r->http != 0) {
        if (!CHECK_INT(r->name, hg_status_http(st), r->http))
            print_error("    status %s\n", hg_status_str(st));
        CHECK(r->name, st != HG_OK);
    } else if (!CHECK_INT(r->name, st, r->status)) {
        print_error("    status %s, expected %s; message: %s\n", hg_status_str(st),
                    hg_status_str(r->status),
                    hg_outcome_message(out) ? hg_outcome_message(out) : "(null)");
    }

    const char *want_provider = r->provider != NULL ? r->provider : headers_provider(r);
    if (want_provider != ANY) {
        if (want_provider[0] == '\0')
            CHECK(r->name, hg_outcome_provider(out) == NULL);
        else
            CHECK_STR(r->name, hg_outcome_provider(out), want_provider);
    }

    /* A message never carries a secret, nor the body. */
    const char *message = hg_outcome_message(out);
    for (size_t i = 0; i < UNIT_ARRAY_LEN(all_secrets); i++)
        CHECK_NOT_CONTAINS(r->name, message, all_secrets[i]);
    CHECK_NOT_CONTAINS(r->name, message, "BODY-MARKER");
    CHECK_NOT_CONTAINS(r->name, message, "CLOCKING-ID");
    CHECK_NOT_CONTAINS(r->name, message, "Rohit");

    size_t count = 99;
    const struct hg_event *events = hg_outcome_events(out, &count);
    int expect_event = r->http == 0 && r->status == HG_OK;
    if (expect_event) {
        if (CHECK_INT(r->name, count, 1) && CHECK(r->name, events != NULL)) {
            const char *tenant = r->route_tenant;
            if (tenant == NULL && strcmp(headers_provider(r), "oneupvision") == 0)
                tenant = or_default(r->uuid, OU_UUID);
            check_event(r, &events[0], body_buf, tenant);
        }
    } else {
        CHECK_INT(r->name, count, 0);
        if (r->status != HG_PING)
            CHECK(r->name, message != NULL && message[0] != '\0');
    }
    hg_outcome_free(out);
}

static void
test_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < UNIT_ARRAY_LEN(rows); i++)
        run_row(&rows[i]);
    hg_outcome_free(NULL); /* every _free accepts NULL */
    UNIT_END();
}

/*
 * An event header that is not UTF-8 never makes an envelope that is not
 * JSON: the request is refused (400), or the envelope still parses strictly.
 */
struct bad_event_case {
    enum hdrs hdrs;
    const char *event;
};

static const struct bad_event_case bad_event_cases[] = {
    {H_ONEUP, "punch.\xff"},
    {H_ONEUP, "punch.\xc0\xaf"},
    {H_ONEUP, "punch.\xed\xa0\x80"},
    {H_TRUTAC, "clocking\xff"},
};

static void
test_event_header_not_utf8(void **state)
{
    (void)state;
    for (size_t i = 0; i < UNIT_ARRAY_LEN(bad_event_cases); i++) {
        const struct bad_event_case *c = &bad_event_cases[i];
        const struct row r = {.name = "event-header-not-utf8", .hdrs = c->hdrs, .event = c->event};
        struct built b;
        char body_buf[2048];
        build(&r, &b, body_buf, sizeof body_buf);
        struct hg_request req = {.headers = b.headers,
                                 .header_count = b.count,
                                 .body = b.body,
                                 .body_len = b.body_len,
                                 .now_ms = NOW_MS};
        struct hg_outcome *out = hg_process(config, &req);
        built_free(&b);
        assert_non_null(out);
        enum hg_status st = hg_outcome_status(out);
        size_t count = 0;
        const struct hg_event *ev = hg_outcome_events(out, &count);
        if (st != HG_OK) {
            CHECK_INT(r.name, hg_status_http(st), 400);
        } else if (CHECK_INT(r.name, count, 1)) {
            struct hg_arena *arena = hg_arena_new();
            char err[128];
            assert_non_null(arena);
            if (!CHECK(r.name, hg_json_parse(arena, ev[0].envelope, ev[0].envelope_len,
                                             HG_JSON_MAX_DEPTH, 0, err, sizeof err) != NULL)) {
                print_error("    event header ");
                unit_print_bytes(c->event, strlen(c->event));
                print_error(" accepted, but the envelope does not parse: %s\n", err);
            }
            hg_arena_free(arena);
        }
        hg_outcome_free(out);
    }
    UNIT_END();
}

/* The same delivery twice gives the same event id (the dedup key). */
static void
test_stable_id(void **state)
{
    (void)state;
    const struct row r = {.name = "stable-id", .hdrs = H_ONEUP};
    char ids[2][160];
    for (int i = 0; i < 2; i++) {
        struct built b;
        char body_buf[2048];
        build(&r, &b, body_buf, sizeof body_buf);
        struct hg_request req = {.headers = b.headers,
                                 .header_count = b.count,
                                 .body = b.body,
                                 .body_len = b.body_len,
                                 .now_ms = NOW_MS + i * 1000};
        struct hg_outcome *out = hg_process(config, &req);
        built_free(&b);
        assert_non_null(out);
        size_t count = 0;
        const struct hg_event *ev = hg_outcome_events(out, &count);
        ids[i][0] = '\0';
        if (CHECK_INT(r.name, hg_outcome_status(out), HG_OK) && CHECK_INT(r.name, count, 1))
            snprintf(ids[i], sizeof ids[i], "%s", ev[0].id);
        hg_outcome_free(out);
    }
    CHECK_STR("stable-id", ids[1], ids[0]);
    UNIT_END();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_stable_id),
        cmocka_unit_test(test_event_header_not_utf8),
    };
    return cmocka_run_group_tests_name("providers", tests, setup, teardown);
}
