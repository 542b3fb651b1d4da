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
 * Byte classes for the pass over the text before yajl reads it. Plain bytes
 * are skipped in a tight loop; the others need a look.
 */
enum { B_PLAIN, B_QUOTE, B_BACKSLASH, B_SPACE, B_HIGH };

#define B_ROW(x) x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x
// clang-format off
static const unsigned char byte_class[256] = {
    /* 0x00 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, B_SPACE, B_SPACE, 0, 0, B_SPACE, 0, 0,
    /* 0x10 */ B_ROW(B_PLAIN),
    /* 0x20 */ B_SPACE, 0, B_QUOTE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 0x30 */ B_ROW(B_PLAIN),
    /* 0x40 */ B_ROW(B_PLAIN),
    /* 0x50 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, B_BACKSLASH, 0, 0, 0,
    /* 0x60 */ B_ROW(B_PLAIN),
    /* 0x70 */ B_ROW(B_PLAIN),
    B_ROW(B_HIGH), B_ROW(B_HIGH), B_ROW(B_HIGH), B_ROW(B_HIGH),
    B_ROW(B_HIGH), B_ROW(B_HIGH), B_ROW(B_HIGH), B_ROW(B_HIGH),
};
// clang-format on
#undef B_ROW

/*
 * From s[i] inside a string, the index of the next quote, backslash or byte
 * over 0x7F (or a little before it), eight bytes at a time: string contents
 * are most of a webhook's bytes. has_zero() flags the bytes of a word that
 * are zero; its lowest flag is always exact.
 */
static size_t
string_run(const unsigned char *s, size_t i, size_t len)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL
#define has_zero(v) (((v)-ONES) & ~(v)&HIGHS)
    while (len - i >= 8) {
        uint64_t w, stop;

        memcpy(&w, s + i, 8);
        stop = has_zero(w ^ (ONES * '"')) | has_zero(w ^ (ONES * '\\')) | (w & HIGHS);
        if (stop)
            return i + (size_t)__builtin_ctzll(stop) / 8;
        i += 8;
    }
#undef has_zero
#undef HIGHS
#undef ONES
#endif
    (void)s;
    (void)len;
    return i;
}

/*
 * One pass over the raw text: strict UTF-8, and no \u escape of a lone
 * surrogate (which yajl would silently turn into '?'). It also learns two
 * things about valid JSON text: whether white space lies outside its strings
 * (`compact` is 0 then), and whether it can hold a character outside the BMP
 * (`bmp_only` is 0 then), the one case where UTF-8 byte order and UTF-16
 * order differ. Strings are tracked by their quotes, which is exact for
 * valid JSON; anything malformed is left for yajl to report. Returns NULL or
 * the reason the text is refused.
 */
static const char *
scan_text(const unsigned char *s, size_t len, struct hg_json_text *info)
{
    int in_string = 0;
    size_t i = 0;

    info->compact = 1;
    info->bmp_only = 1;
    for (;;) {
        unsigned u, lo;
        size_t n;

        if (in_string)
            i = string_run(s, i, len);
        while (i < len && byte_class[s[i]] == B_PLAIN)
            i++;
        if (i >= len)
            return NULL;
        switch (byte_class[s[i]]) {
        case B_QUOTE:
            in_string = !in_string;
            i++;
            break;
        case B_SPACE:
            info->compact &= in_string;
            i++;
            break;
        case B_HIGH:
            if ((n = utf8_seq_len(s + i, len - i)) == 0)
                return "not valid UTF-8";
            if (n == 4)
                info->bmp_only = 0;
            i += n;
            break;
        default: /* backslash */
            if (!in_string || len - i < 2 || s[i + 1] != 'u') {
                /* the escaped byte cannot end the string (a high byte there
                 * is invalid JSON, but still gets its UTF-8 check) */
                i += in_string && len - i >= 2 && s[i + 1] < 0x80 ? 2 : 1;
                break;
            }
            if (len - i < 6 || hex4((const char *)s + i + 2, &u) != 0) {
                i += 2; /* malformed: yajl reports it */
                break;
            }
            if (u >= 0xDC00 && u <= 0xDFFF)
                return "string escapes a lone UTF-16 surrogate";
            if (u >= 0xD800 && u <= 0xDBFF) {
                if (len - i < 12 || s[i + 6] != '\\' || s[i + 7] != 'u' ||
                    hex4((const char *)s + i + 8, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF)
                    return "string escapes a lone UTF-16 surrogate";
                info->bmp_only = 0;
                i += 12;
                break;
            }
            i += 6;
            break;
        }
    }
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

/*
 * The members of the containers still open wait on one stack shared by all
 * depths; a container takes its own when it closes. Small documents never
 * touch the heap for it.
 */
struct slot {
    struct hg_json *node;
    const char *key; /* objects only */
    size_t key_len;
};

struct frame {
    struct hg_json *node;
    size_t base;     /* its first member on the slot stack */
    const char *key; /* pending key of the next member */
    size_t key_len;
};

#define LOCAL_SLOTS 128

struct parser {
    struct hg_arena *arena;
    struct frame *stack;
    unsigned depth;
    unsigned max_depth;
    struct slot *slots;
    size_t top;
    size_t cap;
    struct slot *local_slots; /* the initial slots, not malloc'd */
    struct hg_json *root;
    const char *error;
    unsigned flags;
    int bmp_only; /* keys compare as bytes (see scan_text) */
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
    struct slot *slot;

    if (node == NULL)
        return 0;
    if (p->depth == 0) {
        p->root = node;
        return 1;
    }
    f = &p->stack[p->depth - 1];
    if (p->top - f->base >= HG_JSON_MAX_ITEMS) {
        p->error = f->node->type == HG_JSON_OBJECT ? "JSON object has too many members"
                                                   : "JSON array has too many elements";
        return 0;
    }
    if (p->top == p->cap) {
        size_t cap = p->cap * 2;
        struct slot *slots = malloc(cap * sizeof *slots);

        if (slots == NULL) {
            p->error = "out of memory";
            return 0;
        }
        memcpy(slots, p->slots, p->top * sizeof *slots);
        if (p->slots != p->local_slots)
            free(p->slots);
        p->slots = slots;
        p->cap = cap;
    }
    slot = &p->slots[p->top++];
    slot->node = node;
    slot->key = f->key;
    slot->key_len = f->key_len;
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
    f->base = p->top;
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

/* Key order: UTF-16 code units; without characters outside the BMP that is
 * plain byte order of the UTF-8. */
struct key_order_arg {
    const struct hg_json *obj;
    int bmp_only;
};

static int
key_order(const void *a, const void *b, void *arg)
{
    const struct key_order_arg *k = arg;
    const struct hg_json *obj = k->obj;
    unsigned ia = *(const unsigned *)a, ib = *(const unsigned *)b;
    size_t la = obj->key_lens[ia], lb = obj->key_lens[ib];

    if (k->bmp_only) {
        int c = memcmp(obj->keys[ia], obj->keys[ib], la < lb ? la : lb);

        return c ? c : (la > lb) - (la < lb);
    }
    return hg_utf16_cmp(obj->keys[ia], la, obj->keys[ib], lb);
}

/* Sorts the object's key index; small objects by insertion. */
static void
sort_keys(struct hg_json *n, int bmp_only)
{
    struct key_order_arg arg = {n, bmp_only};

    for (size_t i = 0; i < n->count; i++)
        n->sorted[i] = (unsigned)i;
    if (n->count > 16) {
        qsort_r(n->sorted, n->count, sizeof *n->sorted, key_order, &arg);
        return;
    }
    for (size_t i = 1; i < n->count; i++) {
        unsigned v = n->sorted[i];
        size_t j = i;

        while (j > 0 && key_order(&n->sorted[j - 1], &v, &arg) > 0) {
            n->sorted[j] = n->sorted[j - 1];
            j--;
        }
        n->sorted[j] = v;
    }
}

static int
close_container(struct parser *p)
{
    struct frame *f = &p->stack[--p->depth];
    struct hg_json *n = f->node;
    const struct slot *slots = p->slots + f->base;
    size_t count = p->top - f->base;

    p->top = f->base;
    n->count = count;
    if (count == 0)
        return 1;
    n->items = hg_arena_alloc(p->arena, count * sizeof *n->items);
    if (n->items == NULL)
        goto nomem;
    for (size_t i = 0; i < count; i++)
        n->items[i] = slots[i].node;
    if (n->type != HG_JSON_OBJECT)
        return 1;

    n->keys = hg_arena_alloc(p->arena, count * sizeof *n->keys);
    n->key_lens = hg_arena_alloc(p->arena, count * sizeof *n->key_lens);
    n->sorted = hg_arena_alloc(p->arena, count * sizeof *n->sorted);
    if (n->keys == NULL || n->key_lens == NULL || n->sorted == NULL)
        goto nomem;
    for (size_t i = 0; i < count; i++) {
        n->keys[i] = slots[i].key;
        n->key_lens[i] = slots[i].key_len;
    }
    sort_keys(n, p->bmp_only);
    for (size_t i = 1; i < count; i++) {
        unsigned a = n->sorted[i - 1], b = n->sorted[i];

        if (n->key_lens[a] == n->key_lens[b] &&
            memcmp(n->keys[a], n->keys[b], n->key_lens[a]) == 0) {
            p->error = "duplicate key in object";
            if (p->flags & HG_JSON_NAME_KEYS) {
                snprintf(p->error_buf, sizeof p->error_buf, "duplicate key \"%.*s\"",
                         (int)(n->key_lens[b] > 100 ? 100 : n->key_lens[b]), n->keys[b]);
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
        if (byte_class[(unsigned char)text[i]] != B_SPACE)
            return 0;
    return 1;
}

const struct hg_json *
hg_json_parse_text(struct hg_arena *arena, const char *text, size_t len, unsigned max_depth,
                   unsigned flags, char *err, size_t err_size, struct hg_json_text *info)
{
    struct frame local_frames[HG_JSON_MAX_DEPTH];
    struct slot local_slots[LOCAL_SLOTS];
    struct parser p;
    struct hg_json_text scanned;
    yajl_handle h = NULL;
    yajl_status st;
    const struct hg_json *root = NULL;
    const char *why;

    if ((why = scan_text((const unsigned char *)text, len, &scanned)) != NULL) {
        snprintf(err, err_size, "%s", why);
        return NULL;
    }
    if (info)
        *info = scanned;
    memset(&p, 0, sizeof p);
    p.arena = arena;
    p.max_depth = max_depth;
    p.flags = flags;
    p.bmp_only = scanned.bmp_only;
    p.slots = p.local_slots = local_slots;
    p.cap = LOCAL_SLOTS;
    p.stack = max_depth <= HG_JSON_MAX_DEPTH ? local_frames : calloc(max_depth, sizeof *p.stack);
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
    if (p.stack != local_frames)
        free(p.stack);
    if (p.slots != local_slots)
        free(p.slots);
    return root;
}

const struct hg_json *
hg_json_parse(struct hg_arena *arena, const char *text, size_t len, unsigned max_depth,
              unsigned flags, char *err, size_t err_size)
{
    return hg_json_parse_text(arena, text, len, max_depth, flags, err, err_size, NULL);
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
