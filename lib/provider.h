/*
 * provider.h - the provider interface (private to lib/).
 *
 * A provider is one file, lib/providers/<name>.c, that exports exactly one
 * `const struct hg_provider hg_provider_<name>`, listed once in registry.c.
 * Its functions take the request, the parsed body and the configuration and
 * return a status: they never touch a socket, a clock or a logger, so they
 * are deterministic under test (the pipeline passes `now`).
 */
#ifndef HG_PROVIDER_H
#define HG_PROVIDER_H

#include <stdint.h>

#include "buf.h"
#include "crypto.h"
#include "hookgate.h"
#include "json.h"

enum hg_detect {
    HG_DETECT_NO = 0,
    HG_DETECT_HEADERS, /* the provider's own headers are present */
    HG_DETECT_SHAPE    /* no headers, but the body has the provider's shape */
};

/* Everything a provider's hooks may look at or produce for one request. */
struct hg_ctx {
    const struct hg_config *config;
    const struct hg_provider *provider;
    const struct hg_provider_config *pconf;
    const struct hg_request *req;
    const struct hg_json *body; /* parsed body, never NULL in the hooks */
    int body_compact;           /* the raw body has no white space outside strings */
    struct hg_arena *arena;
    const char *tenant; /* the tenant the request was authenticated for */
    /* envelope "verification"; starts as the provider's, hooks may refine it */
    const char *verification;
    struct hg_outcome *outcome;
};

/* What a provider says about one event; the pipeline builds the envelope. */
struct hg_event_spec {
    const char *name; /* the provider's own event name, becomes "<provider>.<name>" */
    size_t name_len;
    const char *category;
    const char *subject; /* NULL when unknown */
    size_t subject_len;
    int64_t time_ms; /* event time; < 0 means "use the receive time" */
    unsigned char id_digest[HG_SHA256_LEN];
    /* `data`: either a parsed node, or raw JSON bytes when data_node is NULL */
    const struct hg_json *data_node;
    const char *data_raw;
    size_t data_raw_len;
};

struct hg_provider {
    const char *name;         /* config name, route segment, stream name */
    const char *verification; /* envelope "verification", e.g. "hmac-sha256" */
    /* 1 when the path segment after the provider is a credential (a token),
     * not a tenant: it is then masked in logs. */
    int path_segment_is_secret;
    /* The headers the provider reads (NULL-terminated): a request that repeats
     * one of them is refused, since which copy counts would be ambiguous. */
    const char *const *headers;

    /* Does this request come from this provider? `body` is the parsed body. */
    enum hg_detect (*detect)(const struct hg_request *req, const struct hg_json *body);
    /* Verifies signature and freshness; sets ctx->tenant when it knows one. */
    enum hg_status (*authenticate)(struct hg_ctx *ctx);
    /* Adds the request's events with hg_ctx_add_event; may answer HG_PING. */
    enum hg_status (*normalize)(struct hg_ctx *ctx);

    /*
     * Optional configuration hooks for keys beyond enabled/secrets/tenants.
     * config_key gets the member `name` and its full dotted `key`; it returns
     * 0 when it took the key, 1 when the key is not its own, -1 on a bad
     * value (err filled with "<key>: <what is wrong>"). config_check runs after all
     * keys; config_free releases pconf->extra.
     */
    int (*config_key)(struct hg_provider_config *pconf, const char *key, const char *name,
                      const struct hg_json *value, char *err, size_t err_size);
    int (*config_check)(const struct hg_provider_config *pconf, char *err, size_t err_size);
    void (*config_free)(void *extra);
    /* A warning to log at every start for this configuration, or NULL. */
    const char *(*config_warning)(const struct hg_provider_config *pconf);
};

/* ------------------------------------------------------------------------ */
/* Helpers for providers                                                     */
/* ------------------------------------------------------------------------ */

/*
 * Single-use tokens (Teamgo): the publish records `token` as used by this
 * request's event, atomically with the publish, for ttl_s seconds; a token
 * already used by another event makes the publish fail with 401.
 */
enum hg_status hg_ctx_set_nonce(struct hg_ctx *ctx, const char *token, size_t token_len,
                                int64_t ttl_s) HG_WUR;

/*
 * For providers' config hooks: a list of secret references ("env:", "file:",
 * literal) or of CIDRs. On error they write "<key>: <what>" into err and
 * return -1 (the list keeps what was parsed; free it either way).
 */
int hg_config_parse_secrets(const char *key, const struct hg_json *value,
                            struct hg_secret_list *out, char *err, size_t err_size);
int hg_config_parse_cidrs(const char *key, const struct hg_json *value, struct hg_cidr_list *out,
                          char *err, size_t err_size);
void hg_secret_list_free(struct hg_secret_list *list);

/* 1 when addr_text is inside one of the CIDRs. */
int hg_cidr_list_match(const struct hg_cidr_list *list, const char *addr_text);

/* Case-insensitive header lookup; NULL when absent. */
const char *hg_request_header(const struct hg_request *req, const char *name);
/* 1 when any header name starts with `prefix` (case-insensitive). */
int hg_request_has_header_prefix(const struct hg_request *req, const char *prefix);

/* Records the refusal reason and returns `status` (never include a secret). */
enum hg_status hg_ctx_fail(struct hg_ctx *ctx, enum hg_status status, const char *fmt, ...)
    HG_PRINTF(3, 4);

/*
 * Chooses the secrets to verify against. `tenant` is the tenant the request
 * names (from the route, or a provider header), or NULL. With a tenant, it
 * must be configured (else 401); without one, the provider-level secrets are
 * used (none configured: 401). Sets ctx->tenant. Returns NULL after recording
 * the failure with hg_ctx_fail.
 */
const struct hg_secret_list *hg_ctx_secrets(struct hg_ctx *ctx, const char *tenant);

/* HG_OK when `event_ms` lies within the tolerance of now, else HG_ERR_STALE. */
enum hg_status hg_ctx_check_fresh(struct hg_ctx *ctx, int64_t event_ms);

/*
 * Sets spec's data to the whole body: its bytes as received when they are
 * already compact JSON (nothing to re-serialise), else the parsed value.
 */
void hg_spec_data_body(struct hg_ctx *ctx, struct hg_event_spec *spec);

/* Sets spec's subject from an "id" node (a string, or a number's text); NULL: none. */
void hg_spec_subject(struct hg_event_spec *spec, const struct hg_json *id);

/*
 * An unsigned integer from a number token, or from a string of digits when
 * strings_too; -1 when the node is neither or has more than max_digits.
 */
int64_t hg_json_uint(const struct hg_json *node, size_t max_digits, int strings_too);

/* Builds the envelope for one event and adds it to the outcome. */
enum hg_status hg_ctx_add_event(struct hg_ctx *ctx, const struct hg_event_spec *spec) HG_WUR;

/* Finds `name` in a NULL-terminated {event, category} table; "other" if absent. */
struct hg_category_map {
    const char *event;
    const char *category;
};
const char *hg_category_lookup(const struct hg_category_map *map, const char *name, size_t len);

/*
 * Parses an ISO 8601 / RFC 3339 date-time: YYYY-MM-DD[T ]HH:MM:SS[.frac]
 * followed by Z, +HH, +HHMM, +HH:MM (or '-'), or nothing (taken as UTC).
 * Returns 0 and the unix time in milliseconds, or -1.
 */
int hg_time_parse_iso8601(const char *text, size_t len, int64_t *out_ms);

/*
 * The id of an object's top-level member object: for {"punch":{"id":2}} with
 * member NULL (the first member that is an object with an "id"), or with
 * member "punch", the "id" node. NULL when there is none.
 */
const struct hg_json *hg_json_member_id(const struct hg_json *body, const char *member);

#endif
