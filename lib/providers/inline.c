/*
 * inline.c - inline (restaurant reservations, vouchers, food orders).
 *
 * X-Hub-Signature is "sha1=" and hex HMAC-SHA1 over the payload "sorted by
 * key in asc order". The documentation does not say whether the sort is deep,
 * so the signature is accepted over the deep-sorted canonical form, the form
 * with only the top-level keys sorted, or the raw body. The canonical form is
 * what JavaScript's JSON.stringify prints (see json.c). A body carries a
 * batch of events; each becomes one envelope, published all-or-nothing.
 */
#include <string.h>
#include <strings.h>

#include "provider.h"

static const struct hg_category_map categories[] = {
    {"reservation-created", "reservation.created"},
    {"reservation-canceled", "reservation.canceled"},
    {"reservation-uncanceled", "reservation.uncanceled"},
    {"reservation-time-changed", "reservation.time_changed"},
    {"reservation-pax-changed", "reservation.pax_changed"},
    {"reservation-seated", "reservation.seated"},
    {"reservation-table-changed", "reservation.table_changed"},
    {"reservation-table-cleaned", "reservation.table_cleaned"},
    {"voucher-issued", "voucher.issued"},
    {"voucher-used", "voucher.used"},
    {"order-created", "order.created"},
    {"order-accepted", "order.accepted"},
    {"order-ready", "order.ready"},
    {"order-cancelled", "order.cancelled"},
    {"order-pickedup", "order.picked_up"},
    {NULL, NULL},
};

static const char *const headers[] = {"X-Hub-Signature", NULL};

static int
has_shape(const struct hg_json *body)
{
    return hg_json_get_type(body, "events", HG_JSON_ARRAY) != NULL &&
           hg_json_get_type(body, "timestamp", HG_JSON_NUMBER) != NULL;
}

static enum hg_detect
detect(const struct hg_request *req, const struct hg_json *body)
{
    return hg_request_header(req, "X-Hub-Signature") && has_shape(body) ? HG_DETECT_HEADERS
                                                                        : HG_DETECT_NO;
}

/* Milliseconds from an integer number token; -1 when it is not one. */
static int64_t
parse_ms(const struct hg_json *n)
{
    return hg_json_uint(n, 15, 0);
}

static enum hg_status
authenticate(struct hg_ctx *ctx)
{
    const char *sig = hg_request_header(ctx->req, "X-Hub-Signature");
    const struct hg_secret_list *secrets = hg_ctx_secrets(ctx, ctx->req->route_tenant);
    static const enum hg_json_sort forms[] = {HG_JSON_SORT_DEEP, HG_JSON_SORT_TOPLEVEL};
    struct hg_buf canon;
    int64_t ts;
    int ok = 0;

    if (secrets == NULL)
        return HG_ERR_UNAUTHORIZED;
    if (sig == NULL)
        return hg_ctx_fail(ctx, HG_ERR_UNAUTHORIZED, "missing X-Hub-Signature");
    if (strncasecmp(sig, "sha1=", 5) != 0)
        return hg_ctx_fail(ctx, HG_ERR_UNAUTHORIZED, "X-Hub-Signature must be sha1=<hex>");
    sig += 5;

    /* Every form is checked (no early exit), like every secret. */
    hg_buf_init(&canon, ctx->req->body_len * 2 + 64);
    for (size_t f = 0; f < sizeof forms / sizeof forms[0]; f++) {
        hg_buf_reset(&canon);
        if (hg_json_write(&canon, ctx->body, forms[f]) != 0) {
            hg_buf_free(&canon);
            return HG_ERR_NOMEM;
        }
        ok |= hg_hmac_verify_hex(HG_DIGEST_SHA1, secrets, canon.data, canon.len, sig, strlen(sig));
    }
    hg_buf_free(&canon);
    ok |= hg_hmac_verify_hex(HG_DIGEST_SHA1, secrets, ctx->req->body, ctx->req->body_len, sig,
                             strlen(sig));
    if (!ok)
        return hg_ctx_fail(ctx, HG_ERR_UNAUTHORIZED, "signature does not match");

    if (!has_shape(ctx->body))
        return hg_ctx_fail(ctx, HG_ERR_BAD_REQUEST,
                           "body needs an events array and a numeric timestamp");
    if ((ts = parse_ms(hg_json_get(ctx->body, "timestamp"))) < 0)
        return hg_ctx_fail(ctx, HG_ERR_UNAUTHORIZED, "timestamp is not unix milliseconds");
    return hg_ctx_check_fresh(ctx, ts);
}

static enum hg_status
normalize(struct hg_ctx *ctx)
{
    const struct hg_json *events = hg_json_get_type(ctx->body, "events", HG_JSON_ARRAY);
    int64_t batch_ms = parse_ms(hg_json_get(ctx->body, "timestamp"));
    struct hg_buf canon;
    enum hg_status st = HG_OK;

    /* Check the whole batch first: a bad element refuses the whole request. */
    for (size_t i = 0; i < events->count; i++) {
        const struct hg_json *ev = events->items[i];

        if (ev->type != HG_JSON_OBJECT || hg_json_get_type(ev, "type", HG_JSON_STRING) == NULL)
            return hg_ctx_fail(ctx, HG_ERR_BAD_REQUEST,
                               "events[%zu] is not an object with a string type", i);
    }
    hg_buf_init(&canon, ctx->req->body_len * 2 + 64);
    for (size_t i = 0; i < events->count && st == HG_OK; i++) {
        const struct hg_json *ev = events->items[i];
        const struct hg_json *type = hg_json_get_type(ev, "type", HG_JSON_STRING);
        const struct hg_json *data = hg_json_get(ev, "data");
        const struct hg_json *id = hg_json_get(data, "id");
        static const struct hg_json null_node = {.type = HG_JSON_NULL};
        struct hg_event_spec spec = {0};
        int64_t ms = parse_ms(hg_json_get(ev, "timestamp"));

        spec.name = type->str;
        spec.name_len = type->len;
        spec.category = hg_category_lookup(categories, type->str, type->len);
        spec.time_ms = ms >= 0 ? ms : batch_ms;
        hg_spec_subject(&spec, id);
        hg_buf_reset(&canon);
        if (hg_json_write(&canon, ev, HG_JSON_SORT_DEEP) != 0) {
            st = HG_ERR_NOMEM;
            break;
        }
        hg_sha256(canon.data, canon.len, spec.id_digest);
        spec.data_node = data ? data : &null_node;
        st = hg_ctx_add_event(ctx, &spec);
    }
    hg_buf_free(&canon);
    return st;
}

const struct hg_provider hg_provider_inline = {
    .name = "inline",
    .verification = "hmac-sha1",
    .headers = headers,
    .detect = detect,
    .authenticate = authenticate,
    .normalize = normalize,
};
