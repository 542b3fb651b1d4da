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

#include "redis.h"
#include "spool.h"

#define BATCH_MAX HG_REDIS_BATCH_MAX
#define DRAIN_BATCH 64
#define IDLE_PING_MS 1000

struct hg_publisher {
    struct hg_redis *redis; /* the publisher thread's */
    struct hg_redis *drain; /* the drainer thread's */
    struct hg_spool *spool; /* NULL when it could not be opened */

    pthread_mutex_t lock;
    pthread_cond_t wake;       /* publisher: jobs queued, or stop */
    pthread_cond_t drain_wake; /* drainer: records spooled, or stop */
    struct hg_publish_job *head, *tail;
    int stopping;
    int drain_stopping;

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

static void *
publisher_main(void *arg)
{
    struct hg_publisher *pub = arg;
    struct hg_publish_job *jobs[BATCH_MAX];

    for (;;) {
        size_t n = 0;
        int stopping;

        pthread_mutex_lock(&pub->lock);
        if (pub->head == NULL && !pub->stopping)
            timed_wait(&pub->wake, &pub->lock, IDLE_PING_MS);
        while (pub->head && n < BATCH_MAX) {
            jobs[n++] = pub->head;
            pub->head = pub->head->next;
        }
        if (pub->head == NULL)
            pub->tail = NULL;
        stopping = pub->stopping;
        pthread_mutex_unlock(&pub->lock);

        if (n == 0) {
            if (stopping)
                break;
            hg_redis_ping(pub->redis);
            continue;
        }
        publish_round(pub, jobs, n);
        for (size_t i = 0; i < n; i++)
            jobs[i]->done(jobs[i]);
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
hg_publisher_free(struct hg_publisher *pub)
{
    if (pub == NULL)
        return;
    /* First the publisher: it completes every queued job (into Redis or the
     * spool). Then the drainer; what it has not drained stays on disk. */
    pthread_mutex_lock(&pub->lock);
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
    if (pub->tail)
        pub->tail->next = job;
    else
        pub->head = job;
    pub->tail = job;
    pthread_cond_signal(&pub->wake);
    pthread_mutex_unlock(&pub->lock);
}

struct waiter {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
};

static void
wake_waiter(struct hg_publish_job *job)
{
    struct waiter *w = job->cookie;

    pthread_mutex_lock(&w->lock);
    w->done = 1;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

enum hg_status
hg_publisher_publish(struct hg_publisher *pub, struct hg_publish_job *job)
{
    struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};

    job->done = wake_waiter;
    job->cookie = &w;
    hg_publisher_submit(pub, job);
    pthread_mutex_lock(&w.lock);
    while (!w.done)
        pthread_cond_wait(&w.cond, &w.lock);
    pthread_mutex_unlock(&w.lock);
    pthread_mutex_destroy(&w.lock);
    pthread_cond_destroy(&w.cond);
    return job->status;
}

int
hg_publisher_redis_up(const struct hg_publisher *pub)
{
    return hg_redis_up(pub->redis);
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
