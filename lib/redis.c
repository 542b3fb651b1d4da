/*
 * redis.c - one Redis connection and the publish round trip.
 *
 * A connection belongs to one thread (a hiredis context is not thread-safe
 * and is unusable after an error). hg_redis_run pipelines one EVALSHA per job
 * into a single round trip and reads the replies in order. Any I/O error or
 * timeout drops the connection and leaves the unanswered jobs failed; the
 * next call reconnects, with backoff. The script is loaded once per
 * connection and reloaded on NOSCRIPT.
 *
 * The script adds a job's events all-or-nothing and records each event's
 * dedup key in the same atomic step, so a retried delivery is never added
 * twice and a half-published batch cannot exist.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <openssl/crypto.h>

#include "redis.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000

/*
 * One call publishes every job of a round (group commit): the jobs are
 * handled one after the other, each all-or-nothing, exactly as separate calls
 * would, but Redis runs one script instead of one per delivery.
 *
 * KEYS: for each job: [its nonce key,] then stream, seen key for each event
 * ARGV: dedup ttl, maxlen, number of jobs, then for each job: its number of
 *       events, nonce ttl ("0": no nonce), nonce value, then for each event:
 *       id, type, category, provider, envelope
 * Returns one result per job: "replay" (its single-use token was used by
 * another event), "wrongtype" (a stream key holds something else), or per
 * event {1 (added) | 0 (seen before), entry id}. A job's checks all pass
 * before it writes anything.
 */
static const char publish_script[] =
    "local ttl, maxlen = ARGV[1], ARGV[2]\n"
    "local a, k = 4, 1\n"
    "local types, results = {}, {}\n"
    "for j = 1, tonumber(ARGV[3]) do\n"
    "  local n, nttl, nval = tonumber(ARGV[a]), ARGV[a+1], ARGV[a+2]\n"
    "  a = a + 3\n"
    "  local nonce = nil\n"
    "  if nttl ~= '0' then nonce = KEYS[k]; k = k + 1 end\n"
    "  local ok = true\n"
    "  for i = 0, n - 1 do\n"
    "    local s = KEYS[k + 2*i]\n"
    "    local t = types[s]\n"
    "    if not t then t = redis.call('TYPE', s); t = t['ok'] or t; types[s] = t end\n"
    "    if t ~= 'stream' and t ~= 'none' then ok = false end\n"
    "  end\n"
    "  local owner = false\n"
    "  if ok and nonce then owner = redis.call('GET', nonce) end\n"
    "  if not ok then\n"
    "    results[j] = 'wrongtype'\n"
    "  elseif owner and owner ~= nval then\n"
    "    results[j] = 'replay'\n"
    "  else\n"
    "    if nonce and not owner then redis.call('SET', nonce, nval, 'EX', nttl) end\n"
    "    local out = {}\n"
    "    for i = 0, n - 1 do\n"
    "      local s, seen = KEYS[k + 2*i], KEYS[k + 2*i + 1]\n"
    "      local prev = redis.call('GET', seen)\n"
    "      if prev then\n"
    "        out[i+1] = {0, prev}\n"
    "      else\n"
    "        local b = a + 5*i\n"
    "        local eid = redis.call('XADD', s, 'MAXLEN', '~', maxlen, '*',\n"
    "          'id', ARGV[b], 'type', ARGV[b+1], 'category', ARGV[b+2],\n"
    "          'provider', ARGV[b+3], 'event', ARGV[b+4])\n"
    "        redis.call('SET', seen, eid, 'EX', ttl)\n"
    "        types[s] = 'stream'\n"
    "        out[i+1] = {1, eid}\n"
    "      end\n"
    "    end\n"
    "    results[j] = out\n"
    "  end\n"
    "  a = a + 5*n\n"
    "  k = k + 2*n\n"
    "end\n"
    "return results\n";

struct redis_target {
    char *host; /* NULL for a unix socket */
    int port;
    char *path;
    char *user; /* Redis 6 ACL user, or NULL for the default user */
    char *password;
    int db;
};

struct hg_redis {
    const char *role; /* for logs: "publisher", "drainer" */
    struct redis_target target;
    int64_t timeout_ms;
    int64_t wait_replicas;
    char ttl[24];
    char maxlen[24];

    redisContext *ctx;
    char sha[41];
    int64_t next_connect_ms;
    int64_t backoff_ms;
    int logged_down;
    atomic_int up;
};

/* ------------------------------------------------------------------------ */
/* URL                                                                       */
/* ------------------------------------------------------------------------ */

static void
target_free(struct redis_target *t)
{
    free(t->host);
    free(t->path);
    free(t->user);
    if (t->password)
        OPENSSL_cleanse(t->password, strlen(t->password));
    free(t->password);
    memset(t, 0, sizeof *t);
}

/* redis://[[user]:password@]host[:port][/db] or unix:///path */
static int
parse_url(const char *url, struct redis_target *t)
{
    const char *p, *at, *host_end, *slash;

    memset(t, 0, sizeof *t);
    t->port = 6379;
    if (strncmp(url, "unix://", 7) == 0) {
        t->path = strdup(url + 7);
        return t->path ? 0 : -1;
    }
    if (strncmp(url, "redis://", 8) != 0)
        return -1;
    p = url + 8;
    slash = strchr(p, '/');
    at = memchr(p, '@', slash ? (size_t)(slash - p) : strlen(p));
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *pw = colon ? colon + 1 : p;

        t->password = strndup(pw, (size_t)(at - pw));
        if (t->password == NULL)
            return -1;
        if (colon && colon > p && (t->user = strndup(p, (size_t)(colon - p))) == NULL)
            return -1;
        p = at + 1;
    }
    if (*p == '[') {
        host_end = strchr(p, ']');
        if (host_end == NULL)
            return -1;
        t->host = strndup(p + 1, (size_t)(host_end - p - 1));
        p = host_end + 1;
    } else {
        host_end = p + strcspn(p, ":/");
        t->host = strndup(p, (size_t)(host_end - p));
        p = host_end;
    }
    if (t->host == NULL || t->host[0] == '\0')
        return -1;
    if (*p == ':') {
        char *end;
        long port = strtol(p + 1, &end, 10);

        if (end == p + 1 || port <= 0 || port > 65535)
            return -1;
        t->port = (int)port;
        p = end;
    }
    if (*p == '/' && p[1] != '\0') {
        char *end;
        long db = strtol(p + 1, &end, 10);

        if (*end != '\0' || db < 0 || db > 65535)
            return -1;
        t->db = (int)db;
    } else if (*p != '\0' && strcmp(p, "/") != 0) {
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Connection (its owner thread only)                                        */
/* ------------------------------------------------------------------------ */

static void
disconnect(struct hg_redis *pub, const char *why)
{
    if (pub->ctx) {
        HG_LOG(HG_LOG_WARN, "redis connection dropped (%s): %s", pub->role, why);
        redisFree(pub->ctx);
        pub->ctx = NULL;
    }
    atomic_store(&pub->up, 0);
    pub->next_connect_ms = hg_now_ms() + pub->backoff_ms;
    pub->backoff_ms = pub->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : pub->backoff_ms * 2;
}

/* Sends one command and checks its reply; returns the reply or NULL. */
static redisReply *
command(struct hg_redis *pub, int argc, const char **argv, const size_t *lens)
{
    redisReply *r = redisCommandArgv(pub->ctx, argc, argv, lens);

    if (r == NULL) {
        disconnect(pub, pub->ctx->errstr);
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        HG_LOG(HG_LOG_ERROR, "redis %s failed: %.*s", argv[0], (int)r->len, r->str);
        freeReplyObject(r);
        disconnect(pub, "command refused");
        return NULL;
    }
    return r;
}

static int
load_script(struct hg_redis *pub)
{
    const char *argv[] = {"SCRIPT", "LOAD", publish_script};
    size_t lens[] = {6, 4, sizeof publish_script - 1};
    redisReply *r = command(pub, 3, argv, lens);

    if (r == NULL)
        return -1;
    if (r->type != REDIS_REPLY_STRING || r->len != 40) {
        freeReplyObject(r);
        disconnect(pub, "unexpected SCRIPT LOAD reply");
        return -1;
    }
    memcpy(pub->sha, r->str, 40);
    pub->sha[40] = '\0';
    freeReplyObject(r);
    return 0;
}

int
hg_redis_connect(struct hg_redis *pub)
{
    struct timeval tv = {pub->timeout_ms / 1000, (pub->timeout_ms % 1000) * 1000};
    const struct redis_target *t = &pub->target;
    redisReply *r;

    if (pub->ctx)
        return 0;
    if (hg_now_ms() < pub->next_connect_ms)
        return -1;
    pub->ctx = t->path ? redisConnectUnixWithTimeout(t->path, tv)
                       : redisConnectWithTimeout(t->host, t->port, tv);
    if (pub->ctx == NULL || pub->ctx->err) {
        if (!pub->logged_down)
            HG_LOG(HG_LOG_WARN, "cannot connect to redis (%s): %s", pub->role,
                   pub->ctx ? pub->ctx->errstr : "out of memory");
        pub->logged_down = 1;
        if (pub->ctx)
            redisFree(pub->ctx);
        pub->ctx = NULL;
        disconnect(pub, "connect failed");
        return -1;
    }
    if (redisSetTimeout(pub->ctx, tv) != REDIS_OK) {
        disconnect(pub, "cannot set timeout");
        return -1;
    }
    /* TCP only: on a unix socket it fails and leaves the context in error */
    if (t->path == NULL && redisEnableKeepAlive(pub->ctx) != REDIS_OK) {
        disconnect(pub, "cannot enable TCP keep-alive");
        return -1;
    }
    if (t->password) {
        /* AUTH [user] password: with a user, Redis 6 ACLs */
        const char *argv[] = {"AUTH", t->user ? t->user : t->password, t->password};
        size_t lens[] = {4, strlen(argv[1]), strlen(t->password)};

        if ((r = command(pub, t->user ? 3 : 2, argv, lens)) == NULL)
            return -1;
        freeReplyObject(r);
    }
    if (t->db) {
        char db[16];
        int n = snprintf(db, sizeof db, "%d", t->db);
        const char *argv[] = {"SELECT", db};
        size_t lens[] = {6, (size_t)n};

        if ((r = command(pub, 2, argv, lens)) == NULL)
            return -1;
        freeReplyObject(r);
    }
    if (load_script(pub) != 0)
        return -1;
    pub->backoff_ms = BACKOFF_MIN_MS;
    pub->logged_down = 0;
    atomic_store(&pub->up, 1);
    HG_LOG(HG_LOG_INFO, "connected to redis (%s)", pub->role);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Jobs (its owner thread only)                                              */
/* ------------------------------------------------------------------------ */

/* Writes v in decimal (no NUL) and returns the length; out holds 20 bytes. */
static size_t
format_u64(char *out, unsigned long long v)
{
    char tmp[20];
    size_t n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/* Appends one EVALSHA that publishes all `n` jobs. */
static int
append_round(struct hg_redis *pub, struct hg_publish_job **jobs, size_t n)
{
    size_t keys = 0, argc = 6, i = 0;
    const char **argv;
    size_t *lens;
    char numkeys[24], njobs[24];
    char(*nums)[2][24];
    int rc = -1;

    for (size_t j = 0; j < n; j++) {
        keys += (jobs[j]->nonce_key != NULL) + 2 * jobs[j]->event_count;
        argc += 3 + 5 * jobs[j]->event_count;
    }
    argc += keys;
    argv = malloc(argc * sizeof *argv);
    lens = malloc(argc * sizeof *lens);
    nums = malloc(n * sizeof *nums);
    if (argv == NULL || lens == NULL || nums == NULL)
        goto out;
#define ARG(s, l) (argv[i] = (s), lens[i] = (l), i++)
    ARG("EVALSHA", 7);
    ARG(pub->sha, 40);
    ARG(numkeys, format_u64(numkeys, keys));
    for (size_t j = 0; j < n; j++) {
        const struct hg_publish_job *job = jobs[j];

        if (job->nonce_key)
            ARG(job->nonce_key, strlen(job->nonce_key));
        for (size_t e = 0; e < job->event_count; e++) {
            ARG(job->events[e].stream, strlen(job->events[e].stream));
            ARG(job->events[e].seen_key, strlen(job->events[e].seen_key));
        }
    }
    ARG(pub->ttl, strlen(pub->ttl));
    ARG(pub->maxlen, strlen(pub->maxlen));
    ARG(njobs, format_u64(njobs, n));
    for (size_t j = 0; j < n; j++) {
        const struct hg_publish_job *job = jobs[j];
        int nonce = job->nonce_key != NULL;

        ARG(nums[j][0], format_u64(nums[j][0], job->event_count));
        ARG(nums[j][1],
            format_u64(nums[j][1], !nonce                 ? 0
                                   : job->nonce_ttl_s > 0 ? (unsigned long long)job->nonce_ttl_s
                                                          : 1)); /* "0" would mean "no token" */
        ARG(nonce ? job->nonce_value : "", nonce ? strlen(job->nonce_value) : 0);
        for (size_t e = 0; e < job->event_count; e++) {
            const struct hg_event *ev = &job->events[e];

            ARG(ev->id, strlen(ev->id));
            ARG(ev->type, strlen(ev->type));
            ARG(ev->category, strlen(ev->category));
            ARG(ev->provider, strlen(ev->provider));
            ARG(ev->envelope, ev->envelope_len);
        }
    }
#undef ARG
    rc = redisAppendCommandArgv(pub->ctx, (int)argc, argv, lens) == REDIS_OK ? 0 : -1;
out:
    free(argv);
    free(lens);
    free(nums);
    return rc;
}

/* Reads the script's reply into the job. */
static void
take_reply(struct hg_publish_job *job, const redisReply *r)
{
    size_t added = 0;

    if ((r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) && r->len == 6 &&
        memcmp(r->str, "replay", 6) == 0) {
        job->status = HG_ERR_UNAUTHORIZED;
        return;
    }
    if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) {
        HG_LOG(HG_LOG_ERROR, "redis refused a publish: %.*s (a stream key holds another type)",
               (int)r->len, r->str);
        job->status = HG_ERR_UNAVAILABLE;
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != job->event_count) {
        job->status = HG_ERR_UNAVAILABLE;
        return;
    }
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];

        if (e->type == REDIS_REPLY_ARRAY && e->elements == 2 &&
            e->element[0]->type == REDIS_REPLY_INTEGER && e->element[0]->integer == 1)
            added++;
    }
    job->new_count = added;
    job->status = added == 0 ? HG_DUPLICATE : HG_OK;
}

static int
is_noscript(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0;
}

/* Reads the round's reply: one result per job. */
static void
take_round(struct hg_publish_job **jobs, size_t n, const redisReply *r)
{
    if (r->type == REDIS_REPLY_ERROR) {
        HG_LOG(HG_LOG_ERROR, "redis refused a publish: %.*s", (int)r->len, r->str);
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != n) {
        HG_LOG(HG_LOG_ERROR, "redis: unexpected reply to the publish script");
        return;
    }
    for (size_t j = 0; j < n; j++)
        take_reply(jobs[j], r->element[j]);
}

void
hg_redis_run(struct hg_redis *pub, struct hg_publish_job **jobs, size_t n)
{
    redisReply *r;

    for (size_t i = 0; i < n; i++)
        jobs[i]->status = HG_ERR_UNAVAILABLE;
    if (n == 0 || hg_redis_connect(pub) != 0)
        return;
    for (int attempt = 0;; attempt++) {
        if (append_round(pub, jobs, n) != 0) {
            disconnect(pub, "out of memory");
            return;
        }
        if (pub->wait_replicas > 0) {
            char nrep[24], tmo[24];
            const char *argv[] = {"WAIT", nrep, tmo};
            size_t lens[3] = {4, 0, 0};

            lens[1] = (size_t)snprintf(nrep, sizeof nrep, "%lld", (long long)pub->wait_replicas);
            lens[2] = (size_t)snprintf(tmo, sizeof tmo, "%lld", (long long)pub->timeout_ms);
            if (redisAppendCommandArgv(pub->ctx, 3, argv, lens) != REDIS_OK) {
                disconnect(pub, "out of memory");
                return;
            }
        }
        if (redisGetReply(pub->ctx, (void **)&r) != REDIS_OK || r == NULL) {
            disconnect(pub, pub->ctx->errstr[0] ? pub->ctx->errstr : "no reply");
            return;
        }
        if (is_noscript(r) && attempt == 0) {
            /* The script cache was flushed (or Redis restarted): reload, resend. */
            freeReplyObject(r);
            if (pub->wait_replicas > 0) { /* drain the WAIT reply of this attempt */
                if (redisGetReply(pub->ctx, (void **)&r) != REDIS_OK || r == NULL) {
                    disconnect(pub, "no reply to WAIT");
                    return;
                }
                freeReplyObject(r);
            }
            if (load_script(pub) != 0)
                return;
            continue;
        }
        take_round(jobs, n, r);
        freeReplyObject(r);
        break;
    }
    if (pub->wait_replicas > 0) {
        if (redisGetReply(pub->ctx, (void **)&r) != REDIS_OK || r == NULL) {
            for (size_t i = 0; i < n; i++)
                jobs[i]->status = HG_ERR_UNAVAILABLE;
            disconnect(pub, "no reply to WAIT");
            return;
        }
        if (r->type != REDIS_REPLY_INTEGER || r->integer < pub->wait_replicas) {
            HG_LOG(HG_LOG_WARN, "redis WAIT: fewer than %lld replicas confirmed",
                   (long long)pub->wait_replicas);
            for (size_t i = 0; i < n; i++)
                jobs[i]->status = HG_ERR_UNAVAILABLE;
        }
        freeReplyObject(r);
    }
    atomic_store(&pub->up, 1);
}

size_t
hg_redis_fire(struct hg_redis *pub, size_t n, const int *argc, const char **const *argv,
              const size_t *const *lens)
{
    size_t ok = 0;
    redisReply *r;

    if (pub->ctx == NULL || n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (redisAppendCommandArgv(pub->ctx, argc[i], argv[i], lens[i]) != REDIS_OK) {
            disconnect(pub, "out of memory");
            return 0;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (redisGetReply(pub->ctx, (void **)&r) != REDIS_OK || r == NULL) {
            disconnect(pub, pub->ctx->errstr[0] ? pub->ctx->errstr : "no reply");
            return ok;
        }
        ok += r->type != REDIS_REPLY_ERROR;
        freeReplyObject(r);
    }
    return ok;
}

void
hg_redis_ping(struct hg_redis *pub)
{
    if (pub->ctx == NULL) {
        hg_redis_connect(pub);
        return;
    }
    const char *argv[] = {"PING"};
    size_t lens[] = {4};
    redisReply *r = command(pub, 1, argv, lens);
    if (r)
        freeReplyObject(r);
}

/* ------------------------------------------------------------------------ */
/* Life cycle                                                                */
/* ------------------------------------------------------------------------ */

struct hg_redis *
hg_redis_new(const struct hg_redis_config *config, const char *role)
{
    struct hg_redis *r = calloc(1, sizeof *r);

    if (r == NULL)
        return NULL;
    if (parse_url(config->url, &r->target) != 0) {
        target_free(&r->target);
        free(r);
        return NULL;
    }
    r->role = role;
    r->timeout_ms = config->timeout_ms;
    r->wait_replicas = config->wait_replicas;
    snprintf(r->ttl, sizeof r->ttl, "%lld", (long long)config->dedup_ttl_s);
    snprintf(r->maxlen, sizeof r->maxlen, "%lld", (long long)config->maxlen);
    r->backoff_ms = BACKOFF_MIN_MS;
    return r;
}

void
hg_redis_free(struct hg_redis *r)
{
    if (r == NULL)
        return;
    if (r->ctx)
        redisFree(r->ctx);
    target_free(&r->target);
    free(r);
}

int
hg_redis_up(const struct hg_redis *r)
{
    return atomic_load(&r->up);
}

int64_t
hg_redis_retry_in_ms(const struct hg_redis *r)
{
    int64_t wait = r->next_connect_ms - hg_now_ms();

    return r->ctx || wait < 0 ? 0 : wait;
}
