/*
 * test_config.c - configuration parsing and validation (hg_config_parse,
 * hg_config_load in lib/hookgate.h).
 *
 * Texts may contain "@DIR@", replaced by a temporary directory that holds the
 * files the `file:` secrets point at.
 */
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hookgate.h"
#include "unit.h"

#define CONFIG_NAME "unit-config.json"
#define LITERAL_SECRET "LITERAL-SECRET-VALUE-7f3a"
#define ENV_SECRET_VALUE "ENV-SECRET-VALUE-91c2"

static char tmpdir[64];

/* Returns `text` with every "@DIR@" replaced by tmpdir (malloc'd). */
static char *
expand(const char *text)
{
    size_t dir_len = strlen(tmpdir);
    char *out = malloc(strlen(text) * (dir_len + 1) + 1);
    size_t n = 0;
    assert_non_null(out);
    while (*text != '\0') {
        if (strncmp(text, "@DIR@", 5) == 0) {
            memcpy(out + n, tmpdir, dir_len);
            n += dir_len;
            text += 5;
        } else {
            out[n++] = *text++;
        }
    }
    out[n] = '\0';
    return out;
}

static void
write_file(const char *name, const char *content, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(content, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static const char *const secret_files[] = {"two-newlines", "one-newline", "no-newline",
                                           "only-newline", "empty",       "config"};

static int
setup(void **state)
{
    (void)state;
    strcpy(tmpdir, "/tmp/hg-unit-config-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    write_file("two-newlines", "abc\n\n", 5);
    write_file("one-newline", "abc\n", 4);
    write_file("no-newline", "abc", 3);
    write_file("only-newline", "\n", 1);
    write_file("empty", "", 0);
    setenv("HG_UNIT_TRUTAC_SECRET", ENV_SECRET_VALUE, 1);
    unsetenv("HG_UNIT_SURELY_UNSET");
    setenv("HG_UNIT_EMPTY", "", 1);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    char path[256];
    for (size_t i = 0; i < UNIT_ARRAY_LEN(secret_files); i++) {
        snprintf(path, sizeof path, "%s/%s", tmpdir, secret_files[i]);
        unlink(path);
    }
    rmdir(tmpdir);
    unsetenv("HG_UNIT_TRUTAC_SECRET");
    unsetenv("HG_UNIT_EMPTY");
    return 0;
}

/* Parses `text` (after @DIR@ expansion); returns the status. */
static enum hg_status
parse_config(const char *text, struct hg_config **cfg, char *err, size_t err_size)
{
    char *expanded = expand(text);
    *cfg = NULL;
    err[0] = '\0';
    enum hg_status st =
        hg_config_parse(CONFIG_NAME, expanded, strlen(expanded), cfg, err, err_size);
    free(expanded);
    return st;
}

static const struct hg_provider_config *
pconf(const struct hg_config *cfg, const char *name)
{
    int idx = hg_provider_index(name, strlen(name));
    assert_true(idx >= 0);
    return &cfg->providers[idx];
}

/* ------------------------------------------------------------------------ */
/* Defaults                                                                  */
/* ------------------------------------------------------------------------ */

static void
test_registry(void **state)
{
    (void)state;
    /* The five providers of DESIGN.md; every name resolves to its own index. */
    static const char *const names[] = {"teamgo", "inline", "ombori", "trutac", "oneupvision"};
    CHECK_INT("count", hg_provider_count(), UNIT_ARRAY_LEN(names));
    for (size_t i = 0; i < hg_provider_count(); i++)
        CHECK_INT(hg_provider_name(hg_provider_at(i)),
                  hg_provider_index(hg_provider_name(hg_provider_at(i)),
                                    strlen(hg_provider_name(hg_provider_at(i)))),
                  (int)i);
    for (size_t i = 0; i < UNIT_ARRAY_LEN(names); i++) {
        int idx = hg_provider_index(names[i], strlen(names[i]));
        if (CHECK(names[i], idx >= 0 && (size_t)idx < hg_provider_count()))
            CHECK_STR(names[i], hg_provider_name(hg_provider_at((size_t)idx)), names[i]);
    }
    CHECK_INT("unknown", hg_provider_index("nosuch", 6), -1);
    CHECK_INT("prefix-only", hg_provider_index("trutacx", 6), hg_provider_index("trutac", 6));
    CHECK_INT("length-honoured", hg_provider_index("trutac", 3), -1);
    UNIT_END();
}

static void
test_defaults(void **state)
{
    (void)state;
    struct hg_config *cfg;
    char err[512];
    enum hg_status st = parse_config("{}", &cfg, err, sizeof err);
    if (!CHECK_INT("{}", st, HG_OK)) {
        print_error("    err: %s\n", err);
        UNIT_END();
        return;
    }
    CHECK_STR("listen", cfg->listen, "0.0.0.0:8080");
    CHECK_STR("path_prefix", cfg->path_prefix, "/webhooks");
    CHECK_INT("max_body", cfg->max_body, 1048576);
    CHECK_INT("timestamp_tolerance", cfg->timestamp_tolerance_s, 300);
    CHECK_STR("redis.url", cfg->redis.url, "redis://127.0.0.1:6379/0");
    CHECK_STR("redis.prefix", cfg->redis.prefix, "webhooks");
    CHECK_INT("redis.stream_by", cfg->redis.stream_by, HG_STREAM_BY_PROVIDER);
    CHECK_INT("redis.maxlen", cfg->redis.maxlen, 1000000);
    CHECK_INT("redis.dedup_ttl", cfg->redis.dedup_ttl_s, 604800);
    CHECK_INT("redis.timeout_ms", cfg->redis.timeout_ms, 2000);
    CHECK_INT("redis.wait_replicas", cfg->redis.wait_replicas, 0);
    CHECK_STR("spool.dir", cfg->spool.dir, "/var/lib/hookgate/spool");
    CHECK_INT("spool.max_bytes", cfg->spool.max_bytes, 1073741824);
    CHECK_INT("log_level", cfg->log_level, HG_LOG_INFO);
    CHECK_INT("trusted_proxies", cfg->trusted_proxies.count, 0);
    if (CHECK("providers", cfg->providers != NULL)) {
        for (size_t i = 0; i < hg_provider_count(); i++) {
            const char *name = hg_provider_name(hg_provider_at(i));
            CHECK_INT(name, cfg->providers[i].enabled, 0); /* no credentials: disabled */
        }
    }
    hg_config_free(cfg);
    hg_config_free(NULL); /* every _free accepts NULL */
    UNIT_END();
}

/* Every key set to a value other than its default. */
static void
test_all_keys(void **state)
{
    (void)state;
    static const char text[] =
        "{\n"
        "  \"listen\": \"127.0.0.1:9000\",\n"
        "  \"path_prefix\": \"/hooks\",\n"
        "  \"max_body\": 2048,\n"
        "  \"timestamp_tolerance\": 60,\n"
        "  \"trusted_proxies\": [\"127.0.0.1/32\", \"::1/128\", \"10.0.0.0/8\"],\n"
        "  \"log_level\": \"debug\",\n"
        "  \"redis\": {\"url\": \"redis://:pw@redis.example:6380/2\", \"prefix\": \"hg\",\n"
        "            \"stream_by\": \"category\", \"maxlen\": 5000, \"dedup_ttl\": 3600,\n"
        "            \"timeout_ms\": 150, \"wait_replicas\": 1},\n"
        "  \"spool\": {\"dir\": \"/tmp/hg-spool\", \"max_bytes\": 4096}\n"
        "}\n";
    struct hg_config *cfg;
    char err[512];
    enum hg_status st = parse_config(text, &cfg, err, sizeof err);
    if (!CHECK_INT("all-keys", st, HG_OK)) {
        print_error("    err: %s\n", err);
        UNIT_END();
        return;
    }
    CHECK_STR("listen", cfg->listen, "127.0.0.1:9000");
    CHECK_STR("path_prefix", cfg->path_prefix, "/hooks");
    CHECK_INT("max_body", cfg->max_body, 2048);
    CHECK_INT("timestamp_tolerance", cfg->timestamp_tolerance_s, 60);
    CHECK_INT("log_level", cfg->log_level, HG_LOG_DEBUG);
    CHECK_STR("redis.url", cfg->redis.url, "redis://:pw@redis.example:6380/2");
    CHECK_STR("redis.prefix", cfg->redis.prefix, "hg");
    CHECK_INT("redis.stream_by", cfg->redis.stream_by, HG_STREAM_BY_CATEGORY);
    CHECK_INT("redis.maxlen", cfg->redis.maxlen, 5000);
    CHECK_INT("redis.dedup_ttl", cfg->redis.dedup_ttl_s, 3600);
    CHECK_INT("redis.timeout_ms", cfg->redis.timeout_ms, 150);
    CHECK_INT("redis.wait_replicas", cfg->redis.wait_replicas, 1);
    CHECK_STR("spool.dir", cfg->spool.dir, "/tmp/hg-spool");
    CHECK_INT("spool.max_bytes", cfg->spool.max_bytes, 4096);

    /* trusted_proxies: 127.0.0.1/32, ::1/128, 10.0.0.0/8 */
    static const unsigned char v4_local[4] = {127, 0, 0, 1};
    static const unsigned char v6_local[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static const unsigned char v4_ten[4] = {10, 0, 0, 0};
    if (CHECK_INT("trusted_proxies", cfg->trusted_proxies.count, 3)) {
        const struct hg_cidr *p = cfg->trusted_proxies.items;
        CHECK_INT("127.0.0.1/32 family", p[0].family, AF_INET);
        CHECK_MEM("127.0.0.1/32 addr", (const char *)p[0].addr, 4, (const char *)v4_local, 4);
        CHECK_INT("127.0.0.1/32 prefix", p[0].prefix_len, 32);
        CHECK_INT("::1/128 family", p[1].family, AF_INET6);
        CHECK_MEM("::1/128 addr", (const char *)p[1].addr, 16, (const char *)v6_local, 16);
        CHECK_INT("::1/128 prefix", p[1].prefix_len, 128);
        CHECK_INT("10.0.0.0/8 family", p[2].family, AF_INET);
        CHECK_MEM("10.0.0.0/8 addr", (const char *)p[2].addr, 4, (const char *)v4_ten, 4);
        CHECK_INT("10.0.0.0/8 prefix", p[2].prefix_len, 8);
    }
    hg_config_free(cfg);
    UNIT_END();
}

/* ------------------------------------------------------------------------ */
/* Accepted variants of single keys                                          */
/* ------------------------------------------------------------------------ */

struct accept_case {
    const char *name;
    const char *text;
};

static const struct accept_case accept_cases[] = {
    {"comments", "// hookgate\n{ /* limit */ \"max_body\": 10 // bytes\n}\n"},
    {"listen-unix", "{\"listen\": \"unix:/run/hookgate.sock\"}"},
    {"listen-ipv6", "{\"listen\": \"[::1]:8080\"}"},
    {"stream_by-single", "{\"redis\": {\"stream_by\": \"single\"}}"},
    {"stream_by-provider", "{\"redis\": {\"stream_by\": \"provider\"}}"},
    {"log_level-warn", "{\"log_level\": \"warn\"}"},
    {"log_level-error", "{\"log_level\": \"error\"}"},
    {"redis-unix-url", "{\"redis\": {\"url\": \"unix:///run/redis.sock\"}}"},
    {"empty-trusted_proxies", "{\"trusted_proxies\": []}"},
    {"empty-sections", "{\"redis\": {}, \"spool\": {}, \"providers\": {}}"},
};

static void
test_accept(void **state)
{
    (void)state;
    for (size_t i = 0; i < UNIT_ARRAY_LEN(accept_cases); i++) {
        const struct accept_case *c = &accept_cases[i];
        struct hg_config *cfg;
        char err[512];
        enum hg_status st = parse_config(c->text, &cfg, err, sizeof err);
        if (!CHECK_INT(c->name, st, HG_OK))
            print_error("    err: %s\n", err);
        hg_config_free(cfg);
    }
    UNIT_END();
}

/* The text is bounded by `len`, not by a NUL. */
static void
test_parse_length(void **state)
{
    (void)state;
    struct hg_config *cfg = NULL;
    char err[512];
    enum hg_status st =
        hg_config_parse(CONFIG_NAME, "{\"max_body\": 10}garbage", 16, &cfg, err, sizeof err);
    if (CHECK_INT("length-honoured", st, HG_OK))
        CHECK_INT("length-honoured", cfg->max_body, 10);
    hg_config_free(cfg);
    UNIT_END();
}

/* ------------------------------------------------------------------------ */
/* Refused configurations                                                    */
/* ------------------------------------------------------------------------ */

struct error_case {
    const char *name;
    const char *text;
    const char *key; /* the error must name it; NULL for syntax errors */
};

static const struct error_case error_cases[] = {
    {"invalid-json", "{\"max_body\": 10", NULL},
    {"root-not-object", "[]", NULL},
    {"duplicate-key", "{\"max_body\": 10, \"max_body\": 20}", "max_body"},
    {"unknown-top-level-key", "{\"listne\": \"0.0.0.0:80\"}", "listne"},
    {"unknown-redis-key", "{\"redis\": {\"timeoutms\": 100}}", "redis.timeoutms"},
    {"unknown-spool-key", "{\"spool\": {\"size\": 1}}", "spool.size"},
    {"wrong-type-max_body", "{\"max_body\": \"x\"}", "max_body"},
    {"wrong-type-max_body-float", "{\"max_body\": 1.5}", "max_body"},
    {"wrong-type-listen", "{\"listen\": 8080}", "listen"},
    {"wrong-type-redis", "{\"redis\": \"redis://127.0.0.1\"}", "redis"},
    {"wrong-type-spool-max_bytes", "{\"spool\": {\"max_bytes\": \"1G\"}}", "spool.max_bytes"},
    {"wrong-type-trusted_proxies", "{\"trusted_proxies\": \"127.0.0.1/32\"}", "trusted_proxies"},
    {"max_body-zero", "{\"max_body\": 0}", "max_body"},
    {"max_body-negative", "{\"max_body\": -1}", "max_body"},
    {"max_body-overflows-int64", "{\"max_body\": 99999999999999999999999}", "max_body"},
    {"maxlen-overflows-int64", "{\"redis\": {\"maxlen\": 18446744073709551617}}", "redis.maxlen"},
    {"timeout_ms-zero", "{\"redis\": {\"timeout_ms\": 0}}", "redis.timeout_ms"},
    {"timestamp_tolerance-negative", "{\"timestamp_tolerance\": -1}", "timestamp_tolerance"},
    {"wait_replicas-negative", "{\"redis\": {\"wait_replicas\": -1}}", "redis.wait_replicas"},
    {"stream_by-bad-enum", "{\"redis\": {\"stream_by\": \"shard\"}}", "redis.stream_by"},
    {"log_level-bad-enum", "{\"log_level\": \"loud\"}", "log_level"},
    {"listen-port-too-large", "{\"listen\": \"0.0.0.0:99999\"}", "listen"},
    {"listen-port-empty", "{\"listen\": \"0.0.0.0:\"}", "listen"},
    {"listen-port-not-number", "{\"listen\": \"0.0.0.0:http8\"}", "listen"},
    {"listen-empty", "{\"listen\": \"\"}", "listen"},
    {"listen-unix-empty-path", "{\"listen\": \"unix:\"}", "listen"},
    {"path_prefix-no-slash", "{\"path_prefix\": \"webhooks\"}", "path_prefix"},
    {"path_prefix-empty", "{\"path_prefix\": \"\"}", "path_prefix"},
    {"redis-url-bad-scheme",
     "{\"redis\": {\"url\": \"http://:PASSWORD-IN-URL-5e1@localhost:6379\"}}", "redis.url"},
    {"unknown-provider", "{\"providers\": {\"nosuch\": {\"secrets\": [\"x\"]}}}",
     "providers.nosuch"},
    {"provider-not-object", "{\"providers\": {\"trutac\": [\"x\"]}}", "providers.trutac"},
    {"unknown-provider-key",
     "{\"providers\": {\"trutac\": {\"secrets\": [\"" LITERAL_SECRET "\"], \"bogus\": 1}}}",
     "providers.trutac.bogus"},
    {"enabled-without-secrets", "{\"providers\": {\"trutac\": {\"enabled\": true}}}",
     "providers.trutac"},
    {"enabled-with-empty-secrets",
     "{\"providers\": {\"trutac\": {\"enabled\": true, \"secrets\": []}}}", "providers.trutac"},
    {"enabled-not-boolean",
     "{\"providers\": {\"trutac\": {\"enabled\": \"yes\", \"secrets\": [\"" LITERAL_SECRET "\"]}}}",
     "providers.trutac.enabled"},
    {"secrets-not-array", "{\"providers\": {\"trutac\": {\"secrets\": \"" LITERAL_SECRET "\"}}}",
     "providers.trutac.secrets"},
    {"secret-not-string", "{\"providers\": {\"trutac\": {\"secrets\": [42]}}}",
     "providers.trutac.secrets"},
    {"secret-empty-string",
     "{\"providers\": {\"trutac\": {\"secrets\": [\"" LITERAL_SECRET "\", \"\"]}}}",
     "providers.trutac.secrets"},
    {"secret-env-unset",
     "{\"providers\": {\"trutac\": {\"secrets\": [\"" LITERAL_SECRET
     "\", \"env:HG_UNIT_SURELY_UNSET\"]}}}",
     "providers.trutac.secrets"},
    {"secret-env-empty", "{\"providers\": {\"trutac\": {\"secrets\": [\"env:HG_UNIT_EMPTY\"]}}}",
     "providers.trutac.secrets"},
    {"secret-file-empty", "{\"providers\": {\"trutac\": {\"secrets\": [\"file:@DIR@/empty\"]}}}",
     "providers.trutac.secrets"},
    {"secret-file-only-newline",
     "{\"providers\": {\"trutac\": {\"secrets\": [\"file:@DIR@/only-newline\"]}}}",
     "providers.trutac.secrets"},
    {"secret-file-missing",
     "{\"providers\": {\"trutac\": {\"secrets\": [\"" LITERAL_SECRET
     "\", \"file:@DIR@/does-not-exist\"]}}}",
     "providers.trutac.secrets"},
    {"tenant-secret-env-unset",
     "{\"providers\": {\"oneupvision\": {\"tenants\": {\"t1\": {\"secrets\": [\"" LITERAL_SECRET
     "\", \"env:HG_UNIT_SURELY_UNSET\"]}}}}}",
     "providers.oneupvision.tenants"},
    {"tenants-not-object", "{\"providers\": {\"oneupvision\": {\"tenants\": [\"t1\"]}}}",
     "providers.oneupvision.tenants"},
    {"tenant-without-secrets", "{\"providers\": {\"oneupvision\": {\"tenants\": {\"t1\": {}}}}}",
     "providers.oneupvision.tenants"},
    {"trusted_proxies-prefix-too-long", "{\"trusted_proxies\": [\"10.0.0.0/33\"]}",
     "trusted_proxies"},
    {"trusted_proxies-v6-prefix-too-long", "{\"trusted_proxies\": [\"::1/129\"]}",
     "trusted_proxies"},
    {"trusted_proxies-bad-address", "{\"trusted_proxies\": [\"300.0.0.0/8\"]}", "trusted_proxies"},
    {"trusted_proxies-garbage", "{\"trusted_proxies\": [\"proxy.example\"]}", "trusted_proxies"},
    {"trusted_proxies-not-string", "{\"trusted_proxies\": [10]}", "trusted_proxies"},
};

static void
test_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < UNIT_ARRAY_LEN(error_cases); i++) {
        const struct error_case *c = &error_cases[i];
        struct hg_config *cfg;
        char err[512];
        enum hg_status st = parse_config(c->text, &cfg, err, sizeof err);
        CHECK_INT(c->name, st, HG_ERR_CONFIG);
        CHECK_CONTAINS(c->name, err, CONFIG_NAME);
        if (c->key != NULL)
            CHECK_CONTAINS(c->name, err, c->key);
        /* An error message never carries a secret. */
        CHECK_NOT_CONTAINS(c->name, err, LITERAL_SECRET);
        CHECK_NOT_CONTAINS(c->name, err, ENV_SECRET_VALUE);
        CHECK_NOT_CONTAINS(c->name, err, "PASSWORD-IN-URL");
        if (st != HG_OK)
            CHECK(c->name, cfg == NULL);
        hg_config_free(cfg);
    }
    UNIT_END();
}

/* A small err buffer truncates the message; it never overflows. */
static void
test_error_small_buffer(void **state)
{
    (void)state;
    struct hg_config *cfg = NULL;
    char err[8];
    memset(err, 'X', sizeof err);
    static const char text[] = "{\"log_level\": \"loud\"}";
    enum hg_status st = hg_config_parse(CONFIG_NAME, text, sizeof text - 1, &cfg, err, 4);
    CHECK_INT("small-buffer", st, HG_ERR_CONFIG);
    CHECK("small-buffer", memchr(err, '\0', 4) != NULL);
    CHECK_INT("small-buffer", err[4], 'X');
    hg_config_free(cfg);
    UNIT_END();
}

/* ------------------------------------------------------------------------ */
/* Secrets and providers                                                     */
/* ------------------------------------------------------------------------ */

struct secret_case {
    const char *name;
    const char *text;
    const char *provider;
    size_t count;
    size_t index;
    const char *expected;
    size_t expected_len;
};

#define SECRET_TXT(s) (s), (sizeof(s) - 1)

static const struct secret_case secret_cases[] = {
    {"literal", "{\"providers\": {\"trutac\": {\"secrets\": [\"" LITERAL_SECRET "\"]}}}", "trutac",
     1, 0, SECRET_TXT(LITERAL_SECRET)},
    {"literal-two-first",
     "{\"providers\": {\"trutac\": {\"secrets\": [\"current\", \"previous\"]}}}", "trutac", 2, 0,
     SECRET_TXT("current")},
    {"literal-two-second",
     "{\"providers\": {\"trutac\": {\"secrets\": [\"current\", \"previous\"]}}}", "trutac", 2, 1,
     SECRET_TXT("previous")},
    {"literal-unicode-escape", "{\"providers\": {\"trutac\": {\"secrets\": [\"s\\u00e9c\"]}}}",
     "trutac", 1, 0,
     SECRET_TXT("s\xc3\xa9"
                "c")},
    {"env", "{\"providers\": {\"trutac\": {\"secrets\": [\"env:HG_UNIT_TRUTAC_SECRET\"]}}}",
     "trutac", 1, 0, SECRET_TXT(ENV_SECRET_VALUE)},
    {"env-after-literal",
     "{\"providers\": {\"oneupvision\": {\"secrets\": [\"lit\", \"env:HG_UNIT_TRUTAC_SECRET\"]}}}",
     "oneupvision", 2, 1, SECRET_TXT(ENV_SECRET_VALUE)},
    {"file-two-newlines-loses-one",
     "{\"providers\": {\"trutac\": {\"secrets\": [\"file:@DIR@/two-newlines\"]}}}", "trutac", 1, 0,
     SECRET_TXT("abc\n")},
    {"file-one-newline-loses-it",
     "{\"providers\": {\"trutac\": {\"secrets\": [\"file:@DIR@/one-newline\"]}}}", "trutac", 1, 0,
     SECRET_TXT("abc")},
    {"file-no-newline", "{\"providers\": {\"trutac\": {\"secrets\": [\"file:@DIR@/no-newline\"]}}}",
     "trutac", 1, 0, SECRET_TXT("abc")},
};

static void
test_secrets(void **state)
{
    (void)state;
    for (size_t i = 0; i < UNIT_ARRAY_LEN(secret_cases); i++) {
        const struct secret_case *c = &secret_cases[i];
        struct hg_config *cfg;
        char err[512];
        enum hg_status st = parse_config(c->text, &cfg, err, sizeof err);
        if (!CHECK_INT(c->name, st, HG_OK)) {
            print_error("    err: %s\n", err);
            continue;
        }
        const struct hg_provider_config *p = pconf(cfg, c->provider);
        CHECK_INT(c->name, p->enabled, 1);
        if (CHECK_INT(c->name, p->secrets.count, c->count)) {
            const struct hg_secret *s = &p->secrets.items[c->index];
            CHECK_MEM(c->name, (const char *)s->bytes, s->len, c->expected, c->expected_len);
        }
        hg_config_free(cfg);
    }
    UNIT_END();
}

static void
test_tenants(void **state)
{
    (void)state;
    static const char text[] =
        "{\"providers\": {\"oneupvision\": {\"tenants\": {\n"
        "  \"1dc54786-9d69-487a-8c17-407ff20d0bdc\": {\"secrets\": [\"t1-new\", \"t1-old\"]},\n"
        "  \"other-tenant\": {\"secrets\": [\"env:HG_UNIT_TRUTAC_SECRET\"]}\n"
        "}}}}";
    struct hg_config *cfg;
    char err[512];
    enum hg_status st = parse_config(text, &cfg, err, sizeof err);
    if (!CHECK_INT("tenants", st, HG_OK)) {
        print_error("    err: %s\n", err);
        UNIT_END();
        return;
    }
    const struct hg_provider_config *p = &cfg->providers[hg_provider_index("oneupvision", 11)];
    CHECK_INT("tenants-enable-provider", p->enabled, 1);
    CHECK_INT("no-provider-secrets", p->secrets.count, 0);
    CHECK_INT("tenant_count", p->tenant_count, 2);
    int seen_first = 0, seen_other = 0;
    for (size_t i = 0; i < p->tenant_count; i++) {
        const struct hg_tenant *t = &p->tenants[i];
        if (strcmp(t->id, "1dc54786-9d69-487a-8c17-407ff20d0bdc") == 0) {
            seen_first = 1;
            if (CHECK_INT("uuid-tenant", t->secrets.count, 2)) {
                CHECK_MEM("uuid-tenant[0]", (const char *)t->secrets.items[0].bytes,
                          t->secrets.items[0].len, "t1-new", 6);
                CHECK_MEM("uuid-tenant[1]", (const char *)t->secrets.items[1].bytes,
                          t->secrets.items[1].len, "t1-old", 6);
            }
        } else if (strcmp(t->id, "other-tenant") == 0) {
            seen_other = 1;
            if (CHECK_INT("other-tenant", t->secrets.count, 1))
                CHECK_MEM("other-tenant[0]", (const char *)t->secrets.items[0].bytes,
                          t->secrets.items[0].len, ENV_SECRET_VALUE, strlen(ENV_SECRET_VALUE));
        }
    }
    CHECK("uuid-tenant-present", seen_first);
    CHECK("other-tenant-present", seen_other);
    hg_config_free(cfg);
    UNIT_END();
}

struct enabled_case {
    const char *name;
    const char *text;
    const char *provider;
    int enabled;
};

static const struct enabled_case enabled_cases[] = {
    {"secrets-enable-by-default", "{\"providers\": {\"trutac\": {\"secrets\": [\"s\"]}}}", "trutac",
     1},
    {"absent-provider-disabled", "{\"providers\": {\"trutac\": {\"secrets\": [\"s\"]}}}",
     "oneupvision", 0},
    {"absent-provider-disabled-other-way",
     "{\"providers\": {\"oneupvision\": {\"secrets\": [\"s\"]}}}", "trutac", 0},
    {"enabled-false-with-secrets",
     "{\"providers\": {\"trutac\": {\"enabled\": false, \"secrets\": [\"s\"]}}}", "trutac", 0},
    {"enabled-true-with-secrets",
     "{\"providers\": {\"trutac\": {\"enabled\": true, \"secrets\": [\"s\"]}}}", "trutac", 1},
    {"enabled-false-without-secrets", "{\"providers\": {\"trutac\": {\"enabled\": false}}}",
     "trutac", 0},
    {"empty-provider-object-disabled", "{\"providers\": {\"trutac\": {}}}", "trutac", 0},
    {"tenant-secrets-enable",
     "{\"providers\": {\"trutac\": {\"tenants\": {\"acme\": {\"secrets\": [\"s\"]}}}}}", "trutac",
     1},
};

static void
test_enabled(void **state)
{
    (void)state;
    for (size_t i = 0; i < UNIT_ARRAY_LEN(enabled_cases); i++) {
        const struct enabled_case *c = &enabled_cases[i];
        struct hg_config *cfg;
        char err[512];
        enum hg_status st = parse_config(c->text, &cfg, err, sizeof err);
        if (!CHECK_INT(c->name, st, HG_OK)) {
            print_error("    err: %s\n", err);
            continue;
        }
        CHECK_INT(c->name, pconf(cfg, c->provider)->enabled, c->enabled);
        hg_config_free(cfg);
    }
    UNIT_END();
}

/* ------------------------------------------------------------------------ */
/* hg_config_load                                                            */
/* ------------------------------------------------------------------------ */

static void
test_load(void **state)
{
    (void)state;
    struct hg_config *cfg = NULL;
    char err[512] = "";
    char path[256];

    snprintf(path, sizeof path, "%s/no-such-config.json", tmpdir);
    enum hg_status st = hg_config_load(path, &cfg, err, sizeof err);
    CHECK_INT("missing-file", st, HG_ERR_CONFIG);
    CHECK_CONTAINS("missing-file", err, path);
    hg_config_free(cfg);

    static const char text[] = "// test\n{\"max_body\": 4096, \"log_level\": \"warn\"}\n";
    write_file("config", text, sizeof text - 1);
    snprintf(path, sizeof path, "%s/config", tmpdir);
    cfg = NULL;
    st = hg_config_load(path, &cfg, err, sizeof err);
    if (CHECK_INT("load-file", st, HG_OK)) {
        CHECK_INT("load-file", cfg->max_body, 4096);
        CHECK_INT("load-file", cfg->log_level, HG_LOG_WARN);
        CHECK_STR("load-file", cfg->file, path);
    } else {
        print_error("    err: %s\n", err);
    }
    hg_config_free(cfg);

    static const char bad[] = "{\"log_level\": \"loud\"}";
    write_file("config", bad, sizeof bad - 1);
    cfg = NULL;
    st = hg_config_load(path, &cfg, err, sizeof err);
    CHECK_INT("load-bad-file", st, HG_ERR_CONFIG);
    CHECK_CONTAINS("load-bad-file", err, path);
    CHECK_CONTAINS("load-bad-file", err, "log_level");
    hg_config_free(cfg);
    UNIT_END();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_all_keys),
        cmocka_unit_test(test_accept),
        cmocka_unit_test(test_parse_length),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_error_small_buffer),
        cmocka_unit_test(test_secrets),
        cmocka_unit_test(test_tenants),
        cmocka_unit_test(test_enabled),
        cmocka_unit_test(test_load),
    };
    return cmocka_run_group_tests_name("config", tests, setup, teardown);
}
