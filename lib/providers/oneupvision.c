/*
 * oneupvision.c - 1UPVISION (people, attendance, visits).
 *
 * X-ServiceHook-Signature is hex HMAC-SHA256 of the raw body. The secret is
 * the tenant's when tenants are configured, the tenant being the
 * X-ServiceHook-UUID (or the tenant named in the path, which the UUID, when
 * present, must then equal). X-ServiceHook-Timestamp must be fresh.
 */
#include <string.h>

#include "provider.h"

#define UUID_MAX 128

static const struct hg_category_map categories[] = {
    {"visit.checkin", "visitor.checked_in"},
    {"visit.checkout", "visitor.checked_out"},
    {"visit.update", "visitor.updated"},
    {"punch.create", "attendance.punched"},
    {"punch.update", "attendance.punch_updated"},
    {"punch.delete", "attendance.punch_deleted"},
    {"attendance.create", "attendance.day_created"},
    {"attendance.update", "attendance.day_updated"},
    {"people.create", "person.created"},
    {"people.update", "person.updated"},
    {"people.delete", "person.deleted"},
    {"people.bulk_create", "person.created"},
    {"people.bulk_update", "person.updated"},
    {"people.bulk_delete", "person.deleted"},
    {NULL, NULL},
};

static const char *const headers[] = {
    "X-ServiceHook-Event",
    "X-ServiceHook-Timestamp",
    "X-ServiceHook-UUID",
    "X-ServiceHook-Signature",
    NULL,
};

static enum hg_detect
detect(const struct hg_request *req, const struct hg_json *body)
{
    (void)body;
    return hg_request_has_header_prefix(req, "X-ServiceHook-") ? HG_DETECT_HEADERS : HG_DETECT_NO;
}

static enum hg_status
authenticate(struct hg_ctx *ctx)
{
    const struct hg_request *req = ctx->req;
    const char *uuid = hg_request_header(req, "X-ServiceHook-UUID");
    const char *sig = hg_request_header(req, "X-ServiceHook-Signature");
    const char *ts = hg_request_header(req, "X-ServiceHook-Timestamp");
    const struct hg_secret_list *secrets;
    const char *tenant = NULL;
    int64_t ts_ms;

    if (uuid && (uuid[0] == '\0' || strlen(uuid) > UUID_MAX))
        return hg_ctx_fail(ctx, HG_ERR_UNAUTHORIZED, "malformed X-ServiceHook-UUID");
    if (req->route_tenant) {
        if (uuid && strcmp(uuid, req->route_tenant) != 0)
            return hg_ctx_fail(ctx, HG_ERR_UNAUTHORIZED,
                               "X-ServiceHook-UUID differs from the tenant in the path");
        tenant = req->route_tenant;
    } else if (ctx->pconf->tenant_count > 0) {
        if (uuid == NULL)
            return hg_ctx_fail(ctx, HG_ERR_UNAUTHORIZED, "missing X-ServiceHook-UUID");
        tenant = uuid;
    }
    if ((secrets = hg_ctx_secrets(ctx, tenant)) == NULL)
        return HG_ERR_UNAUTHORIZED;
    if (tenant == NULL && uuid != NULL)
        ctx->tenant = hg_arena_strndup(ctx->arena, uuid, strlen(uuid));

    if (sig == NULL)
        return hg_ctx_fail(ctx, HG_ERR_UNAUTHORIZED, "missing X-ServiceHook-Signature");
    if (!hg_hmac_verify_hex(HG_DIGEST_SHA256, secrets, req->body, req->body_len, sig, strlen(sig)))
        return hg_ctx_fail(ctx, HG_ERR_UNAUTHORIZED, "signature does not match");

    if (ts == NULL)
        return hg_ctx_fail(ctx, HG_ERR_UNAUTHORIZED, "missing X-ServiceHook-Timestamp");
    if (hg_time_parse_iso8601(ts, strlen(ts), &ts_ms) != 0)
        return hg_ctx_fail(ctx, HG_ERR_UNAUTHORIZED,
                           "X-ServiceHook-Timestamp is not an ISO 8601 date-time");
    return hg_ctx_check_fresh(ctx, ts_ms);
}

static enum hg_status
normalize(struct hg_ctx *ctx)
{
    const char *event = hg_request_header(ctx->req, "X-ServiceHook-Event");
    const char *ts = hg_request_header(ctx->req, "X-ServiceHook-Timestamp");
    const struct hg_json *id = hg_json_member_id(ctx->body, NULL);
    struct hg_event_spec spec = {0};

    if (event == NULL || event[0] == '\0')
        return hg_ctx_fail(ctx, HG_ERR_BAD_REQUEST, "missing X-ServiceHook-Event");
    if (ctx->body->type != HG_JSON_OBJECT)
        return hg_ctx_fail(ctx, HG_ERR_BAD_REQUEST, "the body must be a JSON object");
    if (ts == NULL || hg_time_parse_iso8601(ts, strlen(ts), &spec.time_ms) != 0)
        return hg_ctx_fail(ctx, HG_ERR_UNAUTHORIZED, "missing X-ServiceHook-Timestamp");
    spec.name = event;
    spec.name_len = strlen(event);
    spec.category = hg_category_lookup(categories, event, spec.name_len);
    hg_spec_subject(&spec, id);
    hg_sha256(ctx->req->body, ctx->req->body_len, spec.id_digest);
    hg_spec_data_body(ctx, &spec);
    return hg_ctx_add_event(ctx, &spec);
}

const struct hg_provider hg_provider_oneupvision = {
    .name = "oneupvision",
    .verification = "hmac-sha256",
    .headers = headers,
    .detect = detect,
    .authenticate = authenticate,
    .normalize = normalize,
};
