/*
 * publisher.c - where acknowledged events are made safe.
 *
 * Two threads, each the only user of its own Redis connection:
 *
 *   - the publisher thread takes every job queued so far and publishes them
 *     in one round trip (group commit, see redis.c). Jobs that Redis did not
 *     confirm (down, slow past redis.timeout_ms, erroring, too few replicas)
 *     are appended to the spool, with one fsync for all of them, and complete
 *     as HG_SPOOLED; only when the spool cannot take them either do they
 *     complete as HG_ERR_UNAVAILABLE (503, the provider retries).
 *   - the drainer thread replays the spool into Redis, in order, through the
 *     same deduplicating script, so an event that did reach Redis before a
 *     failure is not added twice. It starts with whatever a crash left in the
 *     spool, and backs off while Redis is down.
 *
 * Request threads never touch Redis or the spool: they queue a job and are
 * told when it is complete.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "redis.h"
#include "spool.h"

#define BATCH_MAX HG_REDIS_BATCH_MAX
#define DRAIN_BATCH 64
#define IDLE_PING_MS 1000
#define REJECT_QUEUE_MAX 1024
#define REJECT_FIELDS 10

/* One XADD of the rejected stream, its strings in the same allocation. */
struct rejection_rec {
    struct rejection_rec *next;
    int argc;
    const char *argv[6 + 2 * REJECT_FIELDS];
    size_t lens[6 + 2 * REJECT_FIELDS];
    char data[];
};

struct hg_publisher {
    struct hg_redis *redis; /* the publisher thread's */
    struct hg_redis *drain; /* the drainer thread's */
    struct hg_spool *spool; /* NULL when it could not be opened */

    pthread_mutex_t lock;
    pthread_cond_t wake;       /* publisher: jobs queued, or stop */
    pthread_cond_t drain_wake; /* drainer: records spooled, or stop */
    struct hg_publish_job *head, *tail;
    int stopping;
    int stopped;
    int drain_stopping;

    /* rejected stream: queue and token bucket, under `lock` */
    char rejected_stream[256];
    char rejected_maxlen[24];
    double reject_rate;
    double reject_tokens;
    int64_t reject_refill_ms;
    struct rejection_rec *rejects;
    size_t reject_count;

    pthread_t thread;
    pthread_t drain_thread;
    int drain_started;
};

static void
timed_wait(pthread_cond_t *cond, pthread_mutex_t *lock, int64_t ms)
{
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(cond, lock, &until);
}

/* ------------------------------------------------------------------------ */
/* Publisher thread                                                          */
/* ------------------------------------------------------------------------ */

static void
publish_round(struct hg_publisher *pub, struct hg_publish_job **jobs, size_t n)
{
    struct hg_publish_job *failed[BATCH_MAX];
    size_t nfailed = 0;

    hg_redis_run(pub->redis, jobs, n);
    for (size_t i = 0; i < n; i++)
        if (jobs[i]->status == HG_ERR_UNAVAILABLE)
            failed[nfailed++] = jobs[i];
    if (nfailed == 0)
        return;
    if (hg_spool_append(pub->spool, failed, nfailed) > 0) {
        pthread_mutex_lock(&pub->lock);
        pthread_cond_signal(&pub->drain_wake);
        pthread_mutex_unlock(&pub->lock);
    }
    for (size_t i = 0; i < nfailed; i++)
        if (failed[i]->status != HG_SPOOLED)
            HG_LOG(HG_LOG_ERROR, "neither redis nor the spool can take an event: answering 503");
}

/* Writes queued refusals to the rejected stream, if Redis is there. */
static void
record_rejections(struct hg_publisher *pub, struct rejection_rec *list)
{
    int argc[64];
    const char **argv[64];
    const size_t *lens[64];
    struct rejection_rec *ordered = NULL;

    /* queued newest first: write them oldest first */
    while (list) {
        struct rejection_rec *next = list->next;

        list->next = ordered;
        ordered = list;
        list = next;
    }
    list = ordered;
    while (list) {
        size_t n = 0, ok;
        struct rejection_rec *batch = list;

        for (; list && n < 64; list = list->next, n++) {
            argc[n] = list->argc;
            argv[n] = list->argv;
            lens[n] = list->lens;
        }
        ok = hg_redis_fire(pub->redis, n, argc, argv, lens);
        for (size_t i = 0; i < n; i++) {
            struct rejection_rec *next = batch->next;

            hg_metrics_rejection(i < ok);
            free(batch);
            batch = next;
        }
    }
}

static void *
publisher_main(void *arg)
{
    struct hg_publisher *pub = arg;
    struct hg_publish_job *jobs[BATCH_MAX];

    for (;;) {
        struct rejection_rec *rejects;
        size_t n = 0;
        int stopping;

        pthread_mutex_lock(&pub->lock);
        if (pub->head == NULL && pub->rejects == NULL && !pub->stopping)
            timed_wait(&pub->wake, &pub->lock, IDLE_PING_MS);
        while (pub->head && n < BATCH_MAX) {
            jobs[n++] = pub->head;
            pub->head = pub->head->next;
        }
        if (pub->head == NULL)
            pub->tail = NULL;
        rejects = pub->rejects;
        pub->rejects = NULL;
        pub->reject_count = 0;
        stopping = pub->stopping;
        pthread_mutex_unlock(&pub->lock);

        if (n > 0) {
            publish_round(pub, jobs, n);
            for (size_t i = 0; i < n; i++)
                jobs[i]->done(jobs[i]);
        }
        if (rejects)
            record_rejections(pub, rejects);
        if (n == 0 && rejects == NULL) {
            if (stopping)
                break;
            hg_redis_ping(pub->redis);
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Drainer thread                                                            */
/* ------------------------------------------------------------------------ */

/* Replays one batch; returns 1 when it made progress. */
static int
drain_once(struct hg_publisher *pub)
{
    struct hg_spool_batch batch;
    struct hg_publish_job *jobs[DRAIN_BATCH];
    size_t n, done = 0;

    if (hg_redis_connect(pub->drain) != 0)
        return 0;
    n = hg_spool_read(pub->spool, &batch, DRAIN_BATCH);
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        jobs[i] = &batch.jobs[i];
    hg_redis_run(pub->drain, jobs, n);
    /* in order: stop at the first record Redis did not take */
    while (done < n && jobs[done]->status != HG_ERR_UNAVAILABLE) {
        if (jobs[done]->status == HG_ERR_UNAUTHORIZED)
            HG_LOG(HG_LOG_ERROR,
                   "spool: dropping event %s: its single-use token was used by "
                   "another event meanwhile",
                   jobs[done]->events[0].id);
        done++;
    }
    hg_spool_consume(pub->spool, &batch, done);
    if (done)
        HG_LOG(HG_LOG_DEBUG, "spool: drained %zu records", done);
    hg_spool_batch_free(&batch);
    return done > 0;
}

static void *
drainer_main(void *arg)
{
    struct hg_publisher *pub = arg;
    int64_t backoff_ms = 0; /* grows while replays fail, whatever the reason */

    for (;;) {
        struct hg_spool_stats st;
        int64_t wait_ms = IDLE_PING_MS;

        pthread_mutex_lock(&pub->lock);
        if (pub->drain_stopping) {
            pthread_mutex_unlock(&pub->lock);
            break;
        }
        pthread_mutex_unlock(&pub->lock);

        hg_spool_stats(pub->spool, &st);
        if (st.records > 0) {
            if (drain_once(pub)) {
                backoff_ms = 0;
                continue;
            }
            backoff_ms = backoff_ms ? backoff_ms * 2 : 100;
            if (backoff_ms > 2000)
                backoff_ms = 2000;
            wait_ms = backoff_ms;
        }
        pthread_mutex_lock(&pub->lock);
        if (!pub->drain_stopping)
            timed_wait(&pub->drain_wake, &pub->lock, wait_ms);
        pthread_mutex_unlock(&pub->lock);
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Public                                                                    */
/* ------------------------------------------------------------------------ */

enum hg_status
hg_publisher_new(const struct hg_redis_config *redis, const struct hg_spool_config *spool,
                 struct hg_publisher **out, char *err, size_t err_size)
{
    struct hg_publisher *pub = calloc(1, sizeof *pub);

    *out = NULL;
    if (pub == NULL) {
        snprintf(err, err_size, "out of memory");
        return HG_ERR_NOMEM;
    }
    snprintf(pub->rejected_stream, sizeof pub->rejected_stream, "%s:{rejected}", redis->prefix);
    snprintf(pub->rejected_maxlen, sizeof pub->rejected_maxlen, "%lld",
             (long long)redis->rejected_maxlen);
    pub->reject_rate = (double)redis->rejected_per_second;
    pub->reject_tokens = pub->reject_rate;
    pub->reject_refill_ms = hg_now_ms();
    pub->redis = hg_redis_new(redis, "publisher");
    pub->drain = hg_redis_new(redis, "drainer");
    if (pub->redis == NULL || pub->drain == NULL) {
        snprintf(err, err_size, "redis.url: cannot be used");
        hg_redis_free(pub->redis);
        hg_redis_free(pub->drain);
        free(pub);
        return HG_ERR_CONFIG;
    }
    if (spool->max_bytes > 0) {
        char why[512];

        pub->spool = hg_spool_open(spool->dir, spool->max_bytes, why, sizeof why);
        if (pub->spool == NULL) {
            snprintf(err, err_size, "spool.dir: %s", why);
            hg_redis_free(pub->redis);
            hg_redis_free(pub->drain);
            free(pub);
            return HG_ERR_CONFIG;
        }
    } else {
        HG_LOG(HG_LOG_WARN, "spool.max_bytes is 0: while redis is down, deliveries get 503");
    }
    /* The first attempt happens before the threads and the HTTP server
     * start, so /readyz is right from the first request. */
    hg_redis_connect(pub->redis);
    pthread_mutex_init(&pub->lock, NULL);
    pthread_cond_init(&pub->wake, NULL);
    pthread_cond_init(&pub->drain_wake, NULL);
    if (pthread_create(&pub->thread, NULL, publisher_main, pub) != 0)
        goto thread_fail;
    if (pub->spool) {
        if (pthread_create(&pub->drain_thread, NULL, drainer_main, pub) != 0) {
            hg_publisher_free(pub);
            snprintf(err, err_size, "cannot start the drainer thread");
            return HG_ERR_NOMEM;
        }
        pub->drain_started = 1;
    }
    *out = pub;
    return HG_OK;

thread_fail:
    pthread_mutex_destroy(&pub->lock);
    pthread_cond_destroy(&pub->wake);
    pthread_cond_destroy(&pub->drain_wake);
    hg_redis_free(pub->redis);
    hg_redis_free(pub->drain);
    hg_spool_close(pub->spool);
    free(pub);
    snprintf(err, err_size, "cannot start the publisher thread");
    return HG_ERR_NOMEM;
}

void
hg_publisher_stop(struct hg_publisher *pub)
{
    if (pub == NULL)
        return;
    /* First the publisher: it completes every queued job (into Redis or the
     * spool), and from now on submit() spools directly. Then the drainer;
     * what it has not drained stays on disk for the next start. */
    pthread_mutex_lock(&pub->lock);
    if (pub->stopped) {
        pthread_mutex_unlock(&pub->lock);
        return;
    }
    pub->stopping = 1;
    pthread_cond_signal(&pub->wake);
    pthread_mutex_unlock(&pub->lock);
    pthread_join(pub->thread, NULL);
    if (pub->drain_started) {
        pthread_mutex_lock(&pub->lock);
        pub->drain_stopping = 1;
        pthread_cond_signal(&pub->drain_wake);
        pthread_mutex_unlock(&pub->lock);
        pthread_join(pub->drain_thread, NULL);
    }
    pthread_mutex_lock(&pub->lock);
    pub->stopped = 1;
    pthread_mutex_unlock(&pub->lock);
}

void
hg_publisher_free(struct hg_publisher *pub)
{
    if (pub == NULL)
        return;
    hg_publisher_stop(pub);
    pthread_mutex_destroy(&pub->lock);
    pthread_cond_destroy(&pub->wake);
    pthread_cond_destroy(&pub->drain_wake);
    hg_redis_free(pub->redis);
    hg_redis_free(pub->drain);
    hg_spool_close(pub->spool);
    free(pub);
}

void
hg_publisher_submit(struct hg_publisher *pub, struct hg_publish_job *job)
{
    job->status = HG_ERR_UNAVAILABLE;
    job->new_count = 0;
    job->next = NULL;
    if (job->event_count == 0) {
        job->status = HG_OK;
        job->done(job);
        return;
    }
    pthread_mutex_lock(&pub->lock);
    if (pub->stopping) {
        /* The publisher thread is gone or finishing its last round: take the
         * spool directly (its appends are serialised by its own lock). */
        pthread_mutex_unlock(&pub->lock);
        hg_spool_append(pub->spool, &job, 1);
        job->done(job);
        return;
    }
    if (pub->tail)
        pub->tail->next = job;
    else
        pub->head = job;
    pub->tail = job;
    pthread_cond_signal(&pub->wake);
    pthread_mutex_unlock(&pub->lock);
}

/* Takes a token from the bucket (called with the lock held). */
static int
reject_allowed(struct hg_publisher *pub)
{
    int64_t now = hg_now_ms();
    double burst = pub->reject_rate * 2 > 1 ? pub->reject_rate * 2 : 1;

    if (pub->reject_rate <= 0)
        return 0;
    pub->reject_tokens += (double)(now - pub->reject_refill_ms) * pub->reject_rate / 1000.0;
    pub->reject_refill_ms = now;
    if (pub->reject_tokens > burst)
        pub->reject_tokens = burst;
    if (pub->reject_tokens < 1 || pub->reject_count >= REJECT_QUEUE_MAX)
        return 0;
    pub->reject_tokens -= 1;
    return 1;
}

void
hg_publisher_reject(struct hg_publisher *pub, const struct hg_rejection *rej)
{
    unsigned char digest[HG_SHA256_LEN];
    char sha[2 * HG_SHA256_LEN + 1], when[32], status[16], size[24];
    const char *values[REJECT_FIELDS],
        *names[REJECT_FIELDS] = {"reason", "message", "provider", "client", "path",
                                 "status", "size",    "sha256",   "time",   "request_id"};
    size_t total = 0, off = 0;
    struct rejection_rec *rec;
    int allowed;

    pthread_mutex_lock(&pub->lock);
    allowed = !pub->stopping && reject_allowed(pub);
    pthread_mutex_unlock(&pub->lock);
    if (!allowed) {
        hg_metrics_rejection(0);
        return;
    }
    sha[0] = '\0';
    if (rej->body && rej->body_len) {
        hg_sha256(rej->body, rej->body_len, digest);
        hg_hex_encode(digest, sizeof digest, sha);
    }
    hg_format_time_ms(hg_now_ms(), when);
    snprintf(status, sizeof status, "%d", rej->http_status);
    snprintf(size, sizeof size, "%zu", rej->size);
    values[0] = rej->reason ? rej->reason : "";
    values[1] = rej->message ? rej->message : "";
    values[2] = rej->provider ? rej->provider : "";
    values[3] = rej->client ? rej->client : "";
    values[4] = rej->path ? rej->path : "";
    values[5] = status;
    values[6] = size;
    values[7] = sha;
    values[8] = when;
    values[9] = rej->request_id ? rej->request_id : "";
    for (size_t i = 0; i < REJECT_FIELDS; i++)
        total += strlen(values[i]) + 1;
    rec = malloc(sizeof *rec + total);
    if (rec == NULL) {
        hg_metrics_rejection(0);
        return;
    }
    rec->next = NULL;
    rec->argc = 0;
#define ARG(s, l) (rec->argv[rec->argc] = (s), rec->lens[rec->argc] = (l), rec->argc++)
    ARG("XADD", 4);
    ARG(pub->rejected_stream, strlen(pub->rejected_stream));
    ARG("MAXLEN", 6);
    ARG("~", 1);
    ARG(pub->rejected_maxlen, strlen(pub->rejected_maxlen));
    ARG("*", 1);
    for (size_t i = 0; i < REJECT_FIELDS; i++) {
        size_t len = strlen(values[i]);

        memcpy(rec->data + off, values[i], len + 1);
        ARG(names[i], strlen(names[i]));
        ARG(rec->data + off, len);
        off += len + 1;
    }
#undef ARG
    pthread_mutex_lock(&pub->lock);
    rec->next = pub->rejects;
    pub->rejects = rec;
    pub->reject_count++;
    pthread_cond_signal(&pub->wake);
    pthread_mutex_unlock(&pub->lock);
}

void
hg_publisher_state(const struct hg_publisher *pub, struct hg_publisher_state *out)
{
    struct hg_spool_stats st;

    hg_spool_stats(pub->spool, &st);
    out->redis_up = hg_redis_up(pub->redis);
    out->spool_enabled = pub->spool != NULL;
    out->spool_writable = st.writable;
    out->spool_bytes = st.bytes;
    out->spool_records = st.records;
    out->spool_oldest_ms = st.oldest_ms;
}
