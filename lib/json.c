/*
 * json.c - strict JSON into an arena tree (over yajl's callback parser), and
 * the JSON.stringify-compatible writer.
 *
 * yajl's tree API is not used: it has no depth cap (deep input exhausts the
 * stack), accepts duplicate keys, and turns numbers into doubles. Here every
 * container is checked against max_depth when it opens, numbers keep their
 * wire text, and each object records its keys in UTF-16 order, which is both
 * the duplicate-key check and inline's canonical sort.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "json.h"

/* ------------------------------------------------------------------------ */
/* UTF-8 and UTF-16 order                                                    */
/* ------------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s[0..len), or 0 when invalid. */
static size_t
utf8_seq_len(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xBF;
    size_t n;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else
        return 0;
    if (len < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return n;
}

int
hg_utf8_validate(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;

    for (size_t i = 0; i < len;) {
        uint64_t word;
        size_t n;

        /* ASCII fast path: eight bytes at a time while no high bit is set */
        while (len - i >= 8 && (memcpy(&word, s + i, 8), (word & 0x8080808080808080ULL) == 0))
            i += 8;
        if (i >= len)
            break;
        n = utf8_seq_len(s + i, len - i);

        if (n == 0)
            return -1;
        i += n;
    }
    return 0;
}

static int
hex4(const char *s, unsigned *out)
{
    unsigned v = 0;

    for (int i = 0; i < 4; i++) {
        char c = s[i];

        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/*
 * Refuses \u escapes of lone surrogates, which yajl would silently turn into
 * '?'. Backslashes only occur inside strings in valid JSON, so a plain scan
 * is enough; anything else malformed is left for yajl to report.
 */
static int
check_escapes(const char *s, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        unsigned u, lo;

        if (s[i] != '\\')
            continue;
        if (s[i + 1] != 'u' || len - i < 6 || hex4(s + i + 2, &u) != 0) {
            i++;
            continue;
        }
        if (u >= 0xDC00 && u <= 0xDFFF)
            return -1;
        if (u >= 0xD800 && u <= 0xDBFF) {
            if (len - i < 12 || s[i + 6] != '\\' || s[i + 7] != 'u' || hex4(s + i + 8, &lo) != 0 ||
                lo < 0xDC00 || lo > 0xDFFF)
                return -1;
            i += 11;
            continue;
        }
        i += 5;
    }
    return 0;
}

struct u16iter {
    const unsigned char *s;
    size_t len;
    size_t i;
    unsigned pending; /* low surrogate still to deliver, or 0 */
};

static int
next_unit(struct u16iter *it, unsigned *unit)
{
    uint32_t cp;
    size_t n;

    if (it->pending) {
        *unit = it->pending;
        it->pending = 0;
        return 1;
    }
    if (it->i >= it->len)
        return 0;
    n = utf8_seq_len(it->s + it->i, it->len - it->i);
    if (n <= 1) {
        cp = it->s[it->i]; /* ASCII, or a stray byte taken as itself */
        n = 1;
    } else {
        cp = it->s[it->i] & (0xFF >> (n + 1));
        for (size_t k = 1; k < n; k++)
            cp = cp << 6 | (it->s[it->i + k] & 0x3F);
    }
    it->i += n;
    if (cp >= 0x10000) {
        cp -= 0x10000;
        *unit = 0xD800 + (cp >> 10);
        it->pending = 0xDC00 + (cp & 0x3FF);
    } else {
        *unit = cp;
    }
    return 1;
}

int
hg_json_is_compact(const char *text, size_t len)
{
    int in_string = 0;

    for (size_t i = 0; i < len; i++) {
        char c = text[i];

        if (in_string) {
            if (c == '\\')
                i++; /* the escaped character cannot end the string */
            else if (c == '"')
                in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            return 0;
        }
    }
    return 1;
}

int
hg_utf16_cmp(const char *a, size_t a_len, const char *b, size_t b_len)
{
    struct u16iter ia = {(const unsigned char *)a, a_len, 0, 0};
    struct u16iter ib = {(const unsigned char *)b, b_len, 0, 0};

    /* ASCII prefix: byte order is UTF-16 order there */
    while (ia.i < a_len && ia.i < b_len && ia.s[ia.i] < 0x80 && ib.s[ia.i] < 0x80) {
        if (ia.s[ia.i] != ib.s[ia.i])
            return ia.s[ia.i] < ib.s[ia.i] ? -1 : 1;
        ia.i++;
    }
    ib.i = ia.i;
    for (;;) {
        unsigned ua, ub;
        int ha = next_unit(&ia, &ua), hb = next_unit(&ib, &ub);

        if (!ha || !hb)
            return ha - hb;
        if (ua != ub)
            return ua < ub ? -1 : 1;
    }
}

/* ------------------------------------------------------------------------ */
/* Parser                                                                    */
/* ------------------------------------------------------------------------ */

struct frame {
    struct hg_json *node;
    struct hg_json **items;
    const char **keys;
    size_t *key_lens;
    size_t count;
    size_t cap;
    size_t key_cap;
    const char *key; /* pending key of the next member */
    size_t key_len;
};

struct parser {
    struct hg_arena *arena;
    struct frame *stack;
    unsigned depth;
    unsigned max_depth;
    struct hg_json *root;
    const char *error;
    unsigned flags;
    size_t nodes;
    yajl_handle handle;
    size_t root_end; /* bytes up to the end of the root value, once it ended */
    char error_buf[160];
};

static struct hg_json *
new_node(struct parser *p, enum hg_json_type type)
{
    struct hg_json *n;

    if (++p->nodes > HG_JSON_MAX_NODES) {
        p->error = "JSON has too many values";
        return NULL;
    }
    n = hg_arena_alloc(p->arena, sizeof *n);

    if (n == NULL) {
        p->error = "out of memory";
        return NULL;
    }
    memset(n, 0, sizeof *n);
    n->type = type;
    return n;
}

/* Attaches a finished or opening node to its parent. Returns 1 to go on. */
static int
add(struct parser *p, struct hg_json *node)
{
    struct frame *f;

    if (node == NULL)
        return 0;
    if (p->depth == 0) {
        p->root = node;
        return 1;
    }
    f = &p->stack[p->depth - 1];
    if (f->count >= HG_JSON_MAX_ITEMS) {
        p->error = f->node->type == HG_JSON_OBJECT ? "JSON object has too many members"
                                                   : "JSON array has too many elements";
        return 0;
    }
    if (f->count == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        struct hg_json **items = realloc(f->items, cap * sizeof *items);

        if (items == NULL) {
            p->error = "out of memory";
            return 0;
        }
        f->items = items;
        f->cap = cap;
    }
    /* A frame is reused by siblings at its depth, arrays and objects alike,
     * so the key arrays keep a capacity of their own. */
    if (f->node->type == HG_JSON_OBJECT && f->count == f->key_cap) {
        size_t cap = f->key_cap ? f->key_cap * 2 : 8;
        const char **keys = realloc(f->keys, cap * sizeof *keys);
        size_t *key_lens;

        if (keys)
            f->keys = keys;
        key_lens = keys ? realloc(f->key_lens, cap * sizeof *key_lens) : NULL;
        if (key_lens == NULL) {
            p->error = "out of memory";
            return 0;
        }
        f->key_lens = key_lens;
        f->key_cap = cap;
    }
    if (f->node->type == HG_JSON_OBJECT) {
        f->keys[f->count] = f->key;
        f->key_lens[f->count] = f->key_len;
    }
    f->items[f->count++] = node;
    return 1;
}

static int
on_null(void *ctx)
{
    struct parser *p = ctx;

    return add(p, new_node(p, HG_JSON_NULL));
}

static int
on_boolean(void *ctx, int value)
{
    struct parser *p = ctx;

    return add(p, new_node(p, value ? HG_JSON_TRUE : HG_JSON_FALSE));
}

static int
on_scalar(struct parser *p, enum hg_json_type type, const unsigned char *s, size_t len)
{
    struct hg_json *n = new_node(p, type);

    if (n == NULL)
        return 0;
    n->str = hg_arena_strndup(p->arena, (const char *)s, len);
    n->len = len;
    if (n->str == NULL) {
        p->error = "out of memory";
        return 0;
    }
    return add(p, n);
}

static int
on_number(void *ctx, const char *s, size_t len)
{
    return on_scalar(ctx, HG_JSON_NUMBER, (const unsigned char *)s, len);
}

static int
on_string(void *ctx, const unsigned char *s, size_t len)
{
    return on_scalar(ctx, HG_JSON_STRING, s, len);
}

static int
open_container(struct parser *p, enum hg_json_type type)
{
    struct hg_json *n;

    if (p->depth >= p->max_depth) {
        p->error = "JSON nested too deeply";
        return 0;
    }
    n = new_node(p, type);
    if (n == NULL || !add(p, n))
        return 0;
    struct frame *f = &p->stack[p->depth++];
    f->node = n;
    f->count = 0;
    f->key = NULL;
    f->key_len = 0;
    return 1;
}

static int
on_start_map(void *ctx)
{
    return open_container(ctx, HG_JSON_OBJECT);
}

static int
on_start_array(void *ctx)
{
    return open_container(ctx, HG_JSON_ARRAY);
}

static int
on_map_key(void *ctx, const unsigned char *s, size_t len)
{
    struct parser *p = ctx;
    struct frame *f = &p->stack[p->depth - 1];

    f->key = hg_arena_strndup(p->arena, (const char *)s, len);
    f->key_len = len;
    if (f->key == NULL) {
        p->error = "out of memory";
        return 0;
    }
    return 1;
}

static int
key_order(const void *a, const void *b, void *arg)
{
    const struct hg_json *obj = arg;
    unsigned ia = *(const unsigned *)a, ib = *(const unsigned *)b;

    return hg_utf16_cmp(obj->keys[ia], obj->key_lens[ia], obj->keys[ib], obj->key_lens[ib]);
}

static int
close_container(struct parser *p)
{
    struct frame *f = &p->stack[--p->depth];
    struct hg_json *n = f->node;
    size_t count = f->count;

    n->count = count;
    if (count == 0)
        return 1;
    n->items = hg_arena_alloc(p->arena, count * sizeof *n->items);
    if (n->items == NULL)
        goto nomem;
    memcpy(n->items, f->items, count * sizeof *n->items);
    if (n->type != HG_JSON_OBJECT)
        return 1;

    n->keys = hg_arena_alloc(p->arena, count * sizeof *n->keys);
    n->key_lens = hg_arena_alloc(p->arena, count * sizeof *n->key_lens);
    n->sorted = hg_arena_alloc(p->arena, count * sizeof *n->sorted);
    if (n->keys == NULL || n->key_lens == NULL || n->sorted == NULL)
        goto nomem;
    memcpy(n->keys, f->keys, count * sizeof *n->keys);
    memcpy(n->key_lens, f->key_lens, count * sizeof *n->key_lens);
    for (size_t i = 0; i < count; i++)
        n->sorted[i] = (unsigned)i;
    qsort_r(n->sorted, count, sizeof *n->sorted, key_order, n);
    for (size_t i = 1; i < count; i++) {
        if (key_order(&n->sorted[i - 1], &n->sorted[i], n) == 0) {
            unsigned k = n->sorted[i];

            p->error = "duplicate key in object";
            if (p->flags & HG_JSON_NAME_KEYS) {
                snprintf(p->error_buf, sizeof p->error_buf, "duplicate key \"%.*s\"",
                         (int)(n->key_lens[k] > 100 ? 100 : n->key_lens[k]), n->keys[k]);
                p->error = p->error_buf;
            }
            return 0;
        }
    }
    return 1;
nomem:
    p->error = "out of memory";
    return 0;
}

static int
on_end(void *ctx)
{
    struct parser *p = ctx;
    int ok = close_container(p);

    if (ok && p->depth == 0)
        p->root_end = yajl_get_bytes_consumed(p->handle);
    return ok;
}

static const yajl_callbacks callbacks = {
    .yajl_null = on_null,
    .yajl_boolean = on_boolean,
    .yajl_number = on_number,
    .yajl_string = on_string,
    .yajl_start_map = on_start_map,
    .yajl_map_key = on_map_key,
    .yajl_end_map = on_end,
    .yajl_start_array = on_start_array,
    .yajl_end_array = on_end,
};

static int
trailing_is_space(const char *text, size_t len, size_t from)
{
    for (size_t i = from; i < len; i++)
        if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r')
            return 0;
    return 1;
}

const struct hg_json *
hg_json_parse(struct hg_arena *arena, const char *text, size_t len, unsigned max_depth,
              unsigned flags, char *err, size_t err_size)
{
    struct parser p = {arena, NULL, 0, max_depth, NULL, NULL, flags, 0, NULL, 0, ""};
    yajl_handle h = NULL;
    yajl_status st;
    const struct hg_json *root = NULL;

    if (hg_utf8_validate(text, len) != 0) {
        snprintf(err, err_size, "not valid UTF-8");
        return NULL;
    }
    if (check_escapes(text, len) != 0) {
        snprintf(err, err_size, "string escapes a lone UTF-16 surrogate");
        return NULL;
    }
    p.stack = calloc(max_depth ? max_depth : 1, sizeof *p.stack);
    h = yajl_alloc(&callbacks, NULL, &p);
    p.handle = h;
    if (p.stack == NULL || h == NULL) {
        snprintf(err, err_size, "out of memory");
        goto out;
    }
    yajl_config(h, yajl_allow_comments, (flags & HG_JSON_ALLOW_COMMENTS) ? 1 : 0);
    st = yajl_parse(h, (const unsigned char *)text, len);
    if (st == yajl_status_ok)
        st = yajl_complete_parse(h);
    /* yajl accepts an unfinished token after a complete value ("{}\"", "{} tr"):
     * only white space may follow a root object or array. (A root scalar ends
     * only at the end of the input, where yajl no longer counts bytes; no
     * provider takes one.) */
    if (st == yajl_status_ok && p.root != NULL &&
        (p.root->type == HG_JSON_OBJECT || p.root->type == HG_JSON_ARRAY) &&
        !trailing_is_space(text, len, p.root_end)) {
        snprintf(err, err_size, "trailing garbage after the JSON value");
    } else if (st == yajl_status_ok && p.root != NULL) {
        root = p.root;
    } else if (p.error) {
        snprintf(err, err_size, "%s", p.error);
    } else {
        unsigned char *msg = yajl_get_error(h, 0, NULL, 0);
        size_t n = msg ? strcspn((const char *)msg, "\n") : 0;

        /* yajl's message ends with a period; drop it for "…: reason" use */
        if (n && msg[n - 1] == '.')
            n--;
        snprintf(err, err_size, "%.*s", (int)n, msg ? (const char *)msg : "invalid JSON");
        if (msg)
            yajl_free_error(h, msg);
    }
out:
    if (h)
        yajl_free(h);
    if (p.stack) {
        for (unsigned i = 0; i < max_depth; i++) {
            free(p.stack[i].items);
            free(p.stack[i].keys);
            free(p.stack[i].key_lens);
        }
        free(p.stack);
    }
    return root;
}

/* ------------------------------------------------------------------------ */
/* Lookup                                                                    */
/* ------------------------------------------------------------------------ */

const struct hg_json *
hg_json_get(const struct hg_json *obj, const char *key)
{
    size_t key_len;

    if (obj == NULL || obj->type != HG_JSON_OBJECT)
        return NULL;
    key_len = strlen(key);
    /* binary search over the sorted index */
    size_t lo = 0, hi = obj->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        unsigned k = obj->sorted[mid];
        int c = hg_utf16_cmp(obj->keys[k], obj->key_lens[k], key, key_len);

        if (c == 0)
            return obj->items[k];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const struct hg_json *
hg_json_get_type(const struct hg_json *obj, const char *key, enum hg_json_type type)
{
    const struct hg_json *v = hg_json_get(obj, key);

    return v && v->type == type ? v : NULL;
}

/* ------------------------------------------------------------------------ */
/* Writer                                                                    */
/* ------------------------------------------------------------------------ */

static int
write_node(struct hg_buf *buf, const struct hg_json *n, enum hg_json_sort sort, unsigned depth)
{
    switch (n->type) {
    case HG_JSON_NULL:
        return hg_buf_append(buf, "null", 4);
    case HG_JSON_FALSE:
        return hg_buf_append(buf, "false", 5);
    case HG_JSON_TRUE:
        return hg_buf_append(buf, "true", 4);
    case HG_JSON_NUMBER:
        return hg_buf_append(buf, n->str, n->len);
    case HG_JSON_STRING:
        return hg_buf_append_json_str(buf, n->str, n->len);
    case HG_JSON_ARRAY:
        hg_buf_appendc(buf, '[');
        for (size_t i = 0; i < n->count; i++) {
            if (i)
                hg_buf_appendc(buf, ',');
            write_node(buf, n->items[i], sort, depth + 1);
        }
        return hg_buf_appendc(buf, ']');
    case HG_JSON_OBJECT: {
        int sorted = sort == HG_JSON_SORT_DEEP || (sort == HG_JSON_SORT_TOPLEVEL && depth == 0);

        hg_buf_appendc(buf, '{');
        for (size_t i = 0; i < n->count; i++) {
            size_t k = sorted ? n->sorted[i] : i;

            if (i)
                hg_buf_appendc(buf, ',');
            hg_buf_append_json_str(buf, n->keys[k], n->key_lens[k]);
            hg_buf_appendc(buf, ':');
            write_node(buf, n->items[k], sort, depth + 1);
        }
        return hg_buf_appendc(buf, '}');
    }
    }
    return -1;
}

int
hg_json_write(struct hg_buf *buf, const struct hg_json *node, enum hg_json_sort sort)
{
    write_node(buf, node, sort, 0);
    return buf->failed ? -1 : 0;
}
