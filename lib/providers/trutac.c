/*
 * trutac.c - TruTac (driver clocking and related events).
 *
 * TT-Hook-Signature is "sha1=" and hex HMAC-SHA1 of the raw body. TruTac
 * sends no timestamp, so freshness cannot be checked: a captured request can
 * be replayed, and is then deduplicated by its body digest within dedup_ttl.
 * TT-Hook-Event "ping" (sent when a hook is created) is verified and
 * answered, never published.
 */
#include <string.h>
#include <strings.h>

#include "provider.h"

static const struct hg_category_map clocking_actions[] = {
    {"created", "attendance.punched"},
    {"updated", "attendance.punch_updated"},
    {"deleted", "attendance.punch_deleted"},
    {NULL, NULL},
};

static const char *const headers[] = {"TT-Hook-Signature", "TT-Hook-Event", NULL};

static enum hg_detect
detect(const struct hg_request *req, const struct hg_json *body)
{
    (void)body;
    return hg_request_header(req, "TT-Hook-Signature") || hg_request_header(req, "TT-Hook-Event")
               ? HG_DETECT_HEADERS
               : HG_DETECT_NO;
}

static enum hg_status
authenticate(struct hg_ctx *ctx)
{
    const char *sig = hg_request_header(ctx->req, "TT-Hook-Signature");
    const struct hg_secret_list *secrets = hg_ctx_secrets(ctx, ctx->req->route_tenant);

    if (secrets == NULL)
        return HG_ERR_UNAUTHORIZED;
    if (sig == NULL)
        return hg_ctx_fail(ctx, HG_ERR_UNAUTHORIZED, "missing TT-Hook-Signature");
    if (strncasecmp(sig, "sha1=", 5) != 0)
        return hg_ctx_fail(ctx, HG_ERR_UNAUTHORIZED, "TT-Hook-Signature must be sha1=<hex>");
    if (!hg_hmac_verify_hex(HG_DIGEST_SHA1, secrets, ctx->req->body, ctx->req->body_len, sig + 5,
                            strlen(sig + 5)))
        return hg_ctx_fail(ctx, HG_ERR_UNAUTHORIZED, "signature does not match");
    return HG_OK;
}

static enum hg_status
normalize(struct hg_ctx *ctx)
{
    const char *event = hg_request_header(ctx->req, "TT-Hook-Event");
    struct hg_event_spec spec = {0};
    const struct hg_json *id, *action;

    if (event == NULL || event[0] == '\0')
        return hg_ctx_fail(ctx, HG_ERR_BAD_REQUEST, "missing TT-Hook-Event");
    if (strcmp(event, "ping") == 0)
        return HG_PING;
    if (ctx->body->type != HG_JSON_OBJECT)
        return hg_ctx_fail(ctx, HG_ERR_BAD_REQUEST, "the body must be a JSON object");
    spec.name = event;
    spec.name_len = strlen(event);
    spec.category = "other";
    action = hg_json_get_type(ctx->body, "action", HG_JSON_STRING);
    if (strcmp(event, "clocking") == 0 && action)
        spec.category = hg_category_lookup(clocking_actions, action->str, action->len);
    id = hg_json_member_id(ctx->body, event);
    if (id == NULL)
        id = hg_json_member_id(ctx->body, NULL);
    hg_spec_subject(&spec, id);
    spec.time_ms = -1;
    hg_sha256(ctx->req->body, ctx->req->body_len, spec.id_digest);
    hg_spec_data_body(ctx, &spec);
    return hg_ctx_add_event(ctx, &spec);
}

const struct hg_provider hg_provider_trutac = {
    .name = "trutac",
    .verification = "hmac-sha1",
    .headers = headers,
    .detect = detect,
    .authenticate = authenticate,
    .normalize = normalize,
};
