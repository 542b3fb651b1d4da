/*
 * spool.h - the local spool for events Redis cannot take right now (private).
 *
 * The spool is a directory of append-only segment files. Each record is one
 * publish job (its events and its single-use token), framed as
 *
 *     magic "HGS1" | u32 payload length | u32 CRC-32C | u64 spooled-at ms | payload
 *
 * (integers little-endian; the CRC covers the time and the payload). An
 * append is acknowledged only after fdatasync. At open, a record that is
 * short or fails its CRC (a crash mid-write) ends its segment: the segment is
 * truncated there, since that record was never acknowledged.
 *
 * One thread appends (the publisher), one reads (the drainer); both may run
 * at once. A directory is used by one process at a time (flock).
 */
#ifndef HG_SPOOL_H
#define HG_SPOOL_H

#include <stdint.h>

#include "buf.h"
#include "hookgate.h"

#define HG_SPOOL_RECORD_MAX (256u * 1024 * 1024)

struct hg_spool;

/*
 * Opens (creating it if needed) the spool in `dir`, recovering torn records.
 * max_bytes caps the bytes on disk (0 disables spooling). On failure returns
 * NULL with err filled.
 */
struct hg_spool *hg_spool_open(const char *dir, int64_t max_bytes, char *err, size_t err_size);
void hg_spool_close(struct hg_spool *spool);

/*
 * Appends the jobs as records and syncs them to disk once for all. Sets each
 * job's status to HG_SPOOLED, or HG_ERR_UNAVAILABLE when the spool is full or
 * the write failed (a failed write is rolled back). Returns how many were
 * spooled.
 */
size_t hg_spool_append(struct hg_spool *spool, struct hg_publish_job **jobs, size_t n);

/* Records read back for draining, in order; their memory is the batch's. */
struct hg_spool_batch {
    struct hg_publish_job *jobs;
    size_t count;
    struct hg_arena *arena;
    uint64_t segment; /* where the batch was read */
    int64_t *ends;    /* offset after each record */
    int64_t *times;   /* when each record was spooled (ms) */
};

/* Reads up to `max` records from the drain position; 0 when none are left. */
size_t hg_spool_read(struct hg_spool *spool, struct hg_spool_batch *batch, size_t max);
/* Marks the first `count` records of the batch drained (deletes drained segments). */
void hg_spool_consume(struct hg_spool *spool, const struct hg_spool_batch *batch, size_t count);
void hg_spool_batch_free(struct hg_spool_batch *batch);

struct hg_spool_stats {
    int64_t bytes;     /* on disk, not yet drained */
    int64_t records;   /* not yet drained (counted since start) */
    int64_t oldest_ms; /* spooled-at time of the oldest pending record, 0 if none */
    int writable;      /* appends are possible and there is room */
};
void hg_spool_stats(struct hg_spool *spool, struct hg_spool_stats *out);

/* Record codec, exposed for tests and fuzzing. */
int hg_spool_encode(struct hg_buf *out, const struct hg_publish_job *job, int64_t now_ms);
/*
 * Decodes one framed record at data[0..len): returns its total length and
 * fills `job` (strings in `arena`), 0 when the record is incomplete, -1 when
 * it is corrupt.
 */
long hg_spool_decode(const unsigned char *data, size_t len, struct hg_arena *arena,
                     struct hg_publish_job *job, int64_t *spooled_ms);

uint32_t hg_crc32c(uint32_t crc, const void *data, size_t len);

#endif
