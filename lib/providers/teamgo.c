/*
 * teamgo.c - Teamgo (visitor management).
 *
 * The signature travels in the body: hex HMAC-SHA256, keyed by the API key,
 * over the timestamp text followed by the token. It does not cover `data`,
 * so a captured delivery could carry other data under the same signature:
 * each token is therefore single-use. The publish records the token together
 * with the event it came with (atomically, in Redis, so every gateway behind
 * a load balancer agrees); the same token with another event is a replay.
 * The event id is derived from the type and the canonical data, so a retry
 * that Teamgo re-signs with a new token is still the same event.
 */
#include <string.h>

#include "provider.h"

#define TEAMGO_SIG_HEX 64

static const struct hg_category_map categories[] = {
    {"checkin", "visitor.checked_in"},
    {"checkout", "visitor.checked_out"},
    {"rq_assistance", "visitor.assistance_requested"},
    {"courier", "delivery.arrived"},
    {"import_success", "import.succeeded"},
    {"import_failed", "import.failed"},
    {NULL, NULL},
};

/* Which data field holds the time of each event type. */
static const struct hg_category_map time_fields[] = {
    {"checkin", "checkin_time"},
    {"checkout", "checkout_time"},
    {"rq_assistance", "request_time"},
    {"courier", "request_time"},
    {"import_success", "import_time"},
    {"import_failed", "import_time"},
    {NULL, NULL},
};

static int
is_hex(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return 0;
    }
    return 1;
}

static enum hg_detect
detect(const struct hg_request *req, const struct hg_json *body)
{
    const struct hg_json *sig = hg_json_get_type(body, "signature", HG_JSON_STRING);
    const struct hg_json *ts = hg_json_get(body, "timestamp");

    (void)req;
    if (hg_json_get_type(body, "token", HG_JSON_STRING) == NULL || sig == NULL ||
        sig->len != TEAMGO_SIG_HEX || !is_hex(sig->str, sig->len) || ts == NULL ||
        (ts->type != HG_JSON_STRING && ts->type != HG_JSON_NUMBER) ||
        hg_json_get_type(body, "type", HG_JSON_STRING) == NULL ||
        hg_json_get_type(body, "data", HG_JSON_OBJECT) == NULL)
        return HG_DETECT_NO;
    return HG_DETECT_SHAPE;
}

/* Unix seconds from a string of digits or an integer token; -1 if neither. */
static int64_t
parse_seconds(const struct hg_json *ts)
{
    return hg_json_uint(ts, 12, 1);
}

static enum hg_status
authenticate(struct hg_ctx *ctx)
{
    const struct hg_json *body = ctx->body;
    const struct hg_json *token = hg_json_get_type(body, "token", HG_JSON_STRING);
    const struct hg_json *sig = hg_json_get_type(body, "signature", HG_JSON_STRING);
    const struct hg_json *ts = hg_json_get(body, "timestamp");
    const struct hg_secret_list *secrets = hg_ctx_secrets(ctx, ctx->req->route_tenant);
    struct hg_buf msg;
    int64_t seconds;
    int ok;

    if (secrets == NULL)
        return HG_ERR_UNAUTHORIZED;
    if (token == NULL || token->len == 0 || sig == NULL || ts == NULL ||
        (ts->type != HG_JSON_STRING && ts->type != HG_JSON_NUMBER))
        return hg_ctx_fail(ctx, HG_ERR_UNAUTHORIZED,
                           "token, signature and timestamp are required in the body");

    hg_buf_init(&msg, ts->len + token->len + 1);
    hg_buf_append(&msg, ts->str, ts->len);
    hg_buf_append(&msg, token->str, token->len);
    if (msg.failed) {
        hg_buf_free(&msg);
        return HG_ERR_NOMEM;
    }
    ok = hg_hmac_verify_hex(HG_DIGEST_SHA256, secrets, msg.data, msg.len, sig->str, sig->len);
    hg_buf_free(&msg);
    if (!ok)
        return hg_ctx_fail(ctx, HG_ERR_UNAUTHORIZED, "signature does not match");

    if ((seconds = parse_seconds(ts)) < 0)
        return hg_ctx_fail(ctx, HG_ERR_UNAUTHORIZED, "timestamp is not unix seconds");
    enum hg_status st = hg_ctx_check_fresh(ctx, seconds * 1000);
    if (st != HG_OK)
        return st;
    /* A token stays single-use for as long as its timestamp is acceptable. */
    return hg_ctx_set_nonce(ctx, token->str, token->len, 2 * ctx->config->timestamp_tolerance_s);
}

static enum hg_status
normalize(struct hg_ctx *ctx)
{
    const struct hg_json *type = hg_json_get_type(ctx->body, "type", HG_JSON_STRING);
    const struct hg_json *data = hg_json_get_type(ctx->body, "data", HG_JSON_OBJECT);
    const struct hg_json *subject, *when;
    struct hg_event_spec spec = {0};
    struct hg_buf canon;
    const char *field;

    if (type == NULL || data == NULL)
        return hg_ctx_fail(ctx, HG_ERR_BAD_REQUEST, "type (string) and data (object) required");
    spec.name = type->str;
    spec.name_len = type->len;
    spec.category = hg_category_lookup(categories, type->str, type->len);

    spec.time_ms = parse_seconds(hg_json_get(ctx->body, "timestamp")) * 1000;
    field = hg_category_lookup(time_fields, type->str, type->len);
    when = strcmp(field, "other") != 0 ? hg_json_get_type(data, field, HG_JSON_STRING) : NULL;
    if (when)
        (void)hg_time_parse_iso8601(when->str, when->len, &spec.time_ms);

    subject = hg_json_get(data, "pass_id");
    if (subject == NULL || (subject->type != HG_JSON_STRING && subject->type != HG_JSON_NUMBER))
        subject = hg_json_get_type(data, "host_email", HG_JSON_STRING);
    hg_spec_subject(&spec, subject);

    /* id = sha256(type "\n" canonical(data)): stable across re-signed retries */
    hg_buf_init(&canon, (size_t)ctx->config->max_body * 2 + type->len + 2);
    hg_buf_append(&canon, type->str, type->len);
    hg_buf_appendc(&canon, '\n');
    if (hg_json_write(&canon, data, HG_JSON_SORT_DEEP) != 0) {
        hg_buf_free(&canon);
        return HG_ERR_NOMEM;
    }
    hg_sha256(canon.data, canon.len, spec.id_digest);
    hg_buf_free(&canon);
    spec.data_node = data;
    return hg_ctx_add_event(ctx, &spec);
}

static const char *const headers[] = {NULL};

const struct hg_provider hg_provider_teamgo = {
    .name = "teamgo",
    .verification = "hmac-sha256",
    .headers = headers,
    .detect = detect,
    .authenticate = authenticate,
    .normalize = normalize,
};
