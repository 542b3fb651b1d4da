/*
 * sign.c - build the request a provider would send, for `hookgate sign`.
 *
 * The signing here is the mirror image of each provider's verification, so
 * an operator can test a deployment by hand, and the tests can check the two
 * against each other. For Teamgo and inline the body itself carries the
 * timestamp (and Teamgo's token and signature), so the signed body is built
 * from the given payload.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "provider.h"

static int
add_header(struct hg_signed_request *out, const char *name, const char *value)
{
    if (out->header_count >= HG_SIGNED_HEADERS_MAX)
        return -1;
    out->headers[out->header_count].name = strdup(name);
    out->headers[out->header_count].value = strdup(value);
    out->header_count++;
    return out->headers[out->header_count - 1].name && out->headers[out->header_count - 1].value
               ? 0
               : -1;
}

static int
set_body(struct hg_signed_request *out, const char *data, size_t len)
{
    out->body = malloc(len + 1);
    if (out->body == NULL)
        return -1;
    memcpy(out->body, data, len);
    out->body[len] = '\0';
    out->body_len = len;
    return 0;
}

static const char *path_prefix = "/webhooks";

static int
set_path(struct hg_signed_request *out, const char *provider, const char *segment)
{
    char path[512];

    if (snprintf(path, sizeof path, "%s/%s%s%s", path_prefix, provider, segment ? "/" : "",
                 segment ? segment : "") >= (int)sizeof path)
        return -1;
    out->path = strdup(path);
    return out->path ? 0 : -1;
}

static void
hmac_hex(enum hg_digest digest, const struct hg_sign_options *o, const void *msg, size_t len,
         char *hex)
{
    unsigned char mac[HG_DIGEST_MAX];
    size_t n = hg_hmac(digest, o->secret, o->secret_len, msg, len, mac);

    hg_hex_encode(mac, n, hex);
}

/* The first top-level member whose value is an object: TruTac's event name. */
static const char *
first_object_member(const struct hg_json *body)
{
    for (size_t i = 0; body->type == HG_JSON_OBJECT && i < body->count; i++)
        if (body->items[i]->type == HG_JSON_OBJECT)
            return body->keys[i];
    return NULL;
}

static int
sign_trutac(const struct hg_sign_options *o, const struct hg_json *body, const char *raw,
            size_t raw_len, struct hg_signed_request *out, char *err, size_t err_size)
{
    const char *event = o->event ? o->event : first_object_member(body);
    char hex[2 * HG_DIGEST_MAX + 1], sig[2 * HG_DIGEST_MAX + 8];

    if (event == NULL) {
        snprintf(err, err_size, "trutac: give --event (the body names no event object)");
        return -1;
    }
    hmac_hex(HG_DIGEST_SHA1, o, raw, raw_len, hex);
    snprintf(sig, sizeof sig, "sha1=%s", hex);
    return set_path(out, "trutac", o->tenant) || set_body(out, raw, raw_len) ||
                   add_header(out, "TT-Hook-Event", event) ||
                   add_header(out, "TT-Hook-Signature", sig)
               ? -1
               : 0;
}

static int
sign_oneupvision(const struct hg_sign_options *o, const char *raw, size_t raw_len,
                 struct hg_signed_request *out, char *err, size_t err_size)
{
    char hex[2 * HG_DIGEST_MAX + 1], when[32];

    if (o->event == NULL) {
        snprintf(err, err_size, "oneupvision: give --event (for example punch.create)");
        return -1;
    }
    hg_format_time_ms(o->now_ms - o->now_ms % 1000, when);
    memcpy(when + 19, "Z", 2); /* whole seconds, as 1UPVISION writes them */
    hmac_hex(HG_DIGEST_SHA256, o, raw, raw_len, hex);
    if (set_path(out, "oneupvision", NULL) || set_body(out, raw, raw_len) ||
        add_header(out, "X-ServiceHook-Event", o->event) ||
        add_header(out, "X-ServiceHook-Timestamp", when) ||
        (o->tenant && add_header(out, "X-ServiceHook-UUID", o->tenant)) ||
        add_header(out, "X-ServiceHook-Signature", hex))
        return -1;
    return 0;
}

static int
sign_teamgo(const struct hg_sign_options *o, const struct hg_json *input,
            struct hg_signed_request *out, char *err, size_t err_size)
{
    const struct hg_json *data = hg_json_get_type(input, "data", HG_JSON_OBJECT);
    const struct hg_json *type = hg_json_get_type(input, "type", HG_JSON_STRING);
    unsigned char rnd[16];
    char token[33], ts[24], hex[2 * HG_DIGEST_MAX + 1], msg[64];
    struct hg_buf b;
    int rc;

    /* a whole Teamgo body (re-signed), or just its data with --event */
    if (data == NULL || (type == NULL && o->event == NULL)) {
        if (input->type != HG_JSON_OBJECT || o->event == NULL) {
            snprintf(err, err_size,
                     "teamgo: give a body with \"type\" and \"data\", or the "
                     "data object and --event (for example checkin)");
            return -1;
        }
        data = input;
    }
    if (RAND_bytes(rnd, sizeof rnd) != 1) {
        snprintf(err, err_size, "no randomness for the token");
        return -1;
    }
    hg_hex_encode(rnd, sizeof rnd, token);
    snprintf(ts, sizeof ts, "%lld", (long long)(o->now_ms / 1000));
    snprintf(msg, sizeof msg, "%s%s", ts, token);
    hmac_hex(HG_DIGEST_SHA256, o, msg, strlen(msg), hex);

    hg_buf_init(&b, 64 * 1024 * 1024);
    hg_buf_appends(&b, "{\"type\":");
    if (o->event)
        hg_buf_append_json_str(&b, o->event, strlen(o->event));
    else
        hg_buf_append_json_str(&b, type->str, type->len);
    hg_buf_appendf(&b, ",\"timestamp\":\"%s\",\"token\":\"%s\",\"signature\":\"%s\",\"data\":", ts,
                   token, hex);
    hg_json_write(&b, data, HG_JSON_SORT_NONE);
    hg_buf_appendc(&b, '}');
    rc = b.failed || set_path(out, "teamgo", o->tenant) || set_body(out, b.data, b.len) ? -1 : 0;
    hg_buf_free(&b);
    return rc;
}

/* Writes an inline event, adding "timestamp" when it has none. */
static void
write_inline_event(struct hg_buf *b, const struct hg_json *ev, int64_t now_ms)
{
    if (hg_json_get(ev, "timestamp") != NULL) {
        hg_json_write(b, ev, HG_JSON_SORT_NONE);
        return;
    }
    hg_buf_appendc(b, '{');
    for (size_t i = 0; i < ev->count; i++) {
        hg_buf_append_json_str(b, ev->keys[i], ev->key_lens[i]);
        hg_buf_appendc(b, ':');
        hg_json_write(b, ev->items[i], HG_JSON_SORT_NONE);
        hg_buf_appendc(b, ',');
    }
    hg_buf_appendf(b, "\"timestamp\":%lld}", (long long)now_ms);
}

static int
sign_inline(const struct hg_sign_options *o, struct hg_arena *arena, const struct hg_json *input,
            struct hg_signed_request *out, char *err, size_t err_size)
{
    const struct hg_json *events = hg_json_get_type(input, "events", HG_JSON_ARRAY);
    const struct hg_json *one[1] = {input};
    const struct hg_json *const *list;
    const struct hg_json *parsed;
    size_t count;
    struct hg_buf body, canon;
    char hex[2 * HG_DIGEST_MAX + 1], sig[2 * HG_DIGEST_MAX + 8], why[160];
    int rc = -1;

    if (events) {
        list = (const struct hg_json *const *)events->items;
        count = events->count;
    } else if (input->type == HG_JSON_ARRAY) {
        list = (const struct hg_json *const *)input->items;
        count = input->count;
    } else if (hg_json_get_type(input, "type", HG_JSON_STRING)) {
        list = one;
        count = 1;
    } else {
        snprintf(err, err_size,
                 "inline: give {\"events\": [...]}, an array of events, or one "
                 "event with a \"type\"");
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        if (list[i]->type != HG_JSON_OBJECT) {
            snprintf(err, err_size, "inline: events[%zu] is not an object", i);
            return -1;
        }
    }
    hg_buf_init(&body, 64 * 1024 * 1024);
    hg_buf_init(&canon, 64 * 1024 * 1024);
    hg_buf_appendf(&body, "{\"timestamp\":%lld,\"events\":[", (long long)o->now_ms);
    for (size_t i = 0; i < count; i++) {
        if (i)
            hg_buf_appendc(&body, ',');
        write_inline_event(&body, list[i], o->now_ms);
    }
    hg_buf_appends(&body, "]}");
    /* sign the deep-sorted canonical form of exactly this body */
    parsed = body.failed
                 ? NULL
                 : hg_json_parse(arena, body.data, body.len, HG_JSON_MAX_DEPTH, 0, why, sizeof why);
    if (parsed == NULL || hg_json_write(&canon, parsed, HG_JSON_SORT_DEEP) != 0) {
        snprintf(err, err_size, "inline: cannot build the body");
        goto out;
    }
    hmac_hex(HG_DIGEST_SHA1, o, canon.data, canon.len, hex);
    snprintf(sig, sizeof sig, "sha1=%s", hex);
    rc = set_path(out, "inline", o->tenant) || set_body(out, body.data, body.len) ||
                 add_header(out, "X-Hub-Signature", sig)
             ? -1
             : 0;
out:
    hg_buf_free(&body);
    hg_buf_free(&canon);
    return rc;
}

static int
sign_ombori(const struct hg_sign_options *o, const char *raw, size_t raw_len,
            struct hg_signed_request *out, char *err, size_t err_size)
{
    char *secret = strndup(o->secret, o->secret_len);
    int rc = -1;

    if (secret == NULL || strlen(secret) != o->secret_len) {
        snprintf(err, err_size, "ombori: the token must be text");
        goto out;
    }
    if (o->basic) {
        char value[1024] = "Basic ";

        if (memchr(secret, ':', o->secret_len) == NULL ||
            hg_base64_encode(o->secret, o->secret_len, value + 6, sizeof value - 6) < 0) {
            snprintf(err, err_size, "ombori: --basic needs the secret as user:password");
            goto out;
        }
        rc = set_path(out, "ombori", NULL) || add_header(out, "Authorization", value);
    } else if (o->token_header) {
        rc = set_path(out, "ombori", NULL) || add_header(out, o->token_header, secret);
    } else {
        rc = set_path(out, "ombori", secret);
    }
    rc = rc || set_body(out, raw, raw_len) ? -1 : 0;
out:
    free(secret);
    return rc;
}

enum hg_status
hg_sign(const struct hg_sign_options *o, const char *input, size_t input_len,
        struct hg_signed_request *out, char *err, size_t err_size)
{
    struct hg_arena *arena = hg_arena_new();
    const struct hg_json *body;
    char why[160];
    int rc = -1;

    memset(out, 0, sizeof *out);
    path_prefix = o->path_prefix ? o->path_prefix : "/webhooks";
    if (arena == NULL) {
        snprintf(err, err_size, "out of memory");
        return HG_ERR_NOMEM;
    }
    /* providers that sign the raw body sign it byte for byte: trim nothing */
    body = hg_json_parse(arena, input, input_len, HG_JSON_MAX_DEPTH, 0, why, sizeof why);
    if (body == NULL) {
        snprintf(err, err_size, "the body is not valid JSON: %s", why);
        hg_arena_free(arena);
        return HG_ERR_BAD_JSON;
    }
    if (add_header(out, "Content-Type", "application/json") != 0)
        goto out;
    if (strcmp(o->provider, "trutac") == 0)
        rc = sign_trutac(o, body, input, input_len, out, err, err_size);
    else if (strcmp(o->provider, "oneupvision") == 0)
        rc = sign_oneupvision(o, input, input_len, out, err, err_size);
    else if (strcmp(o->provider, "teamgo") == 0)
        rc = sign_teamgo(o, body, out, err, err_size);
    else if (strcmp(o->provider, "inline") == 0)
        rc = sign_inline(o, arena, body, out, err, err_size);
    else if (strcmp(o->provider, "ombori") == 0)
        rc = sign_ombori(o, input, input_len, out, err, err_size);
    else
        snprintf(err, err_size, "unknown provider %s", o->provider);
out:
    hg_arena_free(arena);
    if (rc != 0) {
        if (err[0] == '\0')
            snprintf(err, err_size, "out of memory");
        hg_signed_request_free(out);
        return HG_ERR_BAD_REQUEST;
    }
    return HG_OK;
}

void
hg_signed_request_free(struct hg_signed_request *r)
{
    for (size_t i = 0; i < r->header_count; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->path);
    free(r->body);
    memset(r, 0, sizeof *r);
}
