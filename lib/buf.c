/*
 * buf.c - bounded buffers and the request arena.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* ------------------------------------------------------------------------ */
/* Bounded buffer                                                            */
/* ------------------------------------------------------------------------ */

void
hg_buf_init(struct hg_buf *buf, size_t max)
{
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
    buf->max = max;
    buf->failed = 0;
}

void
hg_buf_free(struct hg_buf *buf)
{
    free(buf->data);
    hg_buf_init(buf, buf->max);
}

void
hg_buf_reset(struct hg_buf *buf)
{
    buf->len = 0;
    buf->failed = 0;
}

/* Makes room for `extra` more bytes plus a NUL. */
static int
reserve(struct hg_buf *buf, size_t extra)
{
    size_t need, cap;
    char *data;

    if (buf->failed)
        return -1;
    if (extra > buf->max || buf->len > buf->max - extra) {
        buf->failed = 1;
        return -1;
    }
    need = buf->len + extra + 1;
    if (need <= buf->cap)
        return 0;
    cap = buf->cap ? buf->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    data = realloc(buf->data, cap);
    if (data == NULL) {
        buf->failed = 1;
        return -1;
    }
    buf->data = data;
    buf->cap = cap;
    return 0;
}

int
hg_buf_reserve(struct hg_buf *buf, size_t extra)
{
    return reserve(buf, extra);
}

int
hg_buf_append(struct hg_buf *buf, const void *data, size_t len)
{
    if (reserve(buf, len) != 0)
        return -1;
    if (len)
        memcpy(buf->data + buf->len, data, len);
    buf->len += len;
    buf->data[buf->len] = '\0';
    return 0;
}

int
hg_buf_appendc(struct hg_buf *buf, char c)
{
    return hg_buf_append(buf, &c, 1);
}

int
hg_buf_appends(struct hg_buf *buf, const char *str)
{
    return hg_buf_append(buf, str, strlen(str));
}

int
hg_buf_appendf(struct hg_buf *buf, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || reserve(buf, (size_t)n) != 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    buf->len += (size_t)n;
    return 0;
}

int
hg_buf_append_json_str(struct hg_buf *buf, const char *str, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;

    if (hg_buf_appendc(buf, '"') != 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)str[i];
        char esc[7];
        size_t esc_len = 2;

        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        hg_buf_append(buf, str + run, i - run);
        run = i + 1;
        esc[0] = '\\';
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            esc_len = 6;
            break;
        }
        hg_buf_append(buf, esc, esc_len);
    }
    hg_buf_append(buf, str + run, len - run);
    return hg_buf_appendc(buf, '"');
}

/* ------------------------------------------------------------------------ */
/* Arena                                                                     */
/* ------------------------------------------------------------------------ */

struct arena_chunk {
    struct arena_chunk *next;
    size_t size;
    size_t used;
    _Alignas(16) unsigned char data[];
};

struct adopted {
    struct adopted *next;
    void *ptr;
};

struct hg_arena {
    struct arena_chunk *head;
    struct adopted *adopted; /* malloc'd blocks it frees too */
};

/* A 1-2 KB delivery's tree and strings fit in one chunk. */
#define ARENA_CHUNK 16384

struct hg_arena *
hg_arena_new(void)
{
    return calloc(1, sizeof(struct hg_arena));
}

void
hg_arena_free(struct hg_arena *arena)
{
    if (arena == NULL)
        return;
    hg_arena_reset(arena); /* leaves at most one chunk */
    free(arena->head);
    free(arena);
}

void
hg_arena_reset(struct hg_arena *arena)
{
    struct arena_chunk *c, *next, *keep = NULL;

    for (struct adopted *a = arena->adopted; a; a = a->next)
        free(a->ptr);
    arena->adopted = NULL;
    for (c = arena->head; c; c = next) {
        next = c->next;
        if (keep == NULL && c->size == ARENA_CHUNK)
            keep = c;
        else
            free(c);
    }
    if (keep) {
        keep->next = NULL;
        keep->used = 0;
    }
    arena->head = keep;
}

void *
hg_arena_alloc(struct hg_arena *arena, size_t size)
{
    struct arena_chunk *c = arena->head;
    size_t chunk_size;

    if (size > SIZE_MAX - 64)
        return NULL;
    size = (size + 15) & ~(size_t)15;
    if (c == NULL || c->size - c->used < size) {
        chunk_size = size > ARENA_CHUNK / 2 ? size : ARENA_CHUNK;
        c = malloc(sizeof *c + chunk_size);
        if (c == NULL)
            return NULL;
        c->size = chunk_size;
        c->used = 0;
        if (size > ARENA_CHUNK / 2 && arena->head) {
            /* A big block gets its own chunk behind the current one, so the
             * current chunk's free space stays usable. */
            c->next = arena->head->next;
            arena->head->next = c;
            c->used = size;
            return c->data;
        }
        c->next = arena->head;
        arena->head = c;
    }
    void *p = c->data + c->used;
    c->used += size;
    return p;
}

char *
hg_arena_strndup(struct hg_arena *arena, const char *str, size_t len)
{
    char *p = hg_arena_alloc(arena, len + 1);

    if (p == NULL)
        return NULL;
    if (len)
        memcpy(p, str, len);
    p[len] = '\0';
    return p;
}

char *
hg_arena_join(struct hg_arena *arena, ...)
{
    const char *parts[HG_ARENA_JOIN_MAX];
    size_t lens[HG_ARENA_JOIN_MAX], n = 0;
    const char *part;
    va_list ap;

    va_start(ap, arena);
    while ((part = va_arg(ap, const char *)) != NULL) {
        if (n == HG_ARENA_JOIN_MAX) {
            va_end(ap);
            return NULL;
        }
        parts[n] = part;
        lens[n++] = strlen(part);
    }
    va_end(ap);
    return hg_arena_concat(arena, n, parts, lens);
}

char *
hg_arena_concat(struct hg_arena *arena, size_t count, const char *const *parts, const size_t *lens)
{
    size_t total = 0;
    char *p, *out;

    for (size_t i = 0; i < count; i++) {
        if (lens[i] > SIZE_MAX / 2 - total)
            return NULL;
        total += lens[i];
    }
    if ((out = hg_arena_alloc(arena, total + 1)) == NULL)
        return NULL;
    p = out;
    for (size_t i = 0; i < count; i++) {
        if (lens[i])
            memcpy(p, parts[i], lens[i]);
        p += lens[i];
    }
    *p = '\0';
    return out;
}

int
hg_arena_adopt(struct hg_arena *arena, void *ptr)
{
    struct adopted *a = hg_arena_alloc(arena, sizeof *a);

    if (a == NULL)
        return -1;
    a->ptr = ptr;
    a->next = arena->adopted;
    arena->adopted = a;
    return 0;
}
