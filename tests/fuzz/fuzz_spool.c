/*
 * fuzz_spool.c - the spool record reader. Inputs that start with the record
 * magic are read as they are (framing, lengths, CRC); any other input is
 * framed as one record with a correct CRC around it, so the payload decoder
 * gets coverage a fuzzer could not reach by guessing CRCs. A record that
 * decodes must re-encode to the same bytes (its spooled-at time, which the
 * encoder takes as an argument, is passed back in).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void check(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *framed;

    if (size >= 4 && memcmp(data, "HGS1", 4) == 0) {
        check(data, size);
        return 0;
    }
    framed = malloc(size + 20);
    if (framed == NULL)
        return 0;
    memcpy(framed, "HGS1", 4);
    put32(framed + 4, (uint32_t)size);
    memset(framed + 12, 0, 8); /* spooled-at time 0 */
    memcpy(framed + 20, data, size);
    put32(framed + 8, hg_crc32c(hg_crc32c(0, framed + 12, 8), framed + 20, size));
    check(framed, size + 20);
    free(framed);
    return 0;
}

static void
check(const uint8_t *data, size_t size)
{
    size_t off = 0;

    while (off < size) {
        struct hg_arena *arena = hg_arena_new();
        struct hg_publish_job job;
        int64_t ms = 0;
        long n = hg_spool_decode(data + off, size - off, arena, &job, &ms);

        if (n > 0) {
            struct hg_buf again;

            if ((size_t)n > size - off)
                abort();
            hg_buf_init(&again, (size_t)n + 64);
            if (hg_spool_encode(&again, &job, ms) != 0 || again.len != (size_t)n ||
                memcmp(again.data, data + off, (size_t)n) != 0)
                abort();
            hg_buf_free(&again);
            off += (size_t)n;
        }
        hg_arena_free(arena);
        if (n <= 0)
            break;
    }
}
