/*
 * test_json.c - the strict JSON parser and the JSON.stringify-compatible
 * writer (lib/json.h).
 *
 * Every parse gets its own arena and a copy of the text in a buffer of
 * exactly `len` bytes with no NUL after it, so that under ASan a parser that
 * reads past `len` fails the test.
 */
#include <stdlib.h>

#include "buf.h"
#include "json.h"
#include "unit.h"

/* A literal and its length, embedded NULs included. */
#define TXT(s) (s), (sizeof(s) - 1)

struct parsed {
    struct hg_arena *arena;
    char *copy;
    const struct hg_json *root;
    char err[256];
};

/* Parses a private copy of text[0..len) (no NUL after it). */
static void
parse(struct parsed *p, const char *text, size_t len, unsigned max_depth, unsigned flags)
{
    p->arena = hg_arena_new();
    assert_non_null(p->arena);
    p->copy = malloc(len ? len : 1);
    assert_non_null(p->copy);
    memcpy(p->copy, text, len);
    p->err[0] = '\0';
    p->root = hg_json_parse(p->arena, p->copy, len, max_depth, flags, p->err, sizeof p->err);
}

static void
parsed_free(struct parsed *p)
{
    hg_arena_free(p->arena);
    free(p->copy);
}

/* ------------------------------------------------------------------------ */
/* hg_json_parse: accepted and refused documents                             */
/* ------------------------------------------------------------------------ */

struct parse_case {
    const char *name;
    const char *text;
    size_t len;
    unsigned flags;
    int ok;
};

static const struct parse_case parse_cases[] = {
    /* valid documents */
    {"empty-object", TXT("{}"), 0, 1},
    {"empty-array", TXT("[]"), 0, 1},
    {"all-types", TXT("{\"s\":\"x\",\"n\":-1.5e3,\"t\":true,\"f\":false,\"z\":null,\"a\":[1,{}]}"),
     0, 1},
    {"whitespace-around", TXT(" \t\r\n{ \"a\" : [ 1 , 2 ] }\n "), 0, 1},
    {"root-string", TXT("\"s\""), 0, 1},
    {"root-number", TXT("42"), 0, 1},
    {"root-null", TXT("null"), 0, 1},
    {"seed-1upvision",
     TXT("{\"punch\":{\"id\":2,\"punched_at\":\"2022-08-28T17:36:59.163781Z\",\"photo_url\":\"\","
         "\"body_temp\":null,\"person\":{\"id\":1,\"mobile_number\":\"+91 9999999999\","
         "\"people_custom_data\":{\"data\":[],\"form_schema_revision_id\":1},"
         "\"is_blacklisted\":false},\"space_id\":1}}"),
     0, 1},
    {"same-key-in-sibling-objects", TXT("[{\"x\":1},{\"x\":1}]"), 0, 1},
    {"same-key-nested", TXT("{\"a\":{\"a\":{\"a\":1}}}"), 0, 1},
    {"keys-differ-by-case", TXT("{\"a\":1,\"A\":1}"), 0, 1},
    {"valid-utf8-2-3-4-bytes", TXT("[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]"), 0, 1},
    {"valid-utf8-max-code-point", TXT("[\"\xf4\x8f\xbf\xbf\"]"), 0, 1},
    {"valid-utf8-around-surrogates", TXT("[\"\xed\x9f\xbf\xee\x80\x80\"]"), 0, 1},
    {"valid-utf8-in-key", TXT("{\"\xc3\xa9\":1}"), 0, 1},
    {"escaped-surrogate-pair", TXT("[\"\\ud83d\\ude00\"]"), 0, 1},
    {"escaped-surrogate-pair-uppercase", TXT("[\"\\uD83D\\uDE00\"]"), 0, 1},
    {"escaped-bmp", TXT("[\"\\u00e9\\u20AC\\uffff\"]"), 0, 1},
    {"all-simple-escapes", TXT("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]"), 0, 1},
    {"trailing-whitespace", TXT("{} \n\t\r"), 0, 1},
    {"comment-allowed-with-flag", TXT("{/* c */\"a\":1 // line\n}"), HG_JSON_ALLOW_COMMENTS, 1},
    {"leading-comment-allowed-with-flag", TXT("// head\n{\"a\":1}"), HG_JSON_ALLOW_COMMENTS, 1},

    /* invalid JSON */
    {"empty-text", TXT(""), 0, 0},
    {"only-whitespace", TXT("  \n "), 0, 0},
    {"unclosed-object", TXT("{"), 0, 0},
    {"unclosed-array", TXT("[1,2"), 0, 0},
    {"trailing-comma-array", TXT("[1,]"), 0, 0},
    {"trailing-comma-object", TXT("{\"a\":1,}"), 0, 0},
    {"missing-comma", TXT("{\"a\":1 \"b\":2}"), 0, 0},
    {"single-quotes", TXT("{'a':1}"), 0, 0},
    {"bare-key", TXT("{a:1}"), 0, 0},
    {"key-without-value", TXT("{\"a\"}"), 0, 0},
    {"non-string-key", TXT("{1:1}"), 0, 0},
    {"leading-zero", TXT("[01]"), 0, 0},
    {"nan", TXT("[NaN]"), 0, 0},
    {"plus-number", TXT("[+1]"), 0, 0},
    {"unterminated-string", TXT("[\"abc]"), 0, 0},
    {"raw-control-in-string", TXT("[\"a\tb\"]"), 0, 0},
    {"raw-newline-in-string", TXT("[\"a\nb\"]"), 0, 0},
    {"raw-nul-in-string", TXT("[\"a\0b\"]"), 0, 0},
    {"bad-escape", TXT("[\"\\x41\"]"), 0, 0},
    {"short-unicode-escape", TXT("[\"\\u12\"]"), 0, 0},
    {"bad-unicode-escape", TXT("[\"\\u12g4\"]"), 0, 0},
    {"bare-word", TXT("hello"), 0, 0},

    /* trailing garbage */
    {"trailing-word", TXT("{} x"), 0, 0},
    /* an unfinished token after the value: yajl alone accepts these */
    {"trailing-partial-string", TXT("{\"a\":{\"b\":1}}\""), 0, 0},
    {"trailing-partial-literal", TXT("[1] tr"), 0, 0},
    {"trailing-partial-number", TXT("{} -"), 0, 0},
    {"two-documents", TXT("{}{}"), 0, 0},
    {"extra-bracket", TXT("[1]]"), 0, 0},
    {"trailing-nul", TXT("{}\0"), 0, 0},
    {"trailing-comma", TXT("{},"), 0, 0},

    /* duplicate keys */
    {"duplicate-key", TXT("{\"a\":1,\"a\":2}"), 0, 0},
    {"duplicate-key-same-value", TXT("{\"a\":1,\"b\":0,\"a\":1}"), 0, 0},
    {"duplicate-key-nested", TXT("{\"x\":{\"b\":1,\"b\":2}}"), 0, 0},
    {"duplicate-key-in-array", TXT("[1,{\"k\":[],\"k\":{}}]"), 0, 0},
    {"duplicate-key-via-escape", TXT("{\"a\":1,\"\\u0061\":2}"), 0, 0},
    {"duplicate-empty-key", TXT("{\"\":1,\"\":2}"), 0, 0},

    /* invalid UTF-8 */
    {"utf8-overlong-2-byte", TXT("[\"\xc0\xaf\"]"), 0, 0},
    {"utf8-overlong-c1", TXT("[\"\xc1\xbf\"]"), 0, 0},
    {"utf8-overlong-3-byte", TXT("[\"\xe0\x80\xaf\"]"), 0, 0},
    {"utf8-overlong-4-byte", TXT("[\"\xf0\x80\x80\xaf\"]"), 0, 0},
    {"utf8-encoded-high-surrogate", TXT("[\"\xed\xa0\x80\"]"), 0, 0},
    {"utf8-encoded-low-surrogate", TXT("[\"\xed\xbf\xbf\"]"), 0, 0},
    {"utf8-above-10ffff", TXT("[\"\xf4\x90\x80\x80\"]"), 0, 0},
    {"utf8-f5-lead", TXT("[\"\xf5\x80\x80\x80\"]"), 0, 0},
    {"utf8-truncated-3-byte", TXT("[\"\xe2\x82\"]"), 0, 0},
    {"utf8-truncated-4-byte", TXT("[\"\xf0\x9f\x98\"]"), 0, 0},
    {"utf8-truncated-at-end", TXT("[\"\xe2\x82"), 0, 0},
    {"utf8-lone-continuation", TXT("[\"\x80\"]"), 0, 0},
    {"utf8-ff", TXT("[\"\xff\"]"), 0, 0},
    {"utf8-invalid-in-key", TXT("{\"\xc0\xaf\":1}"), 0, 0},

    /* escaped surrogates */
    {"escaped-lone-high-surrogate", TXT("[\"\\ud800\"]"), 0, 0},
    {"escaped-lone-low-surrogate", TXT("[\"\\udc00\"]"), 0, 0},
    {"escaped-high-then-text", TXT("[\"\\ud83dx\"]"), 0, 0},
    {"escaped-high-then-bmp-escape", TXT("[\"\\ud83d\\u0041\"]"), 0, 0},
    {"escaped-pair-reversed", TXT("[\"\\ude00\\ud83d\"]"), 0, 0},
    {"escaped-two-high-surrogates", TXT("[\"\\ud83d\\ud83d\"]"), 0, 0},
    {"escaped-lone-surrogate-in-key", TXT("{\"\\udfff\":1}"), 0, 0},

    /* comments */
    {"block-comment-refused", TXT("{/* c */\"a\":1}"), 0, 0},
    {"line-comment-refused", TXT("{\"a\":1 // c\n}"), 0, 0},
};

static void
test_parse_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < UNIT_ARRAY_LEN(parse_cases); i++) {
        const struct parse_case *c = &parse_cases[i];
        struct parsed p;
        parse(&p, c->text, c->len, HG_JSON_MAX_DEPTH, c->flags);
        if (c->ok) {
            if (!CHECK(c->name, p.root != NULL))
                print_error("    err: %s\n", p.err);
        } else {
            CHECK(c->name, p.root == NULL);
            CHECK(c->name, p.err[0] != '\0'); /* a refusal says why */
        }
        parsed_free(&p);
    }
    UNIT_END();
}

/* The length bounds the document: what follows it is not part of it. */
static void
test_parse_length_bounds(void **state)
{
    (void)state;
    struct hg_arena *arena = hg_arena_new();
    char err[128];
    assert_non_null(arena);
    CHECK("prefix-is-document",
          hg_json_parse(arena, "[1]garbage", 3, HG_JSON_MAX_DEPTH, 0, err, sizeof err) != NULL);
    CHECK("cut-document-refused",
          hg_json_parse(arena, "[1,2]", 3, HG_JSON_MAX_DEPTH, 0, err, sizeof err) == NULL);
    hg_arena_free(arena);
    UNIT_END();
}

/* ------------------------------------------------------------------------ */
/* Depth                                                                     */
/* ------------------------------------------------------------------------ */

enum nest_kind { NEST_ARRAY, NEST_OBJECT, NEST_MIXED };

/* A document whose containers nest `depth` deep (root = 1), innermost holding 1. */
static char *
nested(enum nest_kind kind, size_t depth, size_t *len)
{
    char *text = malloc(depth * 8 + 8);
    size_t n = 0;
    assert_non_null(text);
    for (size_t i = 0; i < depth; i++) {
        int object = kind == NEST_OBJECT || (kind == NEST_MIXED && i % 2 == 1);
        if (object) {
            memcpy(text + n, "{\"k\":", 5);
            n += 5;
        } else {
            text[n++] = '[';
        }
    }
    if (depth > 0)
        text[n++] = '1';
    for (size_t i = depth; i-- > 0;) {
        int object = kind == NEST_OBJECT || (kind == NEST_MIXED && i % 2 == 1);
        text[n++] = object ? '}' : ']';
    }
    *len = n;
    return text;
}

struct depth_case {
    const char *name;
    enum nest_kind kind;
    size_t depth;
    unsigned max_depth;
    int ok;
};

static const struct depth_case depth_cases[] = {
    {"array-1-of-1", NEST_ARRAY, 1, 1, 1},
    {"array-2-of-1", NEST_ARRAY, 2, 1, 0},
    {"array-3-of-3", NEST_ARRAY, 3, 3, 1},
    {"array-4-of-3", NEST_ARRAY, 4, 3, 0},
    {"object-1-of-1", NEST_OBJECT, 1, 1, 1},
    {"object-2-of-1", NEST_OBJECT, 2, 1, 0},
    {"object-5-of-5", NEST_OBJECT, 5, 5, 1},
    {"object-6-of-5", NEST_OBJECT, 6, 5, 0},
    {"mixed-4-of-4", NEST_MIXED, 4, 4, 1},
    {"mixed-5-of-4", NEST_MIXED, 5, 4, 0},
    {"array-max-of-max", NEST_ARRAY, HG_JSON_MAX_DEPTH, HG_JSON_MAX_DEPTH, 1},
    {"array-max+1-of-max", NEST_ARRAY, HG_JSON_MAX_DEPTH + 1, HG_JSON_MAX_DEPTH, 0},
    {"object-max-of-max", NEST_OBJECT, HG_JSON_MAX_DEPTH, HG_JSON_MAX_DEPTH, 1},
    {"object-max+1-of-max", NEST_OBJECT, HG_JSON_MAX_DEPTH + 1, HG_JSON_MAX_DEPTH, 0},
    {"mixed-max+1-of-max", NEST_MIXED, HG_JSON_MAX_DEPTH + 1, HG_JSON_MAX_DEPTH, 0},
    {"array-100000-of-max", NEST_ARRAY, 100000, HG_JSON_MAX_DEPTH, 0},
    {"scalar-root-of-1", NEST_ARRAY, 0, 1, 1}, /* "" is replaced below by "1" */
};

static void
test_parse_depth(void **state)
{
    (void)state;
    for (size_t i = 0; i < UNIT_ARRAY_LEN(depth_cases); i++) {
        const struct depth_case *c = &depth_cases[i];
        size_t len;
        char *text = nested(c->kind, c->depth, &len);
        if (c->depth == 0) {
            text[0] = '1';
            len = 1;
        }
        struct parsed p;
        parse(&p, text, len, c->max_depth, 0);
        if (!CHECK_INT(c->name, p.root != NULL, c->ok))
            print_error("    err: %s\n", p.err);
        parsed_free(&p);
        free(text);
    }
    /* An unbalanced flood of '[' is refused without building (or recursing) 1e6 deep. */
    {
        size_t len = 1000000;
        char *text = malloc(len);
        assert_non_null(text);
        memset(text, '[', len);
        struct parsed p;
        parse(&p, text, len, HG_JSON_MAX_DEPTH, 0);
        CHECK("unbalanced-1e6-brackets", p.root == NULL);
        parsed_free(&p);
        free(text);
    }
    UNIT_END();
}

/* ------------------------------------------------------------------------ */
/* Values: decoded strings, verbatim numbers, object order                   */
/* ------------------------------------------------------------------------ */

struct string_case {
    const char *name;
    const char *text; /* a one-element array holding a string */
    size_t len;
    const char *decoded;
    size_t decoded_len;
};

static const struct string_case string_cases[] = {
    {"simple-escapes", TXT("[\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"]"), TXT("a\"b\\c/d\b\f\n\r\t")},
    {"unicode-escape-2-byte", TXT("[\"\\u00e9\"]"), TXT("\xc3\xa9")},
    {"unicode-escape-3-byte", TXT("[\"\\u20AC\"]"), TXT("\xe2\x82\xac")},
    {"unicode-escape-ascii", TXT("[\"\\u0041\"]"), TXT("A")},
    {"surrogate-pair", TXT("[\"\\ud83d\\ude00\"]"), TXT("\xf0\x9f\x98\x80")},
    {"raw-utf8-kept", TXT("[\"\xf0\x9f\x98\x80 \xc3\xa9\"]"), TXT("\xf0\x9f\x98\x80 \xc3\xa9")},
    {"empty", TXT("[\"\"]"), TXT("")},
};

static void
test_parse_strings(void **state)
{
    (void)state;
    for (size_t i = 0; i < UNIT_ARRAY_LEN(string_cases); i++) {
        const struct string_case *c = &string_cases[i];
        struct parsed p;
        parse(&p, c->text, c->len, HG_JSON_MAX_DEPTH, 0);
        if (CHECK(c->name, p.root != NULL) && CHECK_INT(c->name, p.root->type, HG_JSON_ARRAY) &&
            CHECK_INT(c->name, p.root->count, 1)) {
            const struct hg_json *s = p.root->items[0];
            CHECK_INT(c->name, s->type, HG_JSON_STRING);
            CHECK_MEM(c->name, s->str, s->len, c->decoded, c->decoded_len);
            CHECK_INT(c->name, s->str[s->len], '\0');
        }
        parsed_free(&p);
    }
    UNIT_END();
}

static void
test_parse_numbers_verbatim(void **state)
{
    (void)state;
    static const char *const tokens[] = {
        "1.50",
        "-0",
        "1e+10",
        "0.1E-5",
        "100",
        "-12.34e0",
        "0",
        "12345678901234567890123",
        "1.0000000000000000000001",
        "-0.0",
    };
    char text[512] = "[";
    for (size_t i = 0; i < UNIT_ARRAY_LEN(tokens); i++) {
        if (i > 0)
            strcat(text, " , ");
        strcat(text, tokens[i]);
    }
    strcat(text, "]");

    struct parsed p;
    parse(&p, text, strlen(text), HG_JSON_MAX_DEPTH, 0);
    if (CHECK("numbers", p.root != NULL) &&
        CHECK_INT("numbers", p.root->count, UNIT_ARRAY_LEN(tokens))) {
        for (size_t i = 0; i < UNIT_ARRAY_LEN(tokens); i++) {
            const struct hg_json *n = p.root->items[i];
            CHECK_INT(tokens[i], n->type, HG_JSON_NUMBER);
            CHECK_MEM(tokens[i], n->str, n->len, tokens[i], strlen(tokens[i]));
        }
    }
    parsed_free(&p);
    UNIT_END();
}

static void
test_parse_object_order(void **state)
{
    (void)state;
    /* wire order b, a, "\xef\xbd\xa1" (U+FF61), "\xf0\x9f\x98\x80" (U+1F600) */
    static const char text[] = "{\"b\":1,\"a\":2,\"\xef\xbd\xa1\":3,\"\xf0\x9f\x98\x80\":4}";
    static const char *const wire[] = {"b", "a", "\xef\xbd\xa1", "\xf0\x9f\x98\x80"};
    static const unsigned sorted[] = {1, 0, 3, 2};
    struct parsed p;
    parse(&p, TXT(text), HG_JSON_MAX_DEPTH, 0);
    if (CHECK("object", p.root != NULL) && CHECK_INT("object", p.root->type, HG_JSON_OBJECT) &&
        CHECK_INT("object", p.root->count, 4)) {
        for (size_t i = 0; i < 4; i++) {
            CHECK_MEM(wire[i], p.root->keys[i], p.root->key_lens[i], wire[i], strlen(wire[i]));
            CHECK_INT(wire[i], p.root->sorted[i], sorted[i]);
            CHECK_INT(wire[i], p.root->items[i]->type, HG_JSON_NUMBER);
        }
    }
    parsed_free(&p);
    UNIT_END();
}

/* ------------------------------------------------------------------------ */
/* hg_json_get / hg_json_get_type                                            */
/* ------------------------------------------------------------------------ */

struct get_case {
    const char *name;
    const char *key;
    int any_type;           /* 1: hg_json_get, 0: hg_json_get_type with `type` */
    enum hg_json_type type; /* requested type */
    int found;
    enum hg_json_type found_type;
    const char *found_text; /* STRING or NUMBER text */
};

static const char get_doc[] = "{\"s\":\"text\",\"n\":1.50,\"t\":true,\"f\":false,\"z\":null,"
                              "\"a\":[1],\"o\":{\"inner\":\"x\"},\"\xc3\xa9\":\"accent\"}";

static const struct get_case get_cases[] = {
    {"get-string", "s", 1, HG_JSON_NULL, 1, HG_JSON_STRING, "text"},
    {"get-number", "n", 1, HG_JSON_NULL, 1, HG_JSON_NUMBER, "1.50"},
    {"get-true", "t", 1, HG_JSON_NULL, 1, HG_JSON_TRUE, NULL},
    {"get-false", "f", 1, HG_JSON_NULL, 1, HG_JSON_FALSE, NULL},
    {"get-null", "z", 1, HG_JSON_NULL, 1, HG_JSON_NULL, NULL},
    {"get-array", "a", 1, HG_JSON_NULL, 1, HG_JSON_ARRAY, NULL},
    {"get-object", "o", 1, HG_JSON_NULL, 1, HG_JSON_OBJECT, NULL},
    {"get-utf8-key", "\xc3\xa9", 1, HG_JSON_NULL, 1, HG_JSON_STRING, "accent"},
    {"get-absent", "missing", 1, HG_JSON_NULL, 0, HG_JSON_NULL, NULL},
    {"get-nested-key-not-at-top", "inner", 1, HG_JSON_NULL, 0, HG_JSON_NULL, NULL},
    {"get-empty-key-absent", "", 1, HG_JSON_NULL, 0, HG_JSON_NULL, NULL},
    {"get-case-sensitive", "S", 1, HG_JSON_NULL, 0, HG_JSON_NULL, NULL},
    {"type-string-match", "s", 0, HG_JSON_STRING, 1, HG_JSON_STRING, "text"},
    {"type-string-mismatch", "s", 0, HG_JSON_NUMBER, 0, HG_JSON_NULL, NULL},
    {"type-number-match", "n", 0, HG_JSON_NUMBER, 1, HG_JSON_NUMBER, "1.50"},
    {"type-number-as-string", "n", 0, HG_JSON_STRING, 0, HG_JSON_NULL, NULL},
    {"type-null-match", "z", 0, HG_JSON_NULL, 1, HG_JSON_NULL, NULL},
    {"type-true-match", "t", 0, HG_JSON_TRUE, 1, HG_JSON_TRUE, NULL},
    {"type-true-as-false", "t", 0, HG_JSON_FALSE, 0, HG_JSON_NULL, NULL},
    {"type-object-match", "o", 0, HG_JSON_OBJECT, 1, HG_JSON_OBJECT, NULL},
    {"type-array-as-object", "a", 0, HG_JSON_OBJECT, 0, HG_JSON_NULL, NULL},
    {"type-absent", "missing", 0, HG_JSON_STRING, 0, HG_JSON_NULL, NULL},
};

static void
test_get(void **state)
{
    (void)state;
    struct parsed p;
    parse(&p, TXT(get_doc), HG_JSON_MAX_DEPTH, 0);
    assert_non_null(p.root);
    for (size_t i = 0; i < UNIT_ARRAY_LEN(get_cases); i++) {
        const struct get_case *c = &get_cases[i];
        const struct hg_json *v =
            c->any_type ? hg_json_get(p.root, c->key) : hg_json_get_type(p.root, c->key, c->type);
        if (!CHECK_INT(c->name, v != NULL, c->found) || v == NULL)
            continue;
        CHECK_INT(c->name, v->type, c->found_type);
        if (c->found_text != NULL)
            CHECK_MEM(c->name, v->str, v->len, c->found_text, strlen(c->found_text));
    }
    /* Nested lookups, and lookups on what is not an object. */
    const struct hg_json *o = hg_json_get_type(p.root, "o", HG_JSON_OBJECT);
    const struct hg_json *inner = hg_json_get_type(o, "inner", HG_JSON_STRING);
    if (CHECK("nested", inner != NULL))
        CHECK_STR("nested", inner->str, "x");
    const struct hg_json *a = hg_json_get(p.root, "a");
    CHECK("get-on-array", hg_json_get(a, "0") == NULL);
    CHECK("get-on-string", hg_json_get(hg_json_get(p.root, "s"), "s") == NULL);
    CHECK("get-type-on-array", hg_json_get_type(a, "0", HG_JSON_NUMBER) == NULL);
    parsed_free(&p);
    UNIT_END();
}

/* ------------------------------------------------------------------------ */
/* hg_json_write                                                             */
/* ------------------------------------------------------------------------ */

struct write_case {
    const char *name;
    const char *input;
    size_t input_len;
    enum hg_json_sort sort;
    const char *expected; /* what JSON.stringify prints after the sort */
    size_t expected_len;
};

static const struct write_case write_cases[] = {
    {"none-keeps-wire-order", TXT("{\"b\":1,\"a\":{\"d\":1,\"c\":2}}"), HG_JSON_SORT_NONE,
     TXT("{\"b\":1,\"a\":{\"d\":1,\"c\":2}}")},
    {"toplevel-sorts-root-only", TXT("{\"b\":1,\"a\":{\"d\":1,\"c\":2}}"), HG_JSON_SORT_TOPLEVEL,
     TXT("{\"a\":{\"d\":1,\"c\":2},\"b\":1}")},
    {"deep-sorts-every-object", TXT("{\"b\":1,\"a\":{\"d\":1,\"c\":2}}"), HG_JSON_SORT_DEEP,
     TXT("{\"a\":{\"c\":2,\"d\":1},\"b\":1}")},
    {"deep-sorts-inside-arrays", TXT("[{\"b\":1,\"a\":[{\"z\":0,\"y\":0}]}]"), HG_JSON_SORT_DEEP,
     TXT("[{\"a\":[{\"y\":0,\"z\":0}],\"b\":1}]")},
    {"toplevel-root-array-untouched", TXT("[{\"b\":1,\"a\":2}]"), HG_JSON_SORT_TOPLEVEL,
     TXT("[{\"b\":1,\"a\":2}]")},
    {"toplevel-array-member-untouched", TXT("{\"y\":[{\"b\":1,\"a\":2}],\"x\":0}"),
     HG_JSON_SORT_TOPLEVEL, TXT("{\"x\":0,\"y\":[{\"b\":1,\"a\":2}]}")},
    {"ascii-order", TXT("{\"b\":1,\"B\":2,\"a\":3,\"_\":4,\"aa\":5,\"\":6,\"a b\":7}"),
     HG_JSON_SORT_DEEP, TXT("{\"\":6,\"B\":2,\"_\":4,\"a\":3,\"a b\":7,\"aa\":5,\"b\":1}")},
    /* UTF-16 order: z (007A) < e-acute (00E9) < U+1F600 (D83D DE00) < U+FF61 */
    {"utf16-order", TXT("{\"\xef\xbd\xa1\":1,\"\xf0\x9f\x98\x80\":2,\"z\":3,\"\xc3\xa9\":4}"),
     HG_JSON_SORT_DEEP, TXT("{\"z\":3,\"\xc3\xa9\":4,\"\xf0\x9f\x98\x80\":2,\"\xef\xbd\xa1\":1}")},
    {"utf16-order-escaped-keys", TXT("{\"\\uff61\":1,\"\\ud83d\\ude00\":2}"), HG_JSON_SORT_DEEP,
     TXT("{\"\xf0\x9f\x98\x80\":2,\"\xef\xbd\xa1\":1}")},
    {"sort-by-decoded-key", TXT("{\"\\u0062\":1,\"a\":2}"), HG_JSON_SORT_DEEP,
     TXT("{\"a\":2,\"b\":1}")},
    {"whitespace-removed", TXT(" {\n \"a\" : [ 1 , 2 ] ,\t\"b\" : { } , \"c\" : [ ] } "),
     HG_JSON_SORT_NONE, TXT("{\"a\":[1,2],\"b\":{},\"c\":[]}")},
    {"literals-and-numbers-verbatim", TXT("[true,false,null,1.50,-0,1e+10,0.1E-5,100]"),
     HG_JSON_SORT_DEEP, TXT("[true,false,null,1.50,-0,1e+10,0.1E-5,100]")},
    {"escapes-as-json-stringify",
     TXT("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0001\\u001F\\u000b\\u007f\\u00e9\\ud83d\\ude00\\u2028 "
         "/\"]"),
     HG_JSON_SORT_NONE,
     TXT("[\"\\\"\\\\/\\b\\f\\n\\r\\t\\u0001\\u001f\\u000b\x7f\xc3\xa9\xf0\x9f\x98\x80\xe2\x80\xa8"
         " /\"]")},
    {"control-char-lowercase-hex", TXT("[\"\\u001F\\u001B\\u000E\"]"), HG_JSON_SORT_NONE,
     TXT("[\"\\u001f\\u001b\\u000e\"]")},
    {"key-escaped", TXT("{\"a\\\"b\\n\":\"\\u001f\"}"), HG_JSON_SORT_DEEP,
     TXT("{\"a\\\"b\\n\":\"\\u001f\"}")},
    {"raw-utf8-as-is", TXT("{\"k\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}"), HG_JSON_SORT_NONE,
     TXT("{\"k\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}")},
    {"root-string", TXT("\"x\""), HG_JSON_SORT_DEEP, TXT("\"x\"")},
    {"root-number", TXT("12.0"), HG_JSON_SORT_DEEP, TXT("12.0")},
    {"empty-containers", TXT("{\"a\":{},\"b\":[],\"c\":[{}]}"), HG_JSON_SORT_DEEP,
     TXT("{\"a\":{},\"b\":[],\"c\":[{}]}")},
};

static void
test_write(void **state)
{
    (void)state;
    for (size_t i = 0; i < UNIT_ARRAY_LEN(write_cases); i++) {
        const struct write_case *c = &write_cases[i];
        struct parsed p;
        parse(&p, c->input, c->input_len, HG_JSON_MAX_DEPTH, 0);
        if (!CHECK(c->name, p.root != NULL)) {
            print_error("    err: %s\n", p.err);
            parsed_free(&p);
            continue;
        }
        struct hg_buf buf;
        hg_buf_init(&buf, 1 << 16);
        if (CHECK_INT(c->name, hg_json_write(&buf, p.root, c->sort), 0))
            CHECK_MEM(c->name, buf.data, buf.len, c->expected, c->expected_len);
        hg_buf_free(&buf);
        parsed_free(&p);
    }
    UNIT_END();
}

/* The output round-trips: written text parses back and writes the same. */
static void
test_write_roundtrip(void **state)
{
    (void)state;
    for (size_t i = 0; i < UNIT_ARRAY_LEN(write_cases); i++) {
        const struct write_case *c = &write_cases[i];
        struct parsed p;
        parse(&p, c->expected, c->expected_len, HG_JSON_MAX_DEPTH, 0);
        if (!CHECK(c->name, p.root != NULL)) {
            parsed_free(&p);
            continue;
        }
        struct hg_buf buf;
        hg_buf_init(&buf, 1 << 16);
        if (CHECK_INT(c->name, hg_json_write(&buf, p.root, HG_JSON_SORT_NONE), 0))
            CHECK_MEM(c->name, buf.data, buf.len, c->expected, c->expected_len);
        hg_buf_free(&buf);
        parsed_free(&p);
    }
    UNIT_END();
}

/* Over the buffer's cap the writer fails; it never truncates silently. */
static void
test_write_cap(void **state)
{
    (void)state;
    static const char text[] = "{\"key\":\"a value longer than the cap\"}";
    struct parsed p;
    parse(&p, TXT(text), HG_JSON_MAX_DEPTH, 0);
    assert_non_null(p.root);
    struct hg_buf small;
    hg_buf_init(&small, 8);
    CHECK_INT("over-cap", hg_json_write(&small, p.root, HG_JSON_SORT_NONE), -1);
    hg_buf_free(&small);
    struct hg_buf exact;
    hg_buf_init(&exact, sizeof text - 1 + 1);
    CHECK_INT("fits-cap", hg_json_write(&exact, p.root, HG_JSON_SORT_NONE), 0);
    CHECK_MEM("fits-cap", exact.data, exact.len, text, sizeof text - 1);
    hg_buf_free(&exact);
    parsed_free(&p);
    UNIT_END();
}

/* ------------------------------------------------------------------------ */
/* hg_utf8_validate                                                          */
/* ------------------------------------------------------------------------ */

struct utf8_case {
    const char *name;
    const char *text;
    size_t len;
    int rc;
};

static const struct utf8_case utf8_cases[] = {
    {"empty", TXT(""), 0},
    {"ascii", TXT("hello, world"), 0},
    {"2-byte", TXT("\xc3\xa9"), 0},
    {"2-byte-lowest", TXT("\xc2\x80"), 0},
    {"3-byte", TXT("\xe2\x82\xac"), 0},
    {"3-byte-lowest", TXT("\xe0\xa0\x80"), 0},
    {"4-byte", TXT("\xf0\x9f\x98\x80"), 0},
    {"4-byte-lowest", TXT("\xf0\x90\x80\x80"), 0},
    {"max-code-point", TXT("\xf4\x8f\xbf\xbf"), 0},
    {"before-surrogates", TXT("\xed\x9f\xbf"), 0},
    {"after-surrogates", TXT("\xee\x80\x80"), 0},
    {"ufffe-ffff", TXT("\xef\xbf\xbe\xef\xbf\xbf"), 0},
    {"overlong-slash", TXT("\xc0\xaf"), -1},
    {"overlong-c1", TXT("\xc1\xbf"), -1},
    {"overlong-nul", TXT("\xc0\x80"), -1},
    {"overlong-3-byte", TXT("\xe0\x80\xaf"), -1},
    {"overlong-3-byte-max", TXT("\xe0\x9f\xbf"), -1},
    {"overlong-4-byte", TXT("\xf0\x80\x80\xaf"), -1},
    {"overlong-4-byte-max", TXT("\xf0\x8f\xbf\xbf"), -1},
    {"high-surrogate", TXT("\xed\xa0\x80"), -1},
    {"low-surrogate", TXT("\xed\xbf\xbf"), -1},
    {"surrogate-pair-encoded", TXT("\xed\xa0\xbd\xed\xb8\x80"), -1},
    {"above-10ffff", TXT("\xf4\x90\x80\x80"), -1},
    {"f5-lead", TXT("\xf5\x80\x80\x80"), -1},
    {"f8-lead", TXT("\xf8\x88\x80\x80\x80"), -1},
    {"ff-byte", TXT("\xff"), -1},
    {"fe-byte", TXT("\xfe"), -1},
    {"lone-continuation", TXT("\x80"), -1},
    {"continuation-after-ascii", TXT("a\xbf"), -1},
    {"truncated-2-byte", TXT("\xc3"), -1},
    {"truncated-3-byte", TXT("\xe2\x82"), -1},
    {"truncated-4-byte", TXT("\xf0\x9f\x98"), -1},
    {"truncated-then-ascii",
     TXT("\xe2\x82"
         "a"),
     -1},
    {"bad-second-byte", TXT("\xc3\x28"), -1},
    {"too-many-continuations", TXT("\xc3\xa9\xa9"), -1},
};

static void
test_utf8_validate(void **state)
{
    (void)state;
    for (size_t i = 0; i < UNIT_ARRAY_LEN(utf8_cases); i++) {
        const struct utf8_case *c = &utf8_cases[i];
        char *copy = malloc(c->len ? c->len : 1);
        assert_non_null(copy);
        memcpy(copy, c->text, c->len);
        CHECK_INT(c->name, hg_utf8_validate(copy, c->len), c->rc);
        free(copy);
    }
    /* The length is honoured: a sequence cut by `len` is truncated. */
    CHECK_INT("cut-by-length", hg_utf8_validate("\xc3\xa9", 1), -1);
    CHECK_INT("valid-prefix", hg_utf8_validate("ab\xff", 2), 0);
    UNIT_END();
}

/* ------------------------------------------------------------------------ */
/* hg_utf16_cmp                                                              */
/* ------------------------------------------------------------------------ */

struct cmp_case {
    const char *name;
    const char *a;
    size_t a_len;
    const char *b;
    size_t b_len;
    int sign;
};

static const struct cmp_case cmp_cases[] = {
    {"equal", TXT("abc"), TXT("abc"), 0},
    {"both-empty", TXT(""), TXT(""), 0},
    {"less", TXT("a"), TXT("b"), -1},
    {"greater", TXT("b"), TXT("a"), 1},
    {"prefix-first", TXT("a"), TXT("aa"), -1},
    {"prefix-second", TXT("aa"), TXT("a"), 1},
    {"empty-first", TXT(""), TXT("a"), -1},
    {"uppercase-before-lowercase", TXT("Z"), TXT("a"), -1},
    {"ascii-before-latin1", TXT("z"), TXT("\xc3\xa9"), -1},
    {"latin1-before-cjk", TXT("\xc3\xa9"), TXT("\xe4\xb8\x80"), -1},
    /* U+FF61 (FF61) after U+1F600 (D83D DE00): UTF-16, not code point order */
    {"bmp-ff61-after-astral", TXT("\xef\xbd\xa1"), TXT("\xf0\x9f\x98\x80"), 1},
    {"astral-before-bmp-ff61", TXT("\xf0\x9f\x98\x80"), TXT("\xef\xbd\xa1"), -1},
    {"bmp-e000-after-astral", TXT("\xee\x80\x80"), TXT("\xf0\x90\x80\x80"), 1},
    {"bmp-d7ff-before-astral", TXT("\xed\x9f\xbf"), TXT("\xf0\x90\x80\x80"), -1},
    {"astral-low-surrogate-order", TXT("\xf0\x9f\x98\x80"), TXT("\xf0\x9f\x98\x81"), -1},
    {"astral-high-surrogate-order", TXT("\xf0\x9f\x98\x80"), TXT("\xf0\x90\x80\x80"), 1},
    {"common-prefix-then-differ", TXT("key\xef\xbd\xa1"), TXT("key\xf0\x9f\x98\x80"), 1},
};

static int
sign_of(int v)
{
    return (v > 0) - (v < 0);
}

static void
test_utf16_cmp(void **state)
{
    (void)state;
    for (size_t i = 0; i < UNIT_ARRAY_LEN(cmp_cases); i++) {
        const struct cmp_case *c = &cmp_cases[i];
        CHECK_INT(c->name, sign_of(hg_utf16_cmp(c->a, c->a_len, c->b, c->b_len)), c->sign);
    }
    /* Lengths are honoured, the strings need no NUL. */
    CHECK_INT("length-honoured", sign_of(hg_utf16_cmp("ab", 1, "ac", 1)), 0);
    UNIT_END();
}

/* ------------------------------------------------------------------------ */
/* hg_json_parse_text: what the pass over the text learns                    */
/* ------------------------------------------------------------------------ */

struct text_case {
    const char *name;
    const char *text;
    size_t len;
    int compact;
    int bmp_only;
};

static const struct text_case text_cases[] = {
    {"compact", TXT("{\"a\":[1,2],\"b\":\"x y\"}"), 1, 1},
    {"space-in-string-only", TXT("{\"a b\":\" \\t\\n \"}"), 1, 1},
    {"space-after-colon", TXT("{\"a\": 1}"), 0, 1},
    {"newline-between-members", TXT("{\"a\":1,\n\"b\":2}"), 0, 1},
    {"trailing-newline", TXT("{\"a\":1}\n"), 0, 1},
    {"leading-tab", TXT("\t[]"), 0, 1},
    {"escaped-quote-then-space", TXT("[\"a\\\" b\",1]"), 1, 1},
    {"escaped-backslash-ends-string", TXT("[\"a\\\\\", 1]"), 0, 1},
    {"raw-bmp", TXT("{\"\xc3\xa9\xef\xbd\xa1\":1}"), 1, 1},
    {"raw-astral", TXT("{\"\xf0\x9f\x98\x80\":1}"), 1, 0},
    {"escaped-bmp", TXT("{\"\\uffff\\u00e9\":1}"), 1, 1},
    {"escaped-astral", TXT("{\"\\ud83d\\ude00\":1}"), 1, 0},
};

static void
test_parse_text_info(void **state)
{
    (void)state;
    for (size_t i = 0; i < UNIT_ARRAY_LEN(text_cases); i++) {
        const struct text_case *c = &text_cases[i];
        struct hg_arena *arena = hg_arena_new();
        struct hg_json_text info = {-1, -1};
        char err[128];

        assert_non_null(arena);
        if (CHECK(c->name, hg_json_parse_text(arena, c->text, c->len, HG_JSON_MAX_DEPTH, 0, err,
                                              sizeof err, &info) != NULL)) {
            CHECK_INT(c->name, info.compact, c->compact);
            CHECK_INT(c->name, info.bmp_only, c->bmp_only);
        }
        hg_arena_free(arena);
    }
    UNIT_END();
}

/*
 * Objects past 16 members are sorted another way than small ones: the same
 * order and the same duplicate check either way, with and without
 * characters outside the BMP (which change how keys are compared).
 */
static void
test_parse_large_objects(void **state)
{
    (void)state;
    for (int astral = 0; astral < 2; astral++) {
        for (int dup = 0; dup < 2; dup++) {
            for (size_t members = 2; members <= 40; members += 19) {
                struct hg_buf in, out, want;
                struct parsed p;
                char name[64];

                hg_buf_init(&in, 1 << 16);
                hg_buf_init(&out, 1 << 16);
                hg_buf_init(&want, 1 << 16);
                snprintf(name, sizeof name, "members-%zu%s%s", members, astral ? "-astral" : "",
                         dup ? "-dup" : "");
                /* keys k<n> in descending order, plus U+FF61 and U+1F600 */
                hg_buf_appendc(&in, '{');
                for (size_t i = members; i-- > 0;)
                    hg_buf_appendf(&in, "\"k%02zu\":%zu,", i, i);
                if (dup)
                    hg_buf_appendf(&in, "\"k%02zu\":0,", members / 2);
                hg_buf_appends(&in, astral ? "\"\xef\xbd\xa1\":1,\"\xf0\x9f\x98\x80\":2}"
                                           : "\"\xef\xbd\xa1\":1}");
                hg_buf_appendc(&want, '{');
                for (size_t i = 0; i < members; i++)
                    hg_buf_appendf(&want, "\"k%02zu\":%zu,", i, i);
                hg_buf_appends(&want, astral ? "\"\xf0\x9f\x98\x80\":2,\"\xef\xbd\xa1\":1}"
                                             : "\"\xef\xbd\xa1\":1}");
                parse(&p, in.data, in.len, HG_JSON_MAX_DEPTH, 0);
                if (dup) {
                    CHECK(name, p.root == NULL && strcmp(p.err, "duplicate key in object") == 0);
                } else if (CHECK(name, p.root != NULL)) {
                    CHECK(name, hg_json_write(&out, p.root, HG_JSON_SORT_DEEP) == 0);
                    CHECK_STR(name, out.data, want.data);
                    CHECK(name, hg_json_get(p.root, "k01") != NULL &&
                                    strcmp(hg_json_get(p.root, "k01")->str, "1") == 0);
                }
                parsed_free(&p);
                hg_buf_free(&in);
                hg_buf_free(&out);
                hg_buf_free(&want);
            }
        }
    }
    UNIT_END();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_cases),
        cmocka_unit_test(test_parse_length_bounds),
        cmocka_unit_test(test_parse_depth),
        cmocka_unit_test(test_parse_strings),
        cmocka_unit_test(test_parse_numbers_verbatim),
        cmocka_unit_test(test_parse_object_order),
        cmocka_unit_test(test_get),
        cmocka_unit_test(test_write),
        cmocka_unit_test(test_write_roundtrip),
        cmocka_unit_test(test_write_cap),
        cmocka_unit_test(test_utf8_validate),
        cmocka_unit_test(test_utf16_cmp),
        cmocka_unit_test(test_parse_text_info),
        cmocka_unit_test(test_parse_large_objects),
    };
    return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
