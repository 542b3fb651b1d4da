/*
 * json.h - strict JSON parsing into a read-only tree, and serialisation
 * (private).
 *
 * The parser runs yajl's callback parser and builds its own tree in an arena,
 * so that nesting depth is capped before anything deep is built, duplicate
 * keys are refused, number tokens keep their exact text, and every object
 * keeps both its wire order and its keys' order by UTF-16 code units.
 */
#ifndef HG_JSON_H
#define HG_JSON_H

#include <stddef.h>

#include "buf.h"

#define HG_JSON_MAX_DEPTH 64
/* Members of one object or elements of one array, at most. */
#define HG_JSON_MAX_ITEMS 10000
/* Values in one document, at most (bounds the tree built for a body). */
#define HG_JSON_MAX_NODES 100000

enum hg_json_type {
    HG_JSON_NULL,
    HG_JSON_FALSE,
    HG_JSON_TRUE,
    HG_JSON_NUMBER,
    HG_JSON_STRING,
    HG_JSON_ARRAY,
    HG_JSON_OBJECT
};

struct hg_json {
    enum hg_json_type type;
    /* STRING: decoded UTF-8 (NUL-terminated); NUMBER: the token as sent. */
    const char *str;
    size_t len;
    /* ARRAY and OBJECT: `count` children; OBJECT also has keys. */
    struct hg_json **items;
    const char **keys;
    size_t *key_lens;
    unsigned *sorted; /* OBJECT: indexes of keys in UTF-16 code unit order */
    size_t count;
};

enum hg_json_flags {
    HG_JSON_ALLOW_COMMENTS = 1 << 0, /* for configuration files */
    HG_JSON_NAME_KEYS = 1 << 1,      /* errors may quote keys (never for request bodies) */
};

/*
 * Parses `len` bytes (no NUL needed). On success returns the root; on
 * failure returns NULL and writes a one-line reason into err. Refused:
 * invalid JSON, invalid UTF-8 (overlong forms, surrogates, escapes of lone
 * surrogates), nesting deeper than max_depth, more than HG_JSON_MAX_ITEMS
 * members in one object or array, more than HG_JSON_MAX_NODES values in all,
 * duplicate keys in an object, trailing garbage. Both limits are checked as
 * the text is read, before the tree grows past them.
 */
const struct hg_json *hg_json_parse(struct hg_arena *arena, const char *text, size_t len,
                                    unsigned max_depth, unsigned flags, char *err, size_t err_size);

/* What hg_json_parse_text learns about the text on the way. */
struct hg_json_text {
    int compact;  /* no white space outside strings: embeddable as it is */
    int bmp_only; /* no character outside the Basic Multilingual Plane */
};

/* hg_json_parse, also filling `info` (may be NULL) when the text parses. */
const struct hg_json *hg_json_parse_text(struct hg_arena *arena, const char *text, size_t len,
                                         unsigned max_depth, unsigned flags, char *err,
                                         size_t err_size, struct hg_json_text *info);

/* Object member lookup by key; NULL when absent or when obj is no object. */
const struct hg_json *hg_json_get(const struct hg_json *obj, const char *key);
/* The member of `type`, or NULL. */
const struct hg_json *hg_json_get_type(const struct hg_json *obj, const char *key,
                                       enum hg_json_type type);

/* Validates UTF-8 strictly: returns 0 when valid, -1 otherwise. */
int hg_utf8_validate(const char *text, size_t len);

/* Compares two UTF-8 strings by UTF-16 code units (JavaScript's sort order). */
int hg_utf16_cmp(const char *a, size_t a_len, const char *b, size_t b_len);

enum hg_json_sort {
    HG_JSON_SORT_NONE,     /* keys in wire order */
    HG_JSON_SORT_TOPLEVEL, /* only the root object's keys sorted */
    HG_JSON_SORT_DEEP      /* every object's keys sorted */
};

/*
 * Serialises `node` compactly, as JavaScript's JSON.stringify would print the
 * parsed value (numbers keep their wire text). Returns 0 or -1 (buffer cap).
 */
int hg_json_write(struct hg_buf *buf, const struct hg_json *node, enum hg_json_sort sort);

#endif
