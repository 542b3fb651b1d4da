/*
 * fuzz_canonical.c - the strict parser and the JSON.stringify writer.
 * Whatever parses must write in all three key orders, and what is written
 * must parse again and write back to the same bytes (a fixed point).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum hg_json_sort sorts[] = {HG_JSON_SORT_NONE, HG_JSON_SORT_TOPLEVEL,
                                              HG_JSON_SORT_DEEP};
    struct hg_arena *arena = hg_arena_new();
    const struct hg_json *root;
    char err[160];

    root = hg_json_parse(arena, (const char *)data, size, HG_JSON_MAX_DEPTH, 0, err, sizeof err);
    for (size_t i = 0; root && i < 3; i++) {
        struct hg_buf once, twice;
        const struct hg_json *again;

        hg_buf_init(&once, size * 8 + 64);
        hg_buf_init(&twice, size * 8 + 64);
        if (hg_json_write(&once, root, sorts[i]) != 0)
            abort();
        again = hg_json_parse(arena, once.data, once.len, HG_JSON_MAX_DEPTH, 0, err, sizeof err);
        if (again == NULL) {
            fprintf(stderr, "written JSON does not parse: %s\n", err);
            abort();
        }
        if (hg_json_write(&twice, again, sorts[i]) != 0 || twice.len != once.len ||
            memcmp(twice.data, once.data, once.len) != 0)
            abort();
        hg_buf_free(&once);
        hg_buf_free(&twice);
    }
    hg_arena_free(arena);
    return 0;
}
