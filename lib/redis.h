/*
 * redis.h - one Redis connection and the publish round trip (private).
 */
#ifndef HG_REDIS_H
#define HG_REDIS_H

#include "hookgate.h"

struct hg_redis;

/* Most jobs one hg_redis_run takes. */
#define HG_REDIS_BATCH_MAX 256

/* NULL when the URL cannot be used or memory ran out. Does not connect. */
struct hg_redis *hg_redis_new(const struct hg_redis_config *config, const char *role);
void hg_redis_free(struct hg_redis *redis);

/* Connects if needed; 0 when connected, -1 (also while backing off). */
int hg_redis_connect(struct hg_redis *redis);

/*
 * Publishes `n` jobs in one round trip. Every job gets a status: HG_OK,
 * HG_DUPLICATE, HG_ERR_UNAUTHORIZED (a replayed single-use token) or
 * HG_ERR_UNAVAILABLE (not confirmed: Redis down, slow, erroring, or fewer
 * replicas than wait_replicas confirmed the write).
 */
void hg_redis_run(struct hg_redis *redis, struct hg_publish_job **jobs, size_t n);

/*
 * Sends `n` commands in one round trip if connected (never connects), reads
 * and discards their replies. Returns the number of commands Redis accepted.
 */
size_t hg_redis_fire(struct hg_redis *redis, size_t n, const int *argc, const char **const *argv,
                     const size_t *const *lens);

/* Keeps the connection honest when idle (reconnects when down). */
void hg_redis_ping(struct hg_redis *redis);

/* 1 when the last contact succeeded; readable from any thread. */
int hg_redis_up(const struct hg_redis *redis);

/* Milliseconds until the next connection attempt is allowed (0: now). */
int64_t hg_redis_retry_in_ms(const struct hg_redis *redis);

#endif
