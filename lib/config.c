/*
 * config.c - the configuration file: one table of keys, validated at load.
 *
 * Every scalar key lives in `keys` below with its type, default, bounds and
 * an optional validator, like Redis's config.c. The "providers" section is
 * dynamic (one object per registered provider) and is parsed by
 * parse_providers with the generic keys enabled/secrets/tenants, handing any
 * other key to the provider's own config_key hook.
 *
 * Errors name the file, the key and what is wrong; they never echo a secret.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "provider.h"

#define CONFIG_FILE_MAX (1024 * 1024)
#define SECRET_FILE_MAX (64 * 1024)

enum key_type { KEY_STRING, KEY_SECRET_STRING, KEY_INT, KEY_ENUM, KEY_CIDRS };

struct config_key;
typedef int (*validate_fn)(const struct config_key *key, const char *value, char *err,
                           size_t err_size);

struct config_key {
    const char *name; /* dotted path: "redis.timeout_ms" */
    enum key_type type;
    size_t offset;
    const char *def_string;
    int64_t def_int;
    int64_t min, max;
    const char *const *enum_names; /* KEY_ENUM: index = value */
    validate_fn validate;
};

static int validate_listen(const struct config_key *, const char *, char *, size_t);
static int validate_admin_listen(const struct config_key *, const char *, char *, size_t);
static int validate_prefix(const struct config_key *, const char *, char *, size_t);
static int validate_redis_url(const struct config_key *, const char *, char *, size_t);
static int validate_redis_prefix(const struct config_key *, const char *, char *, size_t);

static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};
static const char *const stream_bys[] = {"provider", "category", "single", NULL};

#define OFF(field) offsetof(struct hg_config, field)
#define GiB (1024LL * 1024 * 1024)

static const struct config_key keys[] = {
    {"listen", KEY_STRING, OFF(listen), "0.0.0.0:8080", 0, 0, 0, NULL, validate_listen},
    {"admin_listen", KEY_STRING, OFF(admin_listen), "", 0, 0, 0, NULL, validate_admin_listen},
    {"path_prefix", KEY_STRING, OFF(path_prefix), "/webhooks", 0, 0, 0, NULL, validate_prefix},
    {"max_body", KEY_INT, OFF(max_body), NULL, 1048576, 1, GiB, NULL, NULL},
    {"timestamp_tolerance", KEY_INT, OFF(timestamp_tolerance_s), NULL, 300, 1, 86400, NULL, NULL},
    {"threads", KEY_INT, OFF(threads), NULL, 0, 0, 256, NULL, NULL},
    {"connection_timeout", KEY_INT, OFF(connection_timeout_s), NULL, 30, 1, 3600, NULL, NULL},
    {"max_connections", KEY_INT, OFF(max_connections), NULL, 1024, 1, 65536, NULL, NULL},
    {"max_connections_per_ip", KEY_INT, OFF(max_connections_per_ip), NULL, 128, 0, 65536, NULL,
     NULL},
    {"request_timeout", KEY_INT, OFF(request_timeout_s), NULL, 30, 1, 3600, NULL, NULL},
    {"max_pending", KEY_INT, OFF(max_pending), NULL, 4096, 1, 1048576, NULL, NULL},
    {"trusted_proxies", KEY_CIDRS, OFF(trusted_proxies), NULL, 0, 0, 0, NULL, NULL},
    {"log_level", KEY_ENUM, OFF(log_level), NULL, HG_LOG_INFO, 0, 0, log_levels, NULL},
    {"redis.url", KEY_SECRET_STRING, OFF(redis.url), "redis://127.0.0.1:6379/0", 0, 0, 0, NULL,
     validate_redis_url},
    {"redis.prefix", KEY_STRING, OFF(redis.prefix), "webhooks", 0, 0, 0, NULL,
     validate_redis_prefix},
    {"redis.stream_by", KEY_ENUM, OFF(redis.stream_by), NULL, HG_STREAM_BY_PROVIDER, 0, 0,
     stream_bys, NULL},
    {"redis.maxlen", KEY_INT, OFF(redis.maxlen), NULL, 1000000, 1, INT64_MAX, NULL, NULL},
    {"redis.dedup_ttl", KEY_INT, OFF(redis.dedup_ttl_s), NULL, 604800, 1, 10 * 365 * 86400LL, NULL,
     NULL},
    {"redis.timeout_ms", KEY_INT, OFF(redis.timeout_ms), NULL, 2000, 1, 600000, NULL, NULL},
    {"redis.wait_replicas", KEY_INT, OFF(redis.wait_replicas), NULL, 0, 0, 64, NULL, NULL},
    {"redis.rejected_maxlen", KEY_INT, OFF(redis.rejected_maxlen), NULL, 10000, 1, INT64_MAX, NULL,
     NULL},
    {"redis.rejected_per_second", KEY_INT, OFF(redis.rejected_per_second), NULL, 20, 0, 100000,
     NULL, NULL},
    {"spool.dir", KEY_STRING, OFF(spool.dir), "/var/lib/hookgate/spool", 0, 0, 0, NULL, NULL},
    {"spool.max_bytes", KEY_INT, OFF(spool.max_bytes), NULL, GiB, 0, INT64_MAX, NULL, NULL},
};

#define NKEYS (sizeof keys / sizeof keys[0])

/* Sections whose members are looked up as "<section>.<member>". */
static const char *const sections[] = {"redis", "spool", NULL};

/* ------------------------------------------------------------------------ */
/* Error reporting                                                           */
/* ------------------------------------------------------------------------ */

struct loader {
    const char *file;
    char *err;
    size_t err_size;
    struct hg_arena *arena; /* parse tree of the file */
};

static int fail(struct loader *ld, const char *key, const char *fmt, ...) HG_PRINTF(3, 4);

static int
fail(struct loader *ld, const char *key, const char *fmt, ...)
{
    char what[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (ld->file && key)
        snprintf(ld->err, ld->err_size, "%s: %s: %s", ld->file, key, what);
    else if (ld->file || key)
        snprintf(ld->err, ld->err_size, "%s: %s", ld->file ? ld->file : key, what);
    else
        snprintf(ld->err, ld->err_size, "%s", what);
    return -1;
}

static const char *
type_name(enum hg_json_type t)
{
    switch (t) {
    case HG_JSON_NULL:
        return "null";
    case HG_JSON_FALSE:
    case HG_JSON_TRUE:
        return "a boolean";
    case HG_JSON_NUMBER:
        return "a number";
    case HG_JSON_STRING:
        return "a string";
    case HG_JSON_ARRAY:
        return "an array";
    case HG_JSON_OBJECT:
        return "an object";
    }
    return "?";
}

/* "<a>.<b>" for messages; an over-long name is cut, which only shortens a message. */
static void
join_key(char *out, size_t size, const char *a, const char *b)
{
    if (snprintf(out, size, "%s.%s", a, b) < 0)
        out[0] = '\0';
}

/* ------------------------------------------------------------------------ */
/* Validators                                                                */
/* ------------------------------------------------------------------------ */

static int
validate_listen(const struct config_key *key, const char *v, char *err, size_t err_size)
{
    const char *colon;
    char *end;
    long port;

    (void)key;
    if (strncmp(v, "unix:", 5) == 0) {
        if (v[5] != '/' || strlen(v + 5) >= 108) {
            snprintf(err, err_size, "a unix socket needs an absolute path under 108 bytes");
            return -1;
        }
        return 0;
    }
    colon = strrchr(v, ':');
    if (colon == NULL || colon == v) {
        snprintf(err, err_size, "expected \"host:port\", \"[v6]:port\" or \"unix:/path\"");
        return -1;
    }
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || port < 0 || port > 65535) {
        snprintf(err, err_size, "port must be 0..65535");
        return -1;
    }
    struct in_addr a4;
    struct in6_addr a6;
    char host[64];
    size_t hlen = (size_t)(colon - v);
    if (v[0] == '[') {
        if (hlen < 3 || v[hlen - 1] != ']' || hlen - 2 >= sizeof host)
            goto bad_host;
        memcpy(host, v + 1, hlen - 2);
        host[hlen - 2] = '\0';
        if (inet_pton(AF_INET6, host, &a6) != 1)
            goto bad_host;
        return 0;
    }
    if (hlen >= sizeof host)
        goto bad_host;
    memcpy(host, v, hlen);
    host[hlen] = '\0';
    if (inet_pton(AF_INET, host, &a4) == 1 || strcmp(host, "localhost") == 0)
        return 0;
bad_host:
    snprintf(err, err_size, "host must be an IPv4 address, [IPv6] address or localhost");
    return -1;
}

/* Empty (admin endpoints on the main listener) or an address like listen. */
static int
validate_admin_listen(const struct config_key *key, const char *v, char *err, size_t err_size)
{
    return v[0] == '\0' ? 0 : validate_listen(key, v, err, err_size);
}

static int
validate_prefix(const struct config_key *key, const char *v, char *err, size_t err_size)
{
    size_t n = strlen(v);

    (void)key;
    if (n < 2 || v[0] != '/' || v[n - 1] == '/' || strpbrk(v, "?#% ") != NULL) {
        snprintf(err, err_size, "must start with '/', not end with '/', e.g. \"/webhooks\"");
        return -1;
    }
    return 0;
}

static int
validate_redis_url(const struct config_key *key, const char *v, char *err, size_t err_size)
{
    (void)key;
    if (strncmp(v, "redis://", 8) == 0 && v[8] != '\0')
        return 0;
    if (strncmp(v, "unix://", 7) == 0 && v[7] == '/')
        return 0;
    snprintf(err, err_size, "expected redis://[:password@]host[:port][/db] or unix:///path");
    return -1;
}

static int
validate_redis_prefix(const struct config_key *key, const char *v, char *err, size_t err_size)
{
    (void)key;
    if (*v == '\0' || strpbrk(v, "{} \t\r\n") != NULL) {
        snprintf(err, err_size, "must be non-empty, without braces or white space");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Secrets                                                                   */
/* ------------------------------------------------------------------------ */

/* Reads a secret file into malloc'd memory, minus one trailing newline. */
static int
read_secret_file(struct loader *ld, const char *key, const char *path, unsigned char **out,
                 size_t *out_len)
{
    unsigned char *data = NULL;
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return fail(ld, key, "cannot read secret file %s: %s", path, strerror(errno));
    data = malloc(SECRET_FILE_MAX + 1);
    if (data == NULL) {
        close(fd);
        return fail(ld, key, "out of memory");
    }
    for (;;) {
        ssize_t n = read(fd, data + len, SECRET_FILE_MAX + 1 - len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            OPENSSL_cleanse(data, len);
            free(data);
            return fail(ld, key, "cannot read secret file %s: %s", path, strerror(e));
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > SECRET_FILE_MAX) {
            close(fd);
            OPENSSL_cleanse(data, len);
            free(data);
            return fail(ld, key, "secret file %s is larger than %d bytes", path, SECRET_FILE_MAX);
        }
    }
    close(fd);
    if (len > 0 && data[len - 1] == '\n')
        len--;
    *out = data;
    *out_len = len;
    return 0;
}

/*
 * Resolves "env:NAME", "file:/path" or a literal into malloc'd bytes.
 * The bytes are never put into a message.
 */
static int
resolve_secret(struct loader *ld, const char *key, const char *ref, size_t ref_len,
               unsigned char **out, size_t *out_len)
{
    if (strlen(ref) != ref_len)
        return fail(ld, key, "must not contain NUL bytes");
    if (strncmp(ref, "env:", 4) == 0) {
        const char *name = ref + 4, *value;

        if (*name == '\0')
            return fail(ld, key, "\"env:\" needs a variable name");
        value = getenv(name);
        if (value == NULL)
            return fail(ld, key, "environment variable %s is not set", name);
        *out_len = strlen(value);
        *out = malloc(*out_len + 1);
        if (*out == NULL)
            return fail(ld, key, "out of memory");
        memcpy(*out, value, *out_len + 1);
    } else if (strncmp(ref, "file:", 5) == 0) {
        if (ref[5] != '/')
            return fail(ld, key, "\"file:\" needs an absolute path");
        if (read_secret_file(ld, key, ref + 5, out, out_len) != 0)
            return -1;
    } else {
        *out_len = ref_len;
        *out = malloc(ref_len + 1);
        if (*out == NULL)
            return fail(ld, key, "out of memory");
        memcpy(*out, ref, ref_len + 1);
    }
    if (*out_len == 0) {
        free(*out);
        *out = NULL;
        return fail(ld, key, "secret is empty");
    }
    return 0;
}

unsigned char *
hg_secret_resolve(const char *ref, size_t *len, char *err, size_t err_size)
{
    struct loader ld = {NULL, err, err_size, NULL};
    unsigned char *out = NULL;

    if (resolve_secret(&ld, NULL, ref, strlen(ref), &out, len) != 0)
        return NULL;
    return out;
}

void
hg_secret_free(unsigned char *secret, size_t len)
{
    if (secret)
        OPENSSL_cleanse(secret, len);
    free(secret);
}

void
hg_secret_list_free(struct hg_secret_list *list)
{
    for (size_t i = 0; i < list->count; i++) {
        hg_secret_release(&list->items[i]);
        OPENSSL_cleanse(list->items[i].bytes, list->items[i].len);
        free(list->items[i].bytes);
    }
    free(list->items);
    list->items = NULL;
    list->count = 0;
}

static int
parse_secret_list(struct loader *ld, const char *key, const struct hg_json *v,
                  struct hg_secret_list *out)
{
    char item_key[256];

    if (v->type != HG_JSON_ARRAY)
        return fail(ld, key, "must be an array of strings, not %s", type_name(v->type));
    if (v->count == 0)
        return 0;
    out->items = calloc(v->count, sizeof *out->items);
    if (out->items == NULL)
        return fail(ld, key, "out of memory");
    for (size_t i = 0; i < v->count; i++) {
        const struct hg_json *s = v->items[i];

        snprintf(item_key, sizeof item_key, "%s[%zu]", key, i);
        if (s->type != HG_JSON_STRING)
            return fail(ld, item_key, "must be a string, not %s", type_name(s->type));
        if (resolve_secret(ld, item_key, s->str, s->len, &out->items[i].bytes,
                           &out->items[i].len) != 0)
            return -1;
        out->count++;
        if (hg_secret_prepare(&out->items[i]) != 0)
            return fail(ld, item_key, "out of memory");
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* CIDRs                                                                     */
/* ------------------------------------------------------------------------ */

static int
parse_cidr(const char *text, struct hg_cidr *out)
{
    char addr[64];
    const char *slash = strchr(text, '/');
    size_t alen = slash ? (size_t)(slash - text) : strlen(text);
    unsigned max;
    long bits;
    char *end;

    if (alen == 0 || alen >= sizeof addr)
        return -1;
    memcpy(addr, text, alen);
    addr[alen] = '\0';
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, addr, out->addr) == 1) {
        out->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
        out->family = AF_INET6;
        max = 128;
    } else {
        return -1;
    }
    if (slash == NULL) {
        out->prefix_len = max;
        return 0;
    }
    errno = 0;
    bits = strtol(slash + 1, &end, 10);
    if (errno || *end || end == slash + 1 || bits < 0 || bits > (long)max)
        return -1;
    out->prefix_len = (unsigned)bits;
    return 0;
}

static int
parse_cidrs(struct loader *ld, const char *key, const struct hg_json *v, struct hg_cidr_list *out)
{
    if (v->type != HG_JSON_ARRAY)
        return fail(ld, key, "must be an array of CIDR strings, not %s", type_name(v->type));
    if (v->count == 0)
        return 0;
    out->items = calloc(v->count, sizeof *out->items);
    if (out->items == NULL)
        return fail(ld, key, "out of memory");
    for (size_t i = 0; i < v->count; i++) {
        const struct hg_json *s = v->items[i];

        if (s->type != HG_JSON_STRING || parse_cidr(s->str, &out->items[i]) != 0)
            return fail(ld, key, "item %zu is not an address or CIDR like \"10.0.0.0/8\"", i);
        out->count++;
    }
    return 0;
}

int
hg_config_parse_secrets(const char *key, const struct hg_json *value, struct hg_secret_list *out,
                        char *err, size_t err_size)
{
    struct loader ld = {NULL, err, err_size, NULL};

    return parse_secret_list(&ld, key, value, out);
}

int
hg_config_parse_cidrs(const char *key, const struct hg_json *value, struct hg_cidr_list *out,
                      char *err, size_t err_size)
{
    struct loader ld = {NULL, err, err_size, NULL};

    return parse_cidrs(&ld, key, value, out);
}

/* ------------------------------------------------------------------------ */
/* Scalar keys                                                               */
/* ------------------------------------------------------------------------ */

static const struct config_key *
find_key(const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

static int
set_string(struct loader *ld, char **slot, const char *key, const char *value, size_t len)
{
    char *copy = malloc(len + 1);

    (void)ld;
    if (copy == NULL)
        return fail(ld, key, "out of memory");
    memcpy(copy, value, len);
    copy[len] = '\0';
    free(*slot);
    *slot = copy;
    return 0;
}

static int
apply_key(struct loader *ld, struct hg_config *cfg, const struct config_key *k,
          const struct hg_json *v)
{
    char *base = (char *)cfg;
    char why[256];

    switch (k->type) {
    case KEY_STRING:
    case KEY_SECRET_STRING: {
        char **slot = (char **)(base + k->offset);
        unsigned char *resolved = NULL;
        size_t len;
        int rc;

        if (v->type != HG_JSON_STRING)
            return fail(ld, k->name, "must be a string, not %s", type_name(v->type));
        if (strlen(v->str) != v->len)
            return fail(ld, k->name, "must not contain NUL bytes");
        if (k->type == KEY_STRING) {
            if (k->validate && k->validate(k, v->str, why, sizeof why) != 0)
                return fail(ld, k->name, "\"%s\": %s", v->str, why);
            return set_string(ld, slot, k->name, v->str, v->len);
        }
        /* may hold a password: resolved like a secret, never echoed */
        if (resolve_secret(ld, k->name, v->str, v->len, &resolved, &len) != 0)
            return -1;
        if (k->validate && k->validate(k, (char *)resolved, why, sizeof why) != 0) {
            OPENSSL_cleanse(resolved, len);
            free(resolved);
            return fail(ld, k->name, "%s", why);
        }
        rc = set_string(ld, slot, k->name, (char *)resolved, len);
        OPENSSL_cleanse(resolved, len);
        free(resolved);
        return rc;
    }
    case KEY_INT: {
        int64_t *slot = (int64_t *)(base + k->offset);
        char *end;
        long long n;

        if (v->type != HG_JSON_NUMBER)
            return fail(ld, k->name, "must be an integer, not %s", type_name(v->type));
        errno = 0;
        n = strtoll(v->str, &end, 10);
        if (errno || *end)
            return fail(ld, k->name, "must be an integer, not %s", v->str);
        if (n < k->min || n > k->max)
            return fail(ld, k->name, "%lld is out of range %lld..%lld", n, (long long)k->min,
                        (long long)k->max);
        *slot = n;
        return 0;
    }
    case KEY_ENUM: {
        int *slot = (int *)(base + k->offset);

        if (v->type != HG_JSON_STRING)
            return fail(ld, k->name, "must be a string, not %s", type_name(v->type));
        for (int i = 0; k->enum_names[i]; i++) {
            if (strcmp(k->enum_names[i], v->str) == 0) {
                *slot = i;
                return 0;
            }
        }
        char list[256] = "";
        for (int i = 0; k->enum_names[i]; i++) {
            strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
            strncat(list, k->enum_names[i], sizeof list - strlen(list) - 1);
        }
        return fail(ld, k->name, "\"%s\" is not one of %s", v->str, list);
    }
    case KEY_CIDRS:
        return parse_cidrs(ld, k->name, v, (struct hg_cidr_list *)(base + k->offset));
    }
    return fail(ld, k->name, "unsupported key type");
}

static int
set_defaults(struct loader *ld, struct hg_config *cfg)
{
    char *base = (char *)cfg;

    for (size_t i = 0; i < NKEYS; i++) {
        const struct config_key *k = &keys[i];

        switch (k->type) {
        case KEY_STRING:
        case KEY_SECRET_STRING:
            if (set_string(ld, (char **)(base + k->offset), k->name, k->def_string,
                           strlen(k->def_string)) != 0)
                return -1;
            break;
        case KEY_INT:
            *(int64_t *)(base + k->offset) = k->def_int;
            break;
        case KEY_ENUM:
            *(int *)(base + k->offset) = (int)k->def_int;
            break;
        case KEY_CIDRS:
            break;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Providers                                                                 */
/* ------------------------------------------------------------------------ */

static int
valid_tenant_id(const char *id, size_t len)
{
    if (len == 0 || len > 128 || strlen(id) != len)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

static int
parse_tenants(struct loader *ld, const char *key, const struct hg_json *v,
              struct hg_provider_config *pc)
{
    char tkey[384];

    if (v->type != HG_JSON_OBJECT)
        return fail(ld, key, "must be an object of tenant id -> {\"secrets\": [...]}");
    if (v->count == 0)
        return 0;
    pc->tenants = calloc(v->count, sizeof *pc->tenants);
    if (pc->tenants == NULL)
        return fail(ld, key, "out of memory");
    for (size_t i = 0; i < v->count; i++) {
        const struct hg_json *t = v->items[i];
        struct hg_tenant *tenant = &pc->tenants[i];

        join_key(tkey, sizeof tkey, key, v->keys[i]);
        if (!valid_tenant_id(v->keys[i], v->key_lens[i]))
            return fail(ld, tkey, "a tenant id is 1..128 of [A-Za-z0-9._-]");
        tenant->id = strdup(v->keys[i]);
        pc->tenant_count++;
        if (tenant->id == NULL)
            return fail(ld, tkey, "out of memory");
        if (t->type != HG_JSON_OBJECT)
            return fail(ld, tkey, "must be an object, not %s", type_name(t->type));
        for (size_t j = 0; j < t->count; j++) {
            char mkey[512];

            join_key(mkey, sizeof mkey, tkey, t->keys[j]);
            if (strcmp(t->keys[j], "secrets") != 0)
                return fail(ld, mkey, "unknown key (a tenant has only \"secrets\")");
            if (parse_secret_list(ld, mkey, t->items[j], &tenant->secrets) != 0)
                return -1;
        }
        if (tenant->secrets.count == 0)
            return fail(ld, tkey, "a tenant needs at least one secret");
    }
    return 0;
}

static int
parse_provider(struct loader *ld, const struct hg_provider *p, const char *pkey,
               const struct hg_json *v, struct hg_provider_config *pc)
{
    char key[256], why[512];
    int enabled = -1; /* not set */

    if (v->type != HG_JSON_OBJECT)
        return fail(ld, pkey, "must be an object, not %s", type_name(v->type));
    for (size_t i = 0; i < v->count; i++) {
        const char *name = v->keys[i];
        const struct hg_json *m = v->items[i];

        join_key(key, sizeof key, pkey, name);
        if (strcmp(name, "enabled") == 0) {
            if (m->type != HG_JSON_TRUE && m->type != HG_JSON_FALSE)
                return fail(ld, key, "must be true or false, not %s", type_name(m->type));
            enabled = m->type == HG_JSON_TRUE;
        } else if (strcmp(name, "secrets") == 0) {
            if (parse_secret_list(ld, key, m, &pc->secrets) != 0)
                return -1;
        } else if (strcmp(name, "tenants") == 0) {
            if (parse_tenants(ld, key, m, pc) != 0)
                return -1;
        } else {
            int rc = p->config_key ? p->config_key(pc, key, name, m, why, sizeof why) : 1;

            if (rc > 0)
                return fail(ld, key, "unknown key");
            if (rc < 0)
                return fail(ld, NULL, "%s", why);
        }
    }

    int has_credentials = pc->secrets.count > 0 || pc->tenant_count > 0;
    if (p->config_check) {
        int rc = p->config_check(pc, why, sizeof why);

        if (rc < 0 && enabled != 0)
            return fail(ld, pkey, "%s", why);
        has_credentials = rc == 0;
    } else if (enabled == 1 && !has_credentials) {
        return fail(ld, pkey,
                    "enabled without \"secrets\" or \"tenants\": refusing to accept "
                    "unverified deliveries");
    }
    pc->enabled = enabled == -1 ? has_credentials : enabled;
    return 0;
}

static int
parse_providers(struct loader *ld, struct hg_config *cfg, const struct hg_json *v)
{
    char key[256];

    if (v->type != HG_JSON_OBJECT)
        return fail(ld, "providers", "must be an object, not %s", type_name(v->type));
    for (size_t i = 0; i < v->count; i++) {
        int idx = hg_provider_index(v->keys[i], v->key_lens[i]);

        snprintf(key, sizeof key, "providers.%s", v->keys[i]);
        if (idx < 0)
            return fail(ld, key, "unknown provider");
        if (parse_provider(ld, hg_provider_at((size_t)idx), key, v->items[i],
                           &cfg->providers[idx]) != 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Load                                                                      */
/* ------------------------------------------------------------------------ */

static int
apply_object(struct loader *ld, struct hg_config *cfg, const struct hg_json *root)
{
    char name[256];

    for (size_t i = 0; i < root->count; i++) {
        const char *key = root->keys[i];
        const struct hg_json *v = root->items[i];
        int is_section = 0;

        if (strcmp(key, "providers") == 0) {
            if (parse_providers(ld, cfg, v) != 0)
                return -1;
            continue;
        }
        for (size_t s = 0; sections[s]; s++)
            is_section |= strcmp(key, sections[s]) == 0;
        if (is_section) {
            if (v->type != HG_JSON_OBJECT)
                return fail(ld, key, "must be an object, not %s", type_name(v->type));
            for (size_t j = 0; j < v->count; j++) {
                const struct config_key *k;

                join_key(name, sizeof name, key, v->keys[j]);
                if ((k = find_key(name)) == NULL)
                    return fail(ld, name, "unknown key");
                if (apply_key(ld, cfg, k, v->items[j]) != 0)
                    return -1;
            }
            continue;
        }
        const struct config_key *k = find_key(key);
        if (k == NULL || strchr(key, '.') != NULL)
            return fail(ld, key, "unknown key");
        if (apply_key(ld, cfg, k, v) != 0)
            return -1;
    }
    return 0;
}

enum hg_status
hg_config_parse(const char *name, const char *text, size_t len, struct hg_config **out, char *err,
                size_t err_size)
{
    struct loader ld = {name, err, err_size, NULL};
    struct hg_config *cfg = NULL;
    const struct hg_json *root;
    char why[256];

    *out = NULL;
    ld.arena = hg_arena_new();
    cfg = calloc(1, sizeof *cfg);
    if (ld.arena == NULL || cfg == NULL)
        goto nomem;
    cfg->providers = calloc(hg_provider_count(), sizeof *cfg->providers);
    cfg->file = strdup(name);
    if (cfg->providers == NULL || cfg->file == NULL)
        goto nomem;
    if (set_defaults(&ld, cfg) != 0)
        goto fail;

    root = hg_json_parse(ld.arena, text, len, 32, HG_JSON_ALLOW_COMMENTS | HG_JSON_NAME_KEYS, why,
                         sizeof why);
    if (root == NULL) {
        fail(&ld, NULL, "not valid JSON: %s", why);
        goto fail;
    }
    if (root->type != HG_JSON_OBJECT) {
        fail(&ld, NULL, "the top level must be an object");
        goto fail;
    }
    if (apply_object(&ld, cfg, root) != 0)
        goto fail;
    hg_arena_free(ld.arena);
    *out = cfg;
    return HG_OK;

nomem:
    snprintf(err, err_size, "%s: out of memory", name);
    hg_arena_free(ld.arena);
    hg_config_free(cfg);
    return HG_ERR_NOMEM;
fail:
    hg_arena_free(ld.arena);
    hg_config_free(cfg);
    return HG_ERR_CONFIG;
}

enum hg_status
hg_config_load(const char *path, struct hg_config **out, char *err, size_t err_size)
{
    struct stat st;
    char *text = NULL;
    size_t len = 0;
    enum hg_status status;
    int fd;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, err_size, "%s: cannot open: %s", path, strerror(errno));
        return HG_ERR_CONFIG;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > CONFIG_FILE_MAX) {
        snprintf(err, err_size, "%s: not a regular file of at most %d bytes", path,
                 CONFIG_FILE_MAX);
        close(fd);
        return HG_ERR_CONFIG;
    }
    text = malloc((size_t)st.st_size + 1);
    if (text == NULL) {
        close(fd);
        snprintf(err, err_size, "%s: out of memory", path);
        return HG_ERR_NOMEM;
    }
    while (len < (size_t)st.st_size) {
        ssize_t n = read(fd, text + len, (size_t)st.st_size - len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(err, err_size, "%s: cannot read: %s", path, n ? strerror(errno) : "short");
            close(fd);
            free(text);
            return HG_ERR_CONFIG;
        }
        len += (size_t)n;
    }
    close(fd);
    status = hg_config_parse(path, text, len, out, err, err_size);
    free(text);
    return status;
}

void
hg_config_free(struct hg_config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; cfg->providers && i < hg_provider_count(); i++) {
        struct hg_provider_config *pc = &cfg->providers[i];
        const struct hg_provider *p = hg_provider_at(i);

        hg_secret_list_free(&pc->secrets);
        for (size_t t = 0; t < pc->tenant_count; t++) {
            free(pc->tenants[t].id);
            hg_secret_list_free(&pc->tenants[t].secrets);
        }
        free(pc->tenants);
        if (pc->extra && p->config_free)
            p->config_free(pc->extra);
    }
    free(cfg->providers);
    free(cfg->trusted_proxies.items);
    for (size_t i = 0; i < NKEYS; i++) {
        if (keys[i].type == KEY_STRING || keys[i].type == KEY_SECRET_STRING) {
            char **slot = (char **)((char *)cfg + keys[i].offset);

            if (*slot && keys[i].type == KEY_SECRET_STRING)
                OPENSSL_cleanse(*slot, strlen(*slot));
            free(*slot);
        }
    }
    free(cfg->file);
    free(cfg);
}
