/*
 * test_vectors.c - every file in tests/vectors/<dir>/<NNN-name>.json through
 * hg_process (the format is described in tests/vectors/README.md).
 *
 * The vectors are written by tests/vectors/generate.py, an independent
 * Python model of the contract; this test runs each one against the C code:
 * the config is serialised and loaded with hg_config_parse, the request is
 * built as the gateway builds it (route split into provider and tenant), and
 * the outcome is compared with "expect": HTTP status, status word or error
 * code, and every envelope field by field, data compared deep-sorted.
 *
 * Each failing vector is printed by name and the run goes on; the test fails
 * at the end if any failed, or if no vector was found. The directory is
 * tests/vectors (make runs the tests from the repository root), or
 * $HG_VECTORS_DIR. Bodies and headers are copied into exact-size heap
 * buffers freed right after hg_process, so that under ASan a read past the
 * body, or an outcome that borrows from the request, fails.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "buf.h"
#include "hookgate.h"
#include "json.h"
#include "unit.h"

#define VECTOR_FILE_MAX (8u << 20)
#define VECTOR_DEPTH 512   /* a vector nests its body's data a few levels down */
#define ENVELOPE_DEPTH 128 /* an envelope nests a data of depth 64 one level down */
#define BUF_MAX (64u << 20)
#define MAX_HEADERS 64

/* ------------------------------------------------------------------------ */
/* Finding the files                                                         */
/* ------------------------------------------------------------------------ */

struct path_list {
    char **items;
    size_t count;
    size_t cap;
};

static void
path_add(struct path_list *l, const char *dir, const char *name)
{
    if (l->count == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->items = realloc(l->items, l->cap * sizeof *l->items);
        assert_non_null(l->items);
    }
    size_t n = strlen(dir) + strlen(name) + 2;
    l->items[l->count] = malloc(n);
    assert_non_null(l->items[l->count]);
    snprintf(l->items[l->count], n, "%s/%s", dir, name);
    l->count++;
}

static void
path_list_free(struct path_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Appends dir's subdirectories (subdirs) or its *.json files, sorted, as "<dir>/<name>". */
static void
list_dir(const char *dir, int subdirs, struct path_list *out)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t first = out->count;

    if (d == NULL) {
        print_error("cannot open %s: %s\n", dir, strerror(errno));
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (subdirs) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            if (is_dir(path))
                path_add(out, dir, e->d_name);
        } else if (ends_with(e->d_name, ".json")) {
            path_add(out, dir, e->d_name);
        }
    }
    closedir(d);
    qsort(out->items + first, out->count - first, sizeof *out->items, cmp_str);
}

static char *
read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data;
    size_t n;

    if (f == NULL)
        return NULL;
    data = malloc(VECTOR_FILE_MAX);
    if (data == NULL) {
        fclose(f);
        return NULL;
    }
    n = fread(data, 1, VECTOR_FILE_MAX, f);
    fclose(f);
    if (n == VECTOR_FILE_MAX) {
        free(data);
        return NULL;
    }
    *len = n;
    return data;
}

/* ------------------------------------------------------------------------ */
/* Small helpers                                                             */
/* ------------------------------------------------------------------------ */

static char *
dup_bytes(const char *s, size_t len, int nul)
{
    char *out = malloc(len + (nul ? 1 : 0) + (len == 0 && !nul ? 1 : 0));
    assert_non_null(out);
    memcpy(out, s, len);
    if (nul)
        out[len] = '\0';
    return out;
}

static int
b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decodes standard base64 (with padding) into malloc'd bytes; NULL if malformed. */
static char *
b64_decode(const char *in, size_t in_len, size_t *out_len)
{
    char *out;
    size_t n = 0;
    unsigned acc = 0;
    int bits = 0;

    if (in_len % 4 != 0)
        return NULL;
    out = malloc(in_len / 4 * 3 + 1);
    assert_non_null(out);
    for (size_t i = 0; i < in_len; i++) {
        int v;
        if (in[i] == '=') {
            if (i + 2 < in_len)
                goto bad;
            break;
        }
        if ((v = b64_value((unsigned char)in[i])) < 0)
            goto bad;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (char)((acc >> bits) & 0xff);
        }
    }
    *out_len = n;
    return out;
bad:
    free(out);
    return NULL;
}

static const char *
str_member(const struct hg_json *obj, const char *key)
{
    const struct hg_json *v = hg_json_get_type(obj, key, HG_JSON_STRING);
    return v ? v->str : NULL;
}

/* Serialises `node` into `out` (initialised here), keys sorted as asked. */
static int
write_json(struct hg_buf *out, const struct hg_json *node, enum hg_json_sort sort)
{
    hg_buf_init(out, BUF_MAX);
    return node != NULL ? hg_json_write(out, node, sort) : -1;
}

/* ------------------------------------------------------------------------ */
/* One vector                                                                */
/* ------------------------------------------------------------------------ */

/* The request, in heap copies that are freed right after hg_process. */
struct built {
    struct hg_header headers[MAX_HEADERS];
    size_t count;
    char *body;
    size_t body_len;
    char *route_provider;
    char *route_tenant;
    char *client_addr;
};

static void
built_free(struct built *b)
{
    for (size_t i = 0; i < b->count; i++) {
        free((void *)(uintptr_t)b->headers[i].name);
        free((void *)(uintptr_t)b->headers[i].value);
    }
    free(b->body);
    free(b->route_provider);
    free(b->route_tenant);
    free(b->client_addr);
    memset(b, 0, sizeof *b);
}

/*
 * Splits a route as the gateway does: "<prefix>" -> NULL/NULL,
 * "<prefix>/p" -> p/NULL, "<prefix>/p/t" -> p/t. Returns -1 otherwise.
 */
static int
split_route(const char *prefix, const char *route, struct built *b)
{
    size_t plen = strlen(prefix);
    const char *rest, *slash;

    if (strncmp(route, prefix, plen) != 0)
        return -1;
    rest = route + plen;
    if (*rest == '\0')
        return 0;
    if (*rest != '/' || rest[1] == '\0')
        return -1;
    rest++;
    slash = strchr(rest, '/');
    if (slash == NULL) {
        b->route_provider = dup_bytes(rest, strlen(rest), 1);
        return 0;
    }
    if (slash == rest || slash[1] == '\0' || strchr(slash + 1, '/') != NULL)
        return -1;
    b->route_provider = dup_bytes(rest, (size_t)(slash - rest), 1);
    b->route_tenant = dup_bytes(slash + 1, strlen(slash + 1), 1);
    return 0;
}

/* Builds the request; returns 0, or -1 after reporting a malformed vector. */
static int
build(const char *name, const struct hg_json *vec, const struct hg_config *cfg, struct built *b)
{
    const struct hg_json *headers = hg_json_get_type(vec, "headers", HG_JSON_ARRAY);
    const struct hg_json *body = hg_json_get_type(vec, "body", HG_JSON_STRING);
    const struct hg_json *body_b64 = hg_json_get_type(vec, "body_b64", HG_JSON_STRING);
    const char *route = str_member(vec, "route");
    const char *client = str_member(vec, "client_addr");

    memset(b, 0, sizeof *b);
    if (!CHECK(name, headers != NULL && route != NULL && (body != NULL) != (body_b64 != NULL)))
        return -1;
    if (!CHECK(name, headers->count <= MAX_HEADERS))
        return -1;
    for (size_t i = 0; i < headers->count; i++) {
        const struct hg_json *h = headers->items[i];
        if (!CHECK(name, h->type == HG_JSON_ARRAY && h->count == 2 &&
                             h->items[0]->type == HG_JSON_STRING &&
                             h->items[1]->type == HG_JSON_STRING))
            return -1;
        b->headers[b->count].name = dup_bytes(h->items[0]->str, h->items[0]->len, 1);
        b->headers[b->count].value = dup_bytes(h->items[1]->str, h->items[1]->len, 1);
        b->count++;
    }
    if (body != NULL) {
        b->body = dup_bytes(body->str, body->len, 0);
        b->body_len = body->len;
    } else {
        b->body = b64_decode(body_b64->str, body_b64->len, &b->body_len);
        if (!CHECK(name, b->body != NULL))
            return -1;
    }
    if (!CHECK(name, split_route(cfg->path_prefix, route, b) == 0)) {
        print_error("    route \"%s\" is not under %s\n", route, cfg->path_prefix);
        return -1;
    }
    if (client == NULL)
        client = "127.0.0.1";
    b->client_addr = dup_bytes(client, strlen(client), 1);
    return 0;
}

static const char *const envelope_keys[] = {
    "specversion", "id",   "source",     "type",         "category",        "provider", "tenant",
    "subject",     "time", "receivedat", "verification", "datacontenttype", "data",     NULL,
};

static void
check_string_field(const char *what, const struct hg_json *env, const struct hg_json *want,
                   const char *key)
{
    const struct hg_json *w = hg_json_get(want, key);
    const struct hg_json *v = hg_json_get(env, key);
    char label[512];

    snprintf(label, sizeof label, "%s: envelope.%s", what, key);
    if (w == NULL) {
        if (!CHECK(label, v == NULL))
            print_error("    envelope.%s should be absent\n", key);
        return;
    }
    if (CHECK(label, w->type == HG_JSON_STRING) &&
        CHECK(label, v != NULL && v->type == HG_JSON_STRING))
        CHECK_MEM(label, v->str, v->len, w->str, w->len);
}

/* Compares two JSON values by their deep-sorted serialisation. */
static void
check_same_json(const char *label, const struct hg_json *got, const struct hg_json *want)
{
    struct hg_buf g, w;

    if (CHECK(label, got != NULL && want != NULL)) {
        int gr = write_json(&g, got, HG_JSON_SORT_DEEP);
        int wr = write_json(&w, want, HG_JSON_SORT_DEEP);
        if (CHECK_INT(label, gr, 0) && CHECK_INT(label, wr, 0))
            CHECK_MEM(label, g.data, g.len, w.data, w.len);
        hg_buf_free(&g);
        hg_buf_free(&w);
    }
}

static void
check_event(const char *name, size_t index, const struct hg_event *ev, const struct hg_json *want,
            const struct hg_config *cfg, int64_t now_ms)
{
    static const char *const string_fields[] = {"id",           "type",   "category", "provider",
                                                "source",       "tenant", "subject",  "time",
                                                "verification", NULL};
    char what[300], label[400], received[32], expected[512];
    const char *want_id = str_member(want, "id");
    const char *want_provider = str_member(want, "provider");

    snprintf(what, sizeof what, "%s event %zu", name, index);
    /* The event's own fields, as the publisher uses them. */
    CHECK_STR(what, ev->id, want_id);
    CHECK_STR(what, ev->type, str_member(want, "type"));
    CHECK_STR(what, ev->category, str_member(want, "category"));
    CHECK_STR(what, ev->provider, want_provider);
    if (want_provider != NULL && want_id != NULL && cfg->redis.stream_by == HG_STREAM_BY_PROVIDER) {
        snprintf(expected, sizeof expected, "%s:{%s}", cfg->redis.prefix, want_provider);
        CHECK_STR(what, ev->stream, expected);
        snprintf(expected, sizeof expected, "%s:{%s}:seen:%s", cfg->redis.prefix, want_provider,
                 want_id);
        CHECK_STR(what, ev->seen_key, expected);
    }
    if (!CHECK(what, ev->envelope != NULL))
        return;
    CHECK_INT(what, ev->envelope_len, strlen(ev->envelope));

    struct hg_arena *arena = hg_arena_new();
    char err[256];
    assert_non_null(arena);
    const struct hg_json *env =
        hg_json_parse(arena, ev->envelope, ev->envelope_len, ENVELOPE_DEPTH, 0, err, sizeof err);
    if (!CHECK(what, env != NULL && env->type == HG_JSON_OBJECT)) {
        print_error("    the envelope does not parse: %s\n", env ? "not an object" : err);
        hg_arena_free(arena);
        return;
    }
    /* No key beyond the contract's. */
    for (size_t i = 0; i < env->count; i++) {
        int known = 0;
        for (size_t k = 0; envelope_keys[k]; k++)
            known |= strcmp(env->keys[i], envelope_keys[k]) == 0;
        snprintf(label, sizeof label, "%s: envelope key \"%s\" is not in the contract", what,
                 env->keys[i]);
        CHECK(label, known);
    }
    for (size_t i = 0; string_fields[i]; i++)
        check_string_field(what, env, want, string_fields[i]);

    snprintf(label, sizeof label, "%s: envelope.specversion", what);
    {
        const char *v = str_member(env, "specversion");
        CHECK_STR(label, v, "1.0");
    }
    snprintf(label, sizeof label, "%s: envelope.datacontenttype", what);
    {
        const char *v = str_member(env, "datacontenttype");
        CHECK_STR(label, v, "application/json");
    }
    snprintf(label, sizeof label, "%s: envelope.receivedat", what);
    hg_format_time_ms(now_ms, received);
    {
        const char *v = str_member(env, "receivedat");
        CHECK_STR(label, v, received);
    }
    snprintf(label, sizeof label, "%s: envelope.data", what);
    {
        const struct hg_json *want_data = hg_json_get(want, "data");
        if (CHECK(label, want_data != NULL))
            check_same_json(label, hg_json_get(env, "data"), want_data);
    }
    hg_arena_free(arena);
}

/* Runs one vector file; returns 1 when it passed. */
static int
run_vector(const char *path)
{
    const int failures_before = unit_failures;
    struct hg_arena *arena = hg_arena_new();
    struct hg_config *cfg = NULL;
    struct hg_outcome *out = NULL;
    struct hg_buf config_text;
    struct built b;
    char err[512];
    size_t len = 0;
    char *text = read_file(path, &len);
    const char *name = path;

    assert_non_null(arena);
    hg_buf_init(&config_text, BUF_MAX);
    memset(&b, 0, sizeof b);
    if (!CHECK(path, text != NULL)) {
        print_error("    cannot read %s\n", path);
        goto done;
    }
    const struct hg_json *vec =
        hg_json_parse(arena, text, len, VECTOR_DEPTH, HG_JSON_NAME_KEYS, err, sizeof err);
    if (!CHECK(path, vec != NULL && vec->type == HG_JSON_OBJECT)) {
        print_error("    %s is not a JSON object: %s\n", path, vec ? "" : err);
        goto done;
    }
    if (str_member(vec, "name") != NULL)
        name = str_member(vec, "name");

    const struct hg_json *config = hg_json_get_type(vec, "config", HG_JSON_OBJECT);
    const struct hg_json *expect = hg_json_get_type(vec, "expect", HG_JSON_OBJECT);
    const struct hg_json *now = hg_json_get_type(vec, "now_ms", HG_JSON_NUMBER);
    if (!CHECK(name, config != NULL && expect != NULL && now != NULL))
        goto done;
    int64_t now_ms = strtoll(now->str, NULL, 10);

    if (!CHECK_INT(name, hg_json_write(&config_text, config, HG_JSON_SORT_NONE), 0))
        goto done;
    if (!CHECK_INT(name,
                   hg_config_parse(name, config_text.data, config_text.len, &cfg, err, sizeof err),
                   HG_OK)) {
        print_error("    the vector's config is refused: %s\n", err);
        goto done;
    }
    if (build(name, vec, cfg, &b) != 0)
        goto done;

    struct hg_request req = {
        .headers = b.headers,
        .header_count = b.count,
        .body = b.body,
        .body_len = b.body_len,
        .route_provider = b.route_provider,
        .route_tenant = b.route_tenant,
        .client_addr = b.client_addr,
        .now_ms = now_ms,
    };
    out = hg_process(cfg, &req);
    built_free(&b); /* the outcome borrows nothing from the request */
    if (!CHECK(name, out != NULL))
        goto done;

    enum hg_status st = hg_outcome_status(out);
    const struct hg_json *http = hg_json_get_type(expect, "http", HG_JSON_NUMBER);
    const char *want_status = str_member(expect, "status");
    const char *want_error = str_member(expect, "error");
    const struct hg_json *want_events = hg_json_get_type(expect, "events", HG_JSON_ARRAY);
    int status_ok = 1;

    if (!CHECK(name, http != NULL && want_events != NULL &&
                         (want_status != NULL) != (want_error != NULL)))
        goto done;
    status_ok &= CHECK_INT(name, hg_status_http(st), strtol(http->str, NULL, 10));
    if (want_status != NULL) {
        enum hg_status want = strcmp(want_status, "ping") == 0 ? HG_PING : HG_OK;
        status_ok &= CHECK(name, strcmp(want_status, "accepted") == 0 || want == HG_PING);
        status_ok &= CHECK_STR(name, hg_status_str(st), hg_status_str(want));
    } else {
        status_ok &= CHECK_STR(name, hg_status_str(st), want_error);
    }
    if (!status_ok)
        print_error("    status %s (%d), provider %s, message: %s\n", hg_status_str(st),
                    hg_status_http(st),
                    hg_outcome_provider(out) ? hg_outcome_provider(out) : "(none)",
                    hg_outcome_message(out) ? hg_outcome_message(out) : "(null)");

    /* An accepted request is attributed to its events' provider. */
    if (want_events->count > 0) {
        const char *want_provider = str_member(want_events->items[0], "provider");
        CHECK_STR(name, hg_outcome_provider(out), want_provider);
    }

    size_t count = 0;
    const struct hg_event *events = hg_outcome_events(out, &count);
    if (CHECK_INT(name, count, want_events->count)) {
        for (size_t i = 0; i < count; i++) {
            if (CHECK(name, want_events->items[i]->type == HG_JSON_OBJECT))
                check_event(name, i, &events[i], want_events->items[i], cfg, now_ms);
        }
    }

done:;
    const int passed = unit_failures == failures_before;
    if (!passed)
        print_error("FAIL %s (%s)\n\n", name, path);
    built_free(&b);
    hg_outcome_free(out);
    hg_config_free(cfg);
    hg_buf_free(&config_text);
    hg_arena_free(arena);
    free(text);
    return passed;
}

/* ------------------------------------------------------------------------ */
/* The test                                                                  */
/* ------------------------------------------------------------------------ */

static void
test_vectors(void **state)
{
    (void)state;
    const char *root = getenv("HG_VECTORS_DIR");
    struct path_list dirs = {0}, files = {0};
    size_t passed = 0;

    if (root == NULL || root[0] == '\0')
        root = "tests/vectors";
    list_dir(root, 1, &dirs);
    for (size_t i = 0; i < dirs.count; i++)
        list_dir(dirs.items[i], 0, &files);

    for (size_t i = 0; i < files.count; i++)
        passed += (size_t)run_vector(files.items[i]);

    printf("vectors: %zu run from %s (%zu directories), %zu passed, %zu failed\n", files.count,
           root, dirs.count, passed, files.count - passed);
    fflush(stdout);
    if (files.count == 0) {
        path_list_free(&dirs);
        path_list_free(&files);
        fail_msg("no test vectors found under %s/*/*.json (run from the repository root, or "
                 "set HG_VECTORS_DIR)",
                 root);
    }
    path_list_free(&dirs);
    path_list_free(&files);
    UNIT_END();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
    };
    return cmocka_run_group_tests_name("vectors", tests, NULL, NULL);
}
