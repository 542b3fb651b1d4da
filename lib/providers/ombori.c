/*
 * ombori.c - Ombori queue and booking (positions, bookings, feedback).
 *
 * Ombori documents no signature, so authentication is the operator's
 * choice, under "auth": a secret token (the last path segment or a
 * configured header), HTTP Basic credentials, and/or a client address
 * allow-list. Every configured method must pass; all comparisons are
 * constant-time. With no method configured the gateway refuses to start,
 * unless "auth": "none" is written out, which is then warned about at every
 * start. Nothing here protects the payload itself: anyone holding the token
 * (or inside the allowed network) can post any event.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "provider.h"

#define BASIC_MAX 1024

struct ombori_auth {
    int none;
    struct hg_secret_list tokens;
    char *token_header;
    struct hg_secret_list basic; /* "user:password" */
    struct hg_cidr_list allow_ips;
    char verification[32];
};

static const struct hg_category_map categories[] = {
    {"positionCreated", "queue.ticket_created"},
    {"bookingConfirmation", "queue.booking_confirmed"},
    {"bookingActivated", "queue.booking_activated"},
    {"bookingRemoved", "queue.booking_removed"},
    {"positionRetry", "queue.retried"},
    {"positionCalled", "queue.called"},
    {"positionFulfilled", "queue.fulfilled"},
    {"positionCompleted", "queue.completed"},
    {"positionCancelled", "queue.cancelled"},
    {"positionCancelledByStaff", "queue.cancelled_by_staff"},
    {"feedbackReceived", "feedback.received"},
    {NULL, NULL},
};

static const char *const headers[] = {"Authorization", NULL};

/* ------------------------------------------------------------------------ */
/* Configuration                                                             */
/* ------------------------------------------------------------------------ */

static void
auth_free(void *extra)
{
    struct ombori_auth *a = extra;

    if (a == NULL)
        return;
    hg_secret_list_free(&a->tokens);
    hg_secret_list_free(&a->basic);
    free(a->token_header);
    free(a->allow_ips.items);
    free(a);
}

static int
valid_header_name(const char *s, size_t len)
{
    if (len == 0 || len > 64 || strlen(s) != len)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

static int
config_key(struct hg_provider_config *pc, const char *key, const char *name,
           const struct hg_json *v, char *err, size_t err_size)
{
    struct ombori_auth *a;
    char sub[320];

    if (strcmp(name, "auth") != 0)
        return 1;
    if (pc->extra) {
        snprintf(err, err_size, "%s: given twice", key);
        return -1;
    }
    a = calloc(1, sizeof *a);
    if (a == NULL) {
        snprintf(err, err_size, "%s: out of memory", key);
        return -1;
    }
    pc->extra = a;
    if (v->type == HG_JSON_STRING && strcmp(v->str, "none") == 0) {
        a->none = 1;
        snprintf(a->verification, sizeof a->verification, "none");
        return 0;
    }
    if (v->type != HG_JSON_OBJECT) {
        snprintf(err, err_size, "%s: must be an object, or the string \"none\"", key);
        return -1;
    }
    for (size_t i = 0; i < v->count; i++) {
        const char *k = v->keys[i];
        const struct hg_json *m = v->items[i];
        int rc;

        if (snprintf(sub, sizeof sub, "%s.%s", key, k) < 0)
            sub[0] = '\0';
        if (strcmp(k, "tokens") == 0) {
            rc = hg_config_parse_secrets(sub, m, &a->tokens, err, err_size);
        } else if (strcmp(k, "basic") == 0) {
            rc = hg_config_parse_secrets(sub, m, &a->basic, err, err_size);
            for (size_t s = 0; rc == 0 && s < a->basic.count; s++) {
                if (memchr(a->basic.items[s].bytes, ':', a->basic.items[s].len) == NULL) {
                    snprintf(err, err_size, "%s[%zu]: must be \"user:password\"", sub, s);
                    rc = -1;
                }
            }
        } else if (strcmp(k, "allow_ips") == 0) {
            rc = hg_config_parse_cidrs(sub, m, &a->allow_ips, err, err_size);
        } else if (strcmp(k, "token_header") == 0) {
            rc = 0;
            if (m->type != HG_JSON_STRING || !valid_header_name(m->str, m->len)) {
                snprintf(err, err_size, "%s: must be an HTTP header name", sub);
                rc = -1;
            } else if ((a->token_header = strdup(m->str)) == NULL) {
                snprintf(err, err_size, "%s: out of memory", sub);
                rc = -1;
            }
        } else {
            snprintf(err, err_size, "%s: unknown key", sub);
            rc = -1;
        }
        if (rc != 0)
            return -1;
    }
    if (a->token_header && a->tokens.count == 0) {
        snprintf(err, err_size, "%s.token_header: needs auth.tokens", key);
        return -1;
    }
    snprintf(a->verification, sizeof a->verification, "%s%s%s%s%s", a->tokens.count ? "token" : "",
             a->tokens.count && (a->basic.count || a->allow_ips.count) ? "+" : "",
             a->basic.count ? "basic" : "", a->basic.count && a->allow_ips.count ? "+" : "",
             a->allow_ips.count ? "ip" : "");
    return 0;
}

static int
config_check(const struct hg_provider_config *pc, char *err, size_t err_size)
{
    const struct ombori_auth *a = pc->extra;

    if (pc->secrets.count || pc->tenant_count) {
        snprintf(err, err_size,
                 "takes no \"secrets\" or \"tenants\" (Ombori does not sign): "
                 "configure \"auth\"");
        return -1;
    }
    if (a == NULL ||
        (!a->none && a->tokens.count == 0 && a->basic.count == 0 && a->allow_ips.count == 0)) {
        snprintf(err, err_size,
                 "no authentication configured: set auth.tokens, auth.basic or auth.allow_ips, "
                 "or write \"auth\": \"none\" to accept unauthenticated deliveries");
        return -1;
    }
    return 0;
}

static const char *
config_warning(const struct hg_provider_config *pc)
{
    const struct ombori_auth *a = pc->extra;

    return a && a->none ? "providers.ombori: \"auth\": \"none\": Ombori deliveries are accepted "
                          "without any authentication"
                        : NULL;
}

/* ------------------------------------------------------------------------ */
/* Requests                                                                  */
/* ------------------------------------------------------------------------ */

static enum hg_detect
detect(const struct hg_request *req, const struct hg_json *body)
{
    const struct hg_json *type = hg_json_get_type(body, "type", HG_JSON_STRING);

    (void)req;
    if (type == NULL ||
        (strncmp(type->str, "position", 8) != 0 && strncmp(type->str, "booking", 7) != 0 &&
         strncmp(type->str, "feedback", 8) != 0) ||
        hg_json_get_type(hg_json_get_type(body, "data", HG_JSON_OBJECT), "position",
                         HG_JSON_OBJECT) == NULL ||
        hg_json_get_type(body, "organization", HG_JSON_STRING) == NULL)
        return HG_DETECT_NO;
    return HG_DETECT_SHAPE;
}

/* 1 when `value` equals one of the secrets; every one is compared. */
static int
matches_any(const struct hg_secret_list *list, const void *value, size_t len)
{
    int match = 0;

    for (size_t i = 0; i < list->count; i++)
        match |= hg_ct_equal(list->items[i].bytes, list->items[i].len, value, len);
    return match;
}

static enum hg_status
check_tokens(struct hg_ctx *ctx, const struct ombori_auth *a)
{
    const char *path_token = ctx->req->route_tenant;
    const char *header_token = NULL;
    int seen = 0, ok = 1;

    if (a->token_header) {
        for (size_t i = 0; i < ctx->req->header_count; i++) {
            if (strcasecmp(ctx->req->headers[i].name, a->token_header) == 0) {
                header_token = ctx->req->headers[i].value;
                seen++;
            }
        }
        if (seen > 1)
            return hg_ctx_fail(ctx, HG_ERR_BAD_REQUEST, "header %s appears more than once",
                               a->token_header);
    }
    if (path_token == NULL && header_token == NULL)
        return hg_ctx_fail(ctx, HG_ERR_UNAUTHORIZED, "missing token");
    /* every token presented must be valid */
    if (path_token)
        ok &= matches_any(&a->tokens, path_token, strlen(path_token));
    if (header_token)
        ok &= matches_any(&a->tokens, header_token, strlen(header_token));
    return ok ? HG_OK : hg_ctx_fail(ctx, HG_ERR_UNAUTHORIZED, "token does not match");
}

static enum hg_status
check_basic(struct hg_ctx *ctx, const struct ombori_auth *a)
{
    const char *authz = hg_request_header(ctx->req, "Authorization");
    unsigned char decoded[BASIC_MAX];
    long len;
    int ok;

    if (authz == NULL || strncasecmp(authz, "Basic ", 6) != 0)
        return hg_ctx_fail(ctx, HG_ERR_UNAUTHORIZED, "missing Basic credentials");
    authz += 6;
    while (*authz == ' ')
        authz++;
    len = hg_base64_decode(authz, strlen(authz), decoded, sizeof decoded);
    if (len < 0)
        return hg_ctx_fail(ctx, HG_ERR_UNAUTHORIZED, "malformed Basic credentials");
    ok = matches_any(&a->basic, decoded, (size_t)len);
    OPENSSL_cleanse(decoded, sizeof decoded);
    return ok ? HG_OK : hg_ctx_fail(ctx, HG_ERR_UNAUTHORIZED, "Basic credentials do not match");
}

static enum hg_status
authenticate(struct hg_ctx *ctx)
{
    const struct ombori_auth *a = ctx->pconf->extra;
    char client[64];
    enum hg_status st;

    if (a == NULL)
        return hg_ctx_fail(ctx, HG_ERR_UNAUTHORIZED, "no authentication configured");
    ctx->verification = a->verification;
    if (a->none)
        return ctx->req->route_tenant
                   ? hg_ctx_fail(ctx, HG_ERR_UNAUTHORIZED, "no tokens are configured")
                   : HG_OK;
    if (a->tokens.count) {
        if ((st = check_tokens(ctx, a)) != HG_OK)
            return st;
    } else if (ctx->req->route_tenant) {
        return hg_ctx_fail(ctx, HG_ERR_UNAUTHORIZED, "no tokens are configured");
    }
    if (a->basic.count && (st = check_basic(ctx, a)) != HG_OK)
        return st;
    if (a->allow_ips.count) {
        if (hg_client_addr(ctx->config, ctx->req, client, sizeof client) != 0 ||
            !hg_cidr_list_match(&a->allow_ips, client))
            return hg_ctx_fail(ctx, HG_ERR_FORBIDDEN, "client address is not allowed");
    }
    return HG_OK;
}

static enum hg_status
normalize(struct hg_ctx *ctx)
{
    const struct hg_json *type = hg_json_get_type(ctx->body, "type", HG_JSON_STRING);
    const struct hg_json *position = hg_json_get_type(
        hg_json_get_type(ctx->body, "data", HG_JSON_OBJECT), "position", HG_JSON_OBJECT);
    const struct hg_json *id = hg_json_get(position, "id");
    struct hg_event_spec spec = {0};

    /* On its explicit route too, the body must be an Ombori payload; the type
     * may be one this gateway does not know yet (category "other"). */
    if (type == NULL || position == NULL ||
        hg_json_get_type(ctx->body, "organization", HG_JSON_STRING) == NULL)
        return hg_ctx_fail(ctx, HG_ERR_BAD_REQUEST,
                           "not an Ombori payload: needs a string type, an object data.position "
                           "and a string organization");
    spec.name = type->str;
    spec.name_len = type->len;
    spec.category = hg_category_lookup(categories, type->str, type->len);
    hg_spec_subject(&spec, id);
    spec.time_ms = -1;
    hg_sha256(ctx->req->body, ctx->req->body_len, spec.id_digest);
    hg_spec_data_body(ctx, &spec);
    return hg_ctx_add_event(ctx, &spec);
}

const struct hg_provider hg_provider_ombori = {
    .name = "ombori",
    .verification = "none",
    .path_segment_is_secret = 1,
    .headers = headers,
    .detect = detect,
    .authenticate = authenticate,
    .normalize = normalize,
    .config_key = config_key,
    .config_check = config_check,
    .config_free = auth_free,
    .config_warning = config_warning,
};
