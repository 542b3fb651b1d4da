/*
 * buf.h - bounded growable byte buffers and a per-request arena (private).
 */
#ifndef HG_BUF_H
#define HG_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "hookgate.h"

/*
 * A growable buffer with a cap fixed at init, like curl's dynbuf: appending
 * past `max` fails (and marks the buffer failed) instead of truncating.
 */
struct hg_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max;
    int failed;
};

void hg_buf_init(struct hg_buf *buf, size_t max);
void hg_buf_free(struct hg_buf *buf);
void hg_buf_reset(struct hg_buf *buf);
/* Returns 0, or -1 when the cap or memory ran out (the buffer is then failed). */
int hg_buf_append(struct hg_buf *buf, const void *data, size_t len);
int hg_buf_appendc(struct hg_buf *buf, char c);
int hg_buf_appends(struct hg_buf *buf, const char *str);
/* Makes room for `extra` more bytes now, so that appends up to it do not
 * reallocate. Returns 0, or -1 (and marks the buffer failed). */
int hg_buf_reserve(struct hg_buf *buf, size_t extra);
int hg_buf_appendf(struct hg_buf *buf, const char *fmt, ...) HG_PRINTF(2, 3);
/* Appends `str` as a JSON string literal, quotes included (JSON.stringify rules). */
int hg_buf_append_json_str(struct hg_buf *buf, const char *str, size_t len);

/*
 * An arena: many small allocations released at once. Used for everything a
 * request produces (parsed JSON, envelopes), so that an outcome frees in one
 * call and a failure half-way leaks nothing.
 */
struct hg_arena;

struct hg_arena *hg_arena_new(void);
void hg_arena_free(struct hg_arena *arena);
/* Frees everything allocated from the arena, keeping one chunk for reuse. */
void hg_arena_reset(struct hg_arena *arena);
/* Returns 8-byte aligned memory, or NULL when out of memory. */
void *hg_arena_alloc(struct hg_arena *arena, size_t size);
char *hg_arena_strndup(struct hg_arena *arena, const char *str, size_t len);
/* Joins NUL-terminated strings, the list ending with NULL (at most
 * HG_ARENA_JOIN_MAX), into one arena copy; NULL when out of memory. */
#define HG_ARENA_JOIN_MAX 8
char *hg_arena_join(struct hg_arena *arena, ...);
/* Joins `count` strings (lengths given) into one NUL-terminated copy. */
char *hg_arena_concat(struct hg_arena *arena, size_t count, const char *const *parts,
                      const size_t *lens);
/* Hands malloc'd memory to the arena, which frees it with everything else.
 * Returns 0, or -1 (out of memory: the caller still owns `ptr`). */
int hg_arena_adopt(struct hg_arena *arena, void *ptr);

#endif
