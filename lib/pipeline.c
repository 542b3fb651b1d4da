/*
 * pipeline.c - route, detect, authenticate, normalize: one request in, an
 * outcome (a status and zero or more envelopes) out.
 *
 * This file owns the envelope format and the stream and dedup key names; the
 * providers only say what their event is (hg_event_spec).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "provider.h"

#define EVENT_NAME_MAX 128
#define SUBJECT_MAX 512

struct hg_outcome {
    enum hg_status status;
    const struct hg_provider *provider;
    char message[256];
    struct hg_arena *arena;
    struct hg_event *events;
    size_t count;
    size_t cap;
    char receivedat[32];
    char *nonce_key; /* single-use token key, or NULL */
    int64_t nonce_ttl_s;
    int owns_arena; /* hg_process's own arena, freed with the outcome */
};

/* ------------------------------------------------------------------------ */
/* Helpers for providers                                                     */
/* ------------------------------------------------------------------------ */

const char *
hg_request_header(const struct hg_request *req, const char *name)
{
    for (size_t i = 0; i < req->header_count; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

int
hg_request_has_header_prefix(const struct hg_request *req, const char *prefix)
{
    size_t n = strlen(prefix);

    for (size_t i = 0; i < req->header_count; i++)
        if (strncasecmp(req->headers[i].name, prefix, n) == 0)
            return 1;
    return 0;
}

static void
set_message(struct hg_outcome *o, const char *fmt, va_list ap)
{
    vsnprintf(o->message, sizeof o->message, fmt, ap);
}

static enum hg_status outcome_fail(struct hg_outcome *o, enum hg_status status, const char *fmt,
                                   ...) HG_PRINTF(3, 4);

static enum hg_status
outcome_fail(struct hg_outcome *o, enum hg_status status, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    set_message(o, fmt, ap);
    va_end(ap);
    o->status = status;
    return status;
}

enum hg_status
hg_ctx_fail(struct hg_ctx *ctx, enum hg_status status, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    set_message(ctx->outcome, fmt, ap);
    va_end(ap);
    return status;
}

const struct hg_secret_list *
hg_ctx_secrets(struct hg_ctx *ctx, const char *tenant)
{
    const struct hg_provider_config *pc = ctx->pconf;

    if (tenant != NULL) {
        for (size_t i = 0; i < pc->tenant_count; i++) {
            if (strcmp(pc->tenants[i].id, tenant) == 0) {
                ctx->tenant = pc->tenants[i].id;
                return &pc->tenants[i].secrets;
            }
        }
        hg_ctx_fail(ctx, HG_ERR_UNAUTHORIZED, "unknown tenant");
        return NULL;
    }
    if (pc->secrets.count == 0) {
        hg_ctx_fail(ctx, HG_ERR_UNAUTHORIZED,
                    "no tenant given, and %s has no provider-wide secret configured",
                    ctx->provider->name);
        return NULL;
    }
    return &pc->secrets;
}

enum hg_status
hg_ctx_set_nonce(struct hg_ctx *ctx, const char *token, size_t token_len, int64_t ttl_s)
{
    unsigned char digest[HG_SHA256_LEN];
    char hex[2 * HG_SHA256_LEN + 1];

    /* The key holds a digest, not the token: keys show up in monitoring. */
    hg_sha256(token, token_len, digest);
    hg_hex_encode(digest, sizeof digest, hex);
    ctx->outcome->nonce_key = hg_arena_join(ctx->arena, ctx->config->redis.prefix, ":{",
                                            ctx->provider->name, "}:nonce:", hex, NULL);
    ctx->outcome->nonce_ttl_s = ttl_s;
    return ctx->outcome->nonce_key ? HG_OK : HG_ERR_NOMEM;
}

enum hg_status
hg_ctx_check_fresh(struct hg_ctx *ctx, int64_t event_ms)
{
    int64_t skew_ms = ctx->req->now_ms - event_ms;
    int64_t tolerance_ms = ctx->config->timestamp_tolerance_s * 1000;

    if (skew_ms > tolerance_ms)
        return hg_ctx_fail(ctx, HG_ERR_STALE, "timestamp is %lld s old (tolerance %lld s)",
                           (long long)(skew_ms / 1000),
                           (long long)ctx->config->timestamp_tolerance_s);
    if (-skew_ms > tolerance_ms)
        return hg_ctx_fail(
            ctx, HG_ERR_STALE, "timestamp is %lld s in the future (tolerance %lld s)",
            (long long)(-skew_ms / 1000), (long long)ctx->config->timestamp_tolerance_s);
    return HG_OK;
}

const char *
hg_category_lookup(const struct hg_category_map *map, const char *name, size_t len)
{
    for (; map->event; map++)
        if (strlen(map->event) == len && memcmp(map->event, name, len) == 0)
            return map->category;
    return "other";
}

void
hg_spec_data_body(struct hg_ctx *ctx, struct hg_event_spec *spec)
{
    if (ctx->body_compact) {
        spec->data_node = NULL;
        spec->data_raw = ctx->req->body;
        spec->data_raw_len = ctx->req->body_len;
    } else {
        spec->data_node = ctx->body;
    }
}

void
hg_spec_subject(struct hg_event_spec *spec, const struct hg_json *id)
{
    if (id && (id->type == HG_JSON_STRING || id->type == HG_JSON_NUMBER)) {
        spec->subject = id->str;
        spec->subject_len = id->len;
    }
}

int64_t
hg_json_uint(const struct hg_json *n, size_t max_digits, int strings_too)
{
    int64_t v = 0;

    if (n == NULL || (n->type != HG_JSON_NUMBER && !(strings_too && n->type == HG_JSON_STRING)) ||
        n->len == 0 || n->len > max_digits)
        return -1;
    for (size_t i = 0; i < n->len; i++) {
        if (n->str[i] < '0' || n->str[i] > '9')
            return -1;
        v = v * 10 + (n->str[i] - '0');
    }
    return v;
}

const struct hg_json *
hg_json_member_id(const struct hg_json *body, const char *member)
{
    const struct hg_json *id;

    if (body == NULL || body->type != HG_JSON_OBJECT)
        return NULL;
    if (member != NULL) {
        id = hg_json_get(hg_json_get_type(body, member, HG_JSON_OBJECT), "id");
        return id && (id->type == HG_JSON_STRING || id->type == HG_JSON_NUMBER) ? id : NULL;
    }
    for (size_t i = 0; i < body->count; i++) {
        id = hg_json_get(body->items[i], "id");
        if (id && (id->type == HG_JSON_STRING || id->type == HG_JSON_NUMBER))
            return id;
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Envelope                                                                  */
/* ------------------------------------------------------------------------ */

static char *
stream_key(struct hg_ctx *ctx, const char *category)
{
    const struct hg_redis_config *rc = &ctx->config->redis;
    const char *tag = rc->stream_by == HG_STREAM_BY_PROVIDER   ? ctx->provider->name
                      : rc->stream_by == HG_STREAM_BY_CATEGORY ? category
                                                               : "all";

    return hg_arena_join(ctx->arena, rc->prefix, ":{", tag, "}", NULL);
}

static void
format_event_time(int64_t ms, char out[32])
{
    hg_format_time_ms(ms, out);
    if (ms % 1000 == 0) /* whole seconds: "…:SSZ", as providers write them */
        memcpy(out + 19, "Z", 2);
}

/* Appends `,"<name>":` (given as that literal) and the value as a JSON string. */
#define FIELD(b, lit, value, len)                                                                  \
    (hg_buf_append((b), (lit), sizeof(lit) - 1), hg_buf_append_json_str((b), (value), (len)))

enum hg_status
hg_ctx_add_event(struct hg_ctx *ctx, const struct hg_event_spec *spec)
{
    struct hg_outcome *o = ctx->outcome;
    const char *pname = ctx->provider->name;
    char hex[2 * HG_SHA256_LEN + 1], time_buf[32];
    const char *time_str = o->receivedat;
    struct hg_event *ev;
    struct hg_buf b;

    if (spec->name_len == 0 || spec->name_len > EVENT_NAME_MAX)
        return hg_ctx_fail(ctx, HG_ERR_BAD_REQUEST, "event name is missing or over %d bytes",
                           EVENT_NAME_MAX);
    /* Names and tenants can come from headers: the envelope must stay JSON. */
    if (hg_utf8_validate(spec->name, spec->name_len) != 0)
        return hg_ctx_fail(ctx, HG_ERR_BAD_REQUEST, "event name is not valid UTF-8");
    /* ... and the name becomes a stream field and part of `type`: no
     * control characters (a NUL would cut it short). */
    for (size_t i = 0; i < spec->name_len; i++)
        if ((unsigned char)spec->name[i] < 0x20 || spec->name[i] == 0x7f)
            return hg_ctx_fail(ctx, HG_ERR_BAD_REQUEST, "event name has a control character");
    if (ctx->tenant && hg_utf8_validate(ctx->tenant, strlen(ctx->tenant)) != 0)
        return hg_ctx_fail(ctx, HG_ERR_BAD_REQUEST, "tenant is not valid UTF-8");
    if (o->count == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 4;
        struct hg_event *events = hg_arena_alloc(ctx->arena, cap * sizeof *events);

        if (events == NULL)
            return HG_ERR_NOMEM;
        if (o->count)
            memcpy(events, o->events, o->count * sizeof *events);
        o->events = events;
        o->cap = cap;
    }
    ev = &o->events[o->count];
    memset(ev, 0, sizeof *ev);
    hg_hex_encode(spec->id_digest, HG_SHA256_LEN, hex);
    ev->provider = pname;
    ev->category = spec->category;
    ev->id = hg_arena_join(ctx->arena, pname, ":", hex, NULL);
    {
        const char *parts[] = {pname, ".", spec->name};
        size_t lens[] = {strlen(pname), 1, spec->name_len};
        ev->type = hg_arena_concat(ctx->arena, 3, parts, lens);
    }
    ev->stream = stream_key(ctx, spec->category);
    if (ev->id == NULL || ev->type == NULL || ev->stream == NULL)
        return HG_ERR_NOMEM;
    /* The dedup key lives beside the stream (same hash slot), except with one
     * stream per category: the category can follow an unsigned header (TruTac,
     * 1UPVISION), so a replay under another event name would land in another
     * stream; there the key is per provider, so an event id is published once
     * whatever stream it would go to. */
    if (ctx->config->redis.stream_by == HG_STREAM_BY_CATEGORY)
        ev->seen_key = hg_arena_join(ctx->arena, ctx->config->redis.prefix, ":{", pname,
                                     "}:seen:", ev->id, NULL);
    else
        ev->seen_key = hg_arena_join(ctx->arena, ev->stream, ":seen:", ev->id, NULL);
    if (ev->seen_key == NULL)
        return HG_ERR_NOMEM;
    if (spec->time_ms >= 0) {
        format_event_time(spec->time_ms, time_buf);
        time_str = time_buf;
    }

    /* One allocation: the fixed members take well under 1 KiB besides the
     * strings, and written data is never longer than the body it came from
     * (white space dropped, escapes kept or shortened). */
    hg_buf_init(&b, (size_t)ctx->config->max_body * 8 + 65536);
    hg_buf_reserve(&b, 1024 + strlen(ev->id) + strlen(ev->type) +
                           2 * strlen(ctx->config->path_prefix) +
                           (ctx->tenant ? 6 * strlen(ctx->tenant) : 0) + 6 * spec->subject_len +
                           (spec->data_node ? ctx->req->body_len : spec->data_raw_len));
    hg_buf_appends(&b, "{\"specversion\":\"1.0\"");
    FIELD(&b, ",\"id\":", ev->id, strlen(ev->id));
    {
        const char *source = hg_arena_join(ctx->arena, ctx->config->path_prefix, "/", pname, NULL);

        if (source)
            FIELD(&b, ",\"source\":", source, strlen(source));
        else
            b.failed = 1;
    }
    FIELD(&b, ",\"type\":", ev->type, strlen(ev->type));
    FIELD(&b, ",\"category\":", ev->category, strlen(ev->category));
    FIELD(&b, ",\"provider\":", pname, strlen(pname));
    if (ctx->tenant)
        FIELD(&b, ",\"tenant\":", ctx->tenant, strlen(ctx->tenant));
    if (spec->subject && spec->subject_len <= SUBJECT_MAX)
        FIELD(&b, ",\"subject\":", spec->subject, spec->subject_len);
    FIELD(&b, ",\"time\":", time_str, strlen(time_str));
    FIELD(&b, ",\"receivedat\":", o->receivedat, strlen(o->receivedat));
    FIELD(&b, ",\"verification\":", ctx->verification, strlen(ctx->verification));
    hg_buf_appends(&b, ",\"datacontenttype\":\"application/json\",\"data\":");
    if (spec->data_node)
        hg_json_write(&b, spec->data_node, HG_JSON_SORT_NONE);
    else
        hg_buf_append(&b, spec->data_raw, spec->data_raw_len);
    hg_buf_appendc(&b, '}');
    if (b.failed || hg_arena_adopt(ctx->arena, b.data) != 0) {
        hg_buf_free(&b);
        return HG_ERR_NOMEM;
    }
    ev->envelope = b.data; /* the arena's now */
    ev->envelope_len = b.len;
    o->count++;
    return HG_OK;
}

/* ------------------------------------------------------------------------ */
/* Detection                                                                 */
/* ------------------------------------------------------------------------ */

static void
name_list(char *out, size_t size, const int *idx, size_t n)
{
    size_t used = 0;

    out[0] = '\0';
    for (size_t i = 0; i < n && used < size; i++) {
        int w = snprintf(out + used, size - used, "%s%s", i ? ", " : "",
                         hg_provider_at((size_t)idx[i])->name);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

/*
 * What detection saw, for the refusal message: the provider headers present
 * and the body's top-level member names (names only, never values, at most
 * eight, characters outside [A-Za-z0-9_.-] shown as '?').
 */
static void
describe_request(const struct hg_request *req, const struct hg_json *body, char *out, size_t size)
{
    static const char *const prefixes[] = {"X-Hub-Signature", "TT-Hook-", "X-ServiceHook-"};
    struct hg_buf b;
    int any = 0;

    hg_buf_init(&b, size - 1);
    hg_buf_appends(&b, "headers seen:");
    for (size_t i = 0; i < req->header_count; i++) {
        for (size_t p = 0; p < sizeof prefixes / sizeof prefixes[0]; p++) {
            if (strncasecmp(req->headers[i].name, prefixes[p], strlen(prefixes[p])) == 0) {
                hg_buf_appendf(&b, " %.40s", req->headers[i].name);
                any = 1;
                break;
            }
        }
    }
    if (!any)
        hg_buf_appends(&b, " none");
    if (body->type != HG_JSON_OBJECT) {
        hg_buf_appends(&b, "; body is not a JSON object");
    } else {
        hg_buf_appends(&b, "; body members:");
        for (size_t i = 0; i < body->count && i < 8; i++) {
            hg_buf_appendc(&b, ' ');
            for (size_t c = 0; c < body->key_lens[i] && c < 32; c++) {
                char ch = body->keys[i][c];
                int safe = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                           (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-';
                hg_buf_appendc(&b, safe ? ch : '?');
            }
        }
        if (body->count > 8)
            hg_buf_appends(&b, " …");
        if (body->count == 0)
            hg_buf_appends(&b, " none");
    }
    snprintf(out, size, "%s", b.data ? b.data : "");
    hg_buf_free(&b);
}

static int
detect(struct hg_outcome *o, const struct hg_request *req, const struct hg_json *body)
{
    int by_headers[16], by_shape[16];
    size_t nh = 0, ns = 0, count = hg_provider_count();
    char names[200];

    for (size_t i = 0; i < count && i < 16; i++) {
        switch (hg_provider_at(i)->detect(req, body)) {
        case HG_DETECT_HEADERS:
            by_headers[nh++] = (int)i;
            break;
        case HG_DETECT_SHAPE:
            by_shape[ns++] = (int)i;
            break;
        case HG_DETECT_NO:
            break;
        }
    }
    if (nh == 1)
        return by_headers[0];
    if (nh > 1) {
        name_list(names, sizeof names, by_headers, nh);
        outcome_fail(o, HG_ERR_AMBIGUOUS, "headers of several providers are present: %s", names);
        return -1;
    }
    if (ns == 1)
        return by_shape[0];
    if (ns > 1) {
        name_list(names, sizeof names, by_shape, ns);
        outcome_fail(o, HG_ERR_AMBIGUOUS, "the payload fits several providers: %s", names);
        return -1;
    }
    describe_request(req, body, names, sizeof names);
    outcome_fail(o, HG_ERR_UNKNOWN_SOURCE, "no provider recognised (%s)", names);
    return -1;
}

/* The first of the provider's headers that the request repeats, or NULL. */
static const char *
repeated_header(const struct hg_provider *p, const struct hg_request *req)
{
    for (size_t h = 0; p->headers && p->headers[h]; h++) {
        int seen = 0;

        for (size_t i = 0; i < req->header_count; i++)
            seen += strcasecmp(req->headers[i].name, p->headers[h]) == 0;
        if (seen > 1)
            return p->headers[h];
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Process                                                                   */
/* ------------------------------------------------------------------------ */

static void
run(struct hg_outcome *o, const struct hg_config *config, const struct hg_request *req)
{
    const struct hg_json *body;
    struct hg_json_text text;
    int idx = -1;
    char why[160];

    if (req->route_provider) {
        idx = hg_provider_index(req->route_provider, strlen(req->route_provider));
        if (idx < 0) {
            outcome_fail(o, HG_ERR_NOT_FOUND, "no such provider");
            return;
        }
        o->provider = hg_provider_at((size_t)idx);
        if (!config->providers[idx].enabled) {
            outcome_fail(o, HG_ERR_DISABLED, "provider %s is not enabled", o->provider->name);
            return;
        }
    }
    body = hg_json_parse_text(o->arena, req->body, req->body_len, HG_JSON_MAX_DEPTH, 0, why,
                              sizeof why, &text);
    if (body == NULL) {
        outcome_fail(o, HG_ERR_BAD_JSON, "body is not valid JSON: %s", why);
        return;
    }
    if (idx < 0) {
        if ((idx = detect(o, req, body)) < 0)
            return;
        o->provider = hg_provider_at((size_t)idx);
        if (!config->providers[idx].enabled) {
            outcome_fail(o, HG_ERR_DISABLED, "provider %s is not enabled", o->provider->name);
            return;
        }
    }

    const char *repeated = repeated_header(o->provider, req);
    if (repeated) {
        outcome_fail(o, HG_ERR_BAD_REQUEST, "header %s appears more than once", repeated);
        return;
    }

    struct hg_ctx ctx = {
        .config = config,
        .provider = o->provider,
        .pconf = &config->providers[idx],
        .req = req,
        .body = body,
        .body_compact = text.compact,
        .arena = o->arena,
        .tenant = NULL,
        .verification = o->provider->verification,
        .outcome = o,
    };
    enum hg_status st = o->provider->authenticate(&ctx);
    if (st == HG_OK)
        st = o->provider->normalize(&ctx);
    o->status = st;
    if (st != HG_OK && st != HG_PING && o->message[0] == '\0')
        snprintf(o->message, sizeof o->message, "%s", hg_status_str(st));
}

struct hg_outcome *
hg_process_in(struct hg_arena *arena, const struct hg_config *config, const struct hg_request *req)
{
    struct hg_outcome *o = hg_arena_alloc(arena, sizeof *o);

    if (o == NULL)
        return NULL;
    memset(o, 0, sizeof *o);
    o->arena = arena;
    hg_format_time_ms(req->now_ms, o->receivedat);
    run(o, config, req);
    if (o->status != HG_OK)
        o->count = 0; /* a refused request publishes nothing */
    return o;
}

enum hg_status
hg_outcome_status(const struct hg_outcome *o)
{
    return o ? o->status : HG_ERR_NOMEM;
}

const char *
hg_outcome_provider(const struct hg_outcome *o)
{
    return o && o->provider ? o->provider->name : NULL;
}

const char *
hg_outcome_message(const struct hg_outcome *o)
{
    return o ? o->message : "out of memory";
}

const struct hg_event *
hg_outcome_events(const struct hg_outcome *o, size_t *count)
{
    *count = o ? o->count : 0;
    return o ? o->events : NULL;
}

void
hg_outcome_job(const struct hg_outcome *o, struct hg_publish_job *job)
{
    memset(job, 0, sizeof *job);
    if (o == NULL || o->status != HG_OK)
        return;
    job->events = o->events;
    job->event_count = o->count;
    if (o->nonce_key && o->count > 0) {
        job->nonce_key = o->nonce_key;
        job->nonce_value = o->events[0].id;
        job->nonce_ttl_s = o->nonce_ttl_s;
    }
}

void
hg_config_warnings(const struct hg_config *config, void (*warn)(const char *message))
{
    for (size_t i = 0; i < hg_provider_count(); i++) {
        const struct hg_provider *p = hg_provider_at(i);
        const char *w;

        if (config->providers[i].enabled && p->config_warning &&
            (w = p->config_warning(&config->providers[i])) != NULL)
            warn(w);
    }
}

struct hg_outcome *
hg_process(const struct hg_config *config, const struct hg_request *req)
{
    struct hg_arena *arena = hg_arena_new();
    struct hg_outcome *o = arena ? hg_process_in(arena, config, req) : NULL;

    if (o == NULL) {
        hg_arena_free(arena);
        return NULL;
    }
    o->owns_arena = 1;
    return o;
}

void
hg_outcome_free(struct hg_outcome *o)
{
    if (o && o->owns_arena)
        hg_arena_free(o->arena); /* the outcome lives in it */
}
