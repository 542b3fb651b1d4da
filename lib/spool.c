/*
 * spool.c - the local spool (see spool.h for the format and the contract).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"

#define MAGIC "HGS1"
#define HEADER_LEN 20
#define SEGMENT_TARGET (64LL * 1024 * 1024) /* start a new segment past this */
#define READ_CHUNK (1024 * 1024)

struct segment {
    uint64_t seq;
    int64_t size; /* bytes of complete, synced records */
};

struct hg_spool {
    char *dir;
    int64_t max_bytes;
    int lock_fd;
    pthread_mutex_t lock;

    struct segment *segs; /* oldest first */
    size_t nsegs, cap;
    int64_t bytes;   /* undrained bytes on disk */
    int64_t records; /* undrained records */
    int failed;      /* the last append failed to write */
    int64_t refused; /* bytes of the last append refused for lack of room, 0 after one fits */

    uint64_t next_seq;
    int wfd;          /* open on the newest segment, or -1 */
    int64_t read_off; /* drain position in segs[0] */
    int rfd;
    uint64_t rseq;
    int64_t oldest_ms;
};

/* ------------------------------------------------------------------------ */
/* CRC-32C (Castagnoli)                                                      */
/* ------------------------------------------------------------------------ */

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void
crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_table[i] = c;
    }
}

uint32_t
hg_crc32c(uint32_t crc, const void *data, size_t len)
{
    const unsigned char *p = data;

    pthread_once(&crc_once, crc_init);
    crc = ~crc;
    while (len--)
        crc = crc_table[(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

/* ------------------------------------------------------------------------ */
/* Codec                                                                     */
/* ------------------------------------------------------------------------ */

static void
put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t
get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void
put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t
get_u64(const unsigned char *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void
put_str(struct hg_buf *b, const char *s, size_t len)
{
    unsigned char n[4];

    put_u32(n, (uint32_t)len);
    hg_buf_append(b, n, 4);
    hg_buf_append(b, s, len);
}

int
hg_spool_encode(struct hg_buf *out, const struct hg_publish_job *job, int64_t now_ms)
{
    unsigned char header[HEADER_LEN] = {0}, n[8];
    size_t start = out->len, payload;

    hg_buf_append(out, header, HEADER_LEN); /* filled in below */
    hg_buf_appendc(out, 1);                 /* version */
    put_u32(n, (uint32_t)job->event_count);
    hg_buf_append(out, n, 4);
    put_str(out, job->nonce_key ? job->nonce_key : "", job->nonce_key ? strlen(job->nonce_key) : 0);
    put_str(out, job->nonce_value ? job->nonce_value : "",
            job->nonce_value ? strlen(job->nonce_value) : 0);
    put_u64(n, (uint64_t)job->nonce_ttl_s);
    hg_buf_append(out, n, 8);
    for (size_t i = 0; i < job->event_count; i++) {
        const struct hg_event *e = &job->events[i];

        put_str(out, e->id, strlen(e->id));
        put_str(out, e->type, strlen(e->type));
        put_str(out, e->category, strlen(e->category));
        put_str(out, e->provider, strlen(e->provider));
        put_str(out, e->stream, strlen(e->stream));
        put_str(out, e->seen_key, strlen(e->seen_key));
        put_str(out, e->envelope, e->envelope_len);
    }
    if (out->failed)
        return -1;
    payload = out->len - start - HEADER_LEN;
    if (payload > HG_SPOOL_RECORD_MAX)
        return -1;
    unsigned char *h = (unsigned char *)out->data + start;
    memcpy(h, MAGIC, 4);
    put_u32(h + 4, (uint32_t)payload);
    put_u64(h + 12, (uint64_t)now_ms);
    put_u32(h + 8, hg_crc32c(hg_crc32c(0, h + 12, 8), h + HEADER_LEN, payload));
    return 0;
}

struct reader {
    const unsigned char *p;
    size_t left;
    struct hg_arena *arena;
};

static int
get_str(struct reader *r, char **out, size_t *out_len)
{
    uint32_t len;

    if (r->left < 4)
        return -1;
    len = get_u32(r->p);
    r->p += 4;
    r->left -= 4;
    if (len > r->left || memchr(r->p, '\0', len) != NULL)
        return -1; /* every field is a C string: a NUL means corruption */
    *out = hg_arena_strndup(r->arena, (const char *)r->p, len);
    if (*out == NULL)
        return -1;
    if (out_len)
        *out_len = len;
    r->p += len;
    r->left -= len;
    return 0;
}

long
hg_spool_decode(const unsigned char *data, size_t len, struct hg_arena *arena,
                struct hg_publish_job *job, int64_t *spooled_ms)
{
    uint32_t payload, count;
    struct reader r;
    char *nonce_key, *nonce_value;

    if (len < HEADER_LEN)
        return 0;
    if (memcmp(data, MAGIC, 4) != 0)
        return -1;
    payload = get_u32(data + 4);
    if (payload > HG_SPOOL_RECORD_MAX)
        return -1;
    if (len - HEADER_LEN < payload)
        return 0;
    if (get_u32(data + 8) != hg_crc32c(hg_crc32c(0, data + 12, 8), data + HEADER_LEN, payload))
        return -1;
    *spooled_ms = (int64_t)get_u64(data + 12);

    r.p = data + HEADER_LEN;
    r.left = payload;
    r.arena = arena;
    if (r.left < 5 || r.p[0] != 1)
        return -1;
    count = get_u32(r.p + 1);
    r.p += 5;
    r.left -= 5;
    /* every event takes at least 7 length fields */
    if (count == 0 || count > r.left / 28)
        return -1;
    if (get_str(&r, &nonce_key, NULL) || get_str(&r, &nonce_value, NULL) || r.left < 8)
        return -1;
    memset(job, 0, sizeof *job);
    job->nonce_ttl_s = (int64_t)get_u64(r.p);
    r.p += 8;
    r.left -= 8;
    if (nonce_key[0]) {
        job->nonce_key = nonce_key;
        job->nonce_value = nonce_value;
    } else if (nonce_value[0] || job->nonce_ttl_s != 0) {
        return -1; /* one encoding per job: no value or TTL without a key */
    }
    struct hg_event *events = hg_arena_alloc(arena, count * sizeof *events);
    if (events == NULL)
        return -1;
    for (uint32_t i = 0; i < count; i++) {
        struct hg_event *e = &events[i];
        char *category, *provider;

        memset(e, 0, sizeof *e);
        if (get_str(&r, &e->id, NULL) || get_str(&r, &e->type, NULL) ||
            get_str(&r, &category, NULL) || get_str(&r, &provider, NULL) ||
            get_str(&r, &e->stream, NULL) || get_str(&r, &e->seen_key, NULL) ||
            get_str(&r, &e->envelope, &e->envelope_len))
            return -1;
        e->category = category;
        e->provider = provider;
    }
    if (r.left != 0)
        return -1;
    job->events = events;
    job->event_count = count;
    return (long)(HEADER_LEN + payload);
}

/* ------------------------------------------------------------------------ */
/* Files                                                                     */
/* ------------------------------------------------------------------------ */

static void
segment_path(const struct hg_spool *s, uint64_t seq, char *out, size_t size)
{
    snprintf(out, size, "%s/spool-%020" PRIu64 ".log", s->dir, seq);
}

static int
fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc;

    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

static int
add_segment(struct hg_spool *s, uint64_t seq, int64_t size)
{
    if (s->nsegs == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        struct segment *segs = realloc(s->segs, cap * sizeof *segs);

        if (segs == NULL)
            return -1;
        s->segs = segs;
        s->cap = cap;
    }
    s->segs[s->nsegs].seq = seq;
    s->segs[s->nsegs].size = size;
    s->nsegs++;
    return 0;
}

static int
cmp_seq(const void *a, const void *b)
{
    uint64_t x = ((const struct segment *)a)->seq, y = ((const struct segment *)b)->seq;

    return x < y ? -1 : x > y;
}

/*
 * Validates one segment: counts its records, truncates a torn or corrupt
 * tail. Returns the valid size, or -1 when the file cannot be read.
 */
static int64_t
recover_segment(struct hg_spool *s, uint64_t seq, int64_t *records, int64_t *first_ms)
{
    char path[4096];
    struct stat st;
    unsigned char *data = NULL;
    int64_t off = 0, size;
    int fd;

    segment_path(s, seq, path, sizeof path);
    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    size = st.st_size;
    data = size ? malloc((size_t)size) : NULL;
    if (size && (data == NULL || pread(fd, data, (size_t)size, 0) != size)) {
        free(data);
        close(fd);
        return -1;
    }
    while (off < size) {
        struct hg_arena *arena = hg_arena_new();
        struct hg_publish_job job;
        int64_t ms = 0;
        long n = arena ? hg_spool_decode(data + off, (size_t)(size - off), arena, &job, &ms) : -1;

        hg_arena_free(arena);
        if (n <= 0)
            break;
        if (*records == 0 && *first_ms == 0)
            *first_ms = ms;
        (*records)++;
        off += n;
    }
    if (off < size) {
        HG_LOG(HG_LOG_WARN,
               "spool: %s: dropping %lld bytes after offset %lld (a record torn by a crash or "
               "corrupt; it was never acknowledged)",
               path, (long long)(size - off), (long long)off);
        if (ftruncate(fd, off) != 0 || fsync(fd) != 0) {
            free(data);
            close(fd);
            return -1;
        }
    }
    free(data);
    close(fd);
    return off;
}

/* mkdir -p, the directories it creates private to this user. */
static int
mkdir_parents(const char *dir)
{
    char path[4096];
    size_t len = strlen(dir);

    if (len == 0 || len >= sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(path, dir, len + 1);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(path, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

struct hg_spool *
hg_spool_open(const char *dir, int64_t max_bytes, char *err, size_t err_size)
{
    struct hg_spool *s = calloc(1, sizeof *s);
    char path[4096];
    DIR *d = NULL;
    struct dirent *de;

    if (s == NULL) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    s->lock_fd = s->wfd = s->rfd = -1;
    s->max_bytes = max_bytes;
    pthread_mutex_init(&s->lock, NULL);
    s->dir = strdup(dir);
    if (s->dir == NULL)
        goto nomem;
    if (mkdir_parents(dir) != 0) {
        snprintf(err, err_size, "cannot create %s: %s", dir, strerror(errno));
        goto fail;
    }
    snprintf(path, sizeof path, "%s/lock", dir);
    s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->lock_fd < 0) {
        snprintf(err, err_size, "cannot open %s: %s", path, strerror(errno));
        goto fail;
    }
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, err_size, "%s is in use by another hookgate process", dir);
        goto fail;
    }
    d = opendir(dir);
    if (d == NULL) {
        snprintf(err, err_size, "cannot read %s: %s", dir, strerror(errno));
        goto fail;
    }
    while ((de = readdir(d)) != NULL) {
        uint64_t seq;
        char tail;

        if (sscanf(de->d_name, "spool-%" SCNu64 ".lo%c", &seq, &tail) == 2 && tail == 'g' &&
            add_segment(s, seq, 0) != 0) {
            closedir(d);
            goto nomem;
        }
    }
    closedir(d);
    if (s->nsegs > 1)
        qsort(s->segs, s->nsegs, sizeof *s->segs, cmp_seq);
    s->next_seq = s->nsegs ? s->segs[s->nsegs - 1].seq + 1 : 1;
    for (size_t i = 0; i < s->nsegs; i++) {
        int64_t size = recover_segment(s, s->segs[i].seq, &s->records, &s->oldest_ms);

        if (size < 0) {
            segment_path(s, s->segs[i].seq, path, sizeof path);
            snprintf(err, err_size, "cannot recover %s: %s", path, strerror(errno));
            goto fail;
        }
        s->segs[i].size = size;
        s->bytes += size;
    }
    /* drop empty segments but the newest, which appends may continue */
    for (size_t i = 0; i + 1 < s->nsegs;) {
        if (s->segs[i].size == 0) {
            segment_path(s, s->segs[i].seq, path, sizeof path);
            unlink(path);
            memmove(&s->segs[i], &s->segs[i + 1], (s->nsegs - i - 1) * sizeof *s->segs);
            s->nsegs--;
        } else {
            i++;
        }
    }
    if (s->records)
        HG_LOG(HG_LOG_INFO, "spool: %lld events waiting in %s (%lld bytes) will be drained",
               (long long)s->records, dir, (long long)s->bytes);
    return s;
nomem:
    snprintf(err, err_size, "out of memory");
fail:
    hg_spool_close(s);
    return NULL;
}

void
hg_spool_close(struct hg_spool *s)
{
    if (s == NULL)
        return;
    if (s->wfd >= 0)
        close(s->wfd);
    if (s->rfd >= 0)
        close(s->rfd);
    if (s->lock_fd >= 0)
        close(s->lock_fd); /* releases the flock */
    pthread_mutex_destroy(&s->lock);
    free(s->segs);
    free(s->dir);
    free(s);
}

/* ------------------------------------------------------------------------ */
/* Append                                                                    */
/* ------------------------------------------------------------------------ */

/* Opens the segment to append to (called with the lock held). */
static int
writable_segment(struct hg_spool *s)
{
    char path[4096];
    uint64_t seq;

    if (s->wfd >= 0 && s->segs[s->nsegs - 1].size < SEGMENT_TARGET)
        return 0;
    if (s->wfd >= 0) {
        close(s->wfd);
        s->wfd = -1;
    }
    if (s->nsegs > 0 && s->segs[s->nsegs - 1].size < SEGMENT_TARGET) {
        seq = s->segs[s->nsegs - 1].seq; /* continue the newest (after a restart) */
    } else {
        seq = s->next_seq++;
        if (add_segment(s, seq, 0) != 0)
            return -1;
    }
    segment_path(s, seq, path, sizeof path);
    s->wfd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (s->wfd < 0 || fsync_dir(s->dir) != 0) {
        HG_LOG(HG_LOG_ERROR, "spool: cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

size_t
hg_spool_append(struct hg_spool *s, struct hg_publish_job **jobs, size_t n)
{
    struct hg_buf buf;
    int64_t now = hg_now_ms();
    size_t taken = 0, i;

    for (i = 0; i < n; i++)
        jobs[i]->status = HG_ERR_UNAVAILABLE;
    if (s == NULL || n == 0)
        return 0;
    hg_buf_init(&buf, (size_t)HG_SPOOL_RECORD_MAX * 2);
    pthread_mutex_lock(&s->lock);
    /* take the jobs that fit, in order */
    for (i = 0; i < n && i < 256; i++) {
        size_t before = buf.len;

        if (hg_spool_encode(&buf, jobs[i], now) != 0 ||
            s->bytes + (int64_t)buf.len > s->max_bytes) {
            buf.len = before;
            buf.failed = 0;
            break;
        }
    }
    taken = i;
    if (taken < n && i < 256) {
        /* the first record that did not fit: remember how much room it needs */
        size_t before = buf.len;

        if (hg_spool_encode(&buf, jobs[taken], now) == 0)
            s->refused = (int64_t)(buf.len - before);
        buf.len = before;
        buf.failed = 0;
    }
    if (taken == 0)
        goto out;
    if (writable_segment(s) != 0)
        goto failed;
    struct segment *seg = &s->segs[s->nsegs - 1];
    size_t done = 0;
    while (done < buf.len) {
        ssize_t w = write(s->wfd, buf.data + done, buf.len - done);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto rollback;
        done += (size_t)w;
    }
    if (fdatasync(s->wfd) != 0)
        goto rollback;
    if (s->records == 0)
        s->oldest_ms = now;
    seg->size += (int64_t)buf.len;
    s->bytes += (int64_t)buf.len;
    s->records += (int64_t)taken;
    s->failed = 0;
    if (taken == n)
        s->refused = 0;
    for (i = 0; i < taken; i++)
        jobs[i]->status = HG_SPOOLED;
    goto out;

rollback:
    HG_LOG(HG_LOG_ERROR, "spool: write failed: %s", strerror(errno));
    if (ftruncate(s->wfd, seg->size) != 0 || fdatasync(s->wfd) != 0) {
        /* cannot tell what is on disk: stop appending to this segment */
        close(s->wfd);
        s->wfd = -1;
        seg->size = SEGMENT_TARGET; /* never continued */
    }
failed:
    s->failed = 1;
    taken = 0;
out:
    pthread_mutex_unlock(&s->lock);
    hg_buf_free(&buf);
    return taken;
}

/* ------------------------------------------------------------------------ */
/* Drain                                                                     */
/* ------------------------------------------------------------------------ */

size_t
hg_spool_read(struct hg_spool *s, struct hg_spool_batch *batch, size_t max)
{
    unsigned char *data = NULL;
    int64_t off, limit;
    uint64_t seq;
    size_t got = 0;
    char path[4096];

    memset(batch, 0, sizeof *batch);
    if (s == NULL || max == 0)
        return 0;
    pthread_mutex_lock(&s->lock);
    if (s->nsegs == 0 || s->read_off >= s->segs[0].size) {
        pthread_mutex_unlock(&s->lock);
        return 0;
    }
    seq = s->segs[0].seq;
    off = s->read_off;
    limit = s->segs[0].size;
    pthread_mutex_unlock(&s->lock);

    if (s->rfd < 0 || s->rseq != seq) {
        if (s->rfd >= 0)
            close(s->rfd);
        segment_path(s, seq, path, sizeof path);
        s->rfd = open(path, O_RDONLY | O_CLOEXEC);
        s->rseq = seq;
        if (s->rfd < 0)
            return 0;
    }
    size_t want = (size_t)(limit - off);
    if (want > READ_CHUNK)
        want = READ_CHUNK;
    batch->arena = hg_arena_new();
    batch->jobs = calloc(max, sizeof *batch->jobs);
    batch->ends = calloc(max, sizeof *batch->ends);
    batch->times = calloc(max, sizeof *batch->times);
    data = malloc(want);
    if (batch->arena == NULL || batch->jobs == NULL || batch->ends == NULL ||
        batch->times == NULL || data == NULL)
        goto out;
    for (;;) {
        ssize_t r = pread(s->rfd, data, want, off);
        size_t pos = 0;

        if (r != (ssize_t)want)
            goto out;
        while (got < max && pos < want) {
            int64_t ms;
            long n = hg_spool_decode(data + pos, want - pos, batch->arena, &batch->jobs[got], &ms);

            if (n < 0) {
                HG_LOG(HG_LOG_ERROR,
                       "spool: corrupt record in segment %" PRIu64
                       " at %lld: skipping the rest of the segment",
                       seq, (long long)(off + (int64_t)pos));
                pthread_mutex_lock(&s->lock);
                s->segs[0].size = off + (int64_t)pos;
                pthread_mutex_unlock(&s->lock);
                goto out;
            }
            if (n == 0)
                break;
            pos += (size_t)n;
            batch->times[got] = ms;
            batch->ends[got++] = off + (int64_t)pos;
        }
        if (got > 0 || want == (size_t)(limit - off))
            break;
        /* a record larger than the chunk: read it whole */
        uint32_t len = get_u32(data + 4);
        unsigned char *bigger;
        want = HEADER_LEN + (size_t)len;
        if ((int64_t)want > limit - off || (bigger = realloc(data, want)) == NULL)
            goto out;
        data = bigger;
    }
out:
    free(data);
    batch->count = got;
    batch->segment = seq;
    if (got == 0) {
        hg_spool_batch_free(batch);
        memset(batch, 0, sizeof *batch);
    }
    return got;
}

void
hg_spool_consume(struct hg_spool *s, const struct hg_spool_batch *batch, size_t count)
{
    char path[4096];

    if (s == NULL || count == 0)
        return;
    pthread_mutex_lock(&s->lock);
    if (s->nsegs > 0 && s->segs[0].seq == batch->segment) {
        int64_t end = batch->ends[count - 1];

        s->bytes -= end - s->read_off;
        s->records -= (int64_t)count;
        s->read_off = end;
        if (s->records <= 0) {
            s->records = 0;
            s->oldest_ms = 0;
        }
        if (count < batch->count)
            s->oldest_ms = batch->times[count];
        /* a segment drained to its end goes; appends then start a new one */
        if (s->read_off >= s->segs[0].size) {
            if (s->nsegs == 1 && s->wfd >= 0) {
                close(s->wfd);
                s->wfd = -1;
            }
            segment_path(s, s->segs[0].seq, path, sizeof path);
            unlink(path);
            memmove(&s->segs[0], &s->segs[1], (s->nsegs - 1) * sizeof *s->segs);
            s->nsegs--;
            s->read_off = 0;
            if (s->rfd >= 0) {
                close(s->rfd);
                s->rfd = -1;
            }
        }
    }
    pthread_mutex_unlock(&s->lock);
}

void
hg_spool_batch_free(struct hg_spool_batch *batch)
{
    hg_arena_free(batch->arena);
    free(batch->jobs);
    free(batch->ends);
    free(batch->times);
    batch->times = NULL;
    batch->arena = NULL;
    batch->jobs = NULL;
    batch->ends = NULL;
}

void
hg_spool_stats(struct hg_spool *s, struct hg_spool_stats *out)
{
    memset(out, 0, sizeof *out);
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->lock);
    out->bytes = s->bytes;
    out->records = s->records;
    out->oldest_ms = s->records ? s->oldest_ms : 0;
    /* room: for the append that was last refused, or else for anything */
    out->writable = !s->failed && s->bytes < s->max_bytes &&
                    (s->refused == 0 || s->bytes + s->refused <= s->max_bytes);
    pthread_mutex_unlock(&s->lock);
}
