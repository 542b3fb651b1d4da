/*
 * fuzz_envelope.c - normalization and envelope building on accepted input:
 * the harness signs the fuzzed body (TruTac, inline over its canonical
 * form is too costly to reach here; TruTac and 1UPVISION sign the raw body),
 * so every body that is JSON reaches the envelope code. Every envelope must
 * be valid JSON whose "data" writes back to the body's value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "json.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char mac[HG_DIGEST_MAX];
    char hex[2 * HG_DIGEST_MAX + 1], sig[2 * HG_DIGEST_MAX + 8], event[64];
    struct hg_header headers[4];
    struct hg_request req = {0};
    struct hg_outcome *o;
    int oneup;

    if (size < 2)
        return 0;
    oneup = data[0] & 1;
    /* the event name comes from the input too: up to 16 bytes after byte 0 */
    size_t elen = data[1] % 17;
    if (size < 2 + elen)
        return 0;
    memcpy(event, data + 2, elen);
    event[elen] = '\0';
    if (strlen(event) != elen)
        return 0; /* a header value cannot hold NUL */
    req.body = (const char *)data + 2 + elen;
    req.body_len = size - 2 - elen;
    req.now_ms = FUZZ_NOW_MS;
    req.client_addr = "127.0.0.1";
    if (oneup) {
        hg_hmac(HG_DIGEST_SHA256, "ou", 2, req.body, req.body_len, mac);
        hg_hex_encode(mac, HG_SHA256_LEN, hex);
        headers[0] = (struct hg_header){"X-ServiceHook-Event", event};
        headers[1] = (struct hg_header){"X-ServiceHook-Timestamp", "2026-11-22T06:46:40Z"};
        headers[2] = (struct hg_header){"X-ServiceHook-UUID", "u-1"};
        headers[3] = (struct hg_header){"X-ServiceHook-Signature", hex};
        req.header_count = 4;
    } else {
        hg_hmac(HG_DIGEST_SHA1, "tt", 2, req.body, req.body_len, mac);
        hg_hex_encode(mac, HG_SHA1_LEN, hex);
        snprintf(sig, sizeof sig, "sha1=%s", hex);
        headers[0] = (struct hg_header){"TT-Hook-Event", event};
        headers[1] = (struct hg_header){"TT-Hook-Signature", sig};
        req.header_count = 2;
    }
    req.headers = headers;
    o = hg_process(fuzz_config(), &req);
    if (o == NULL)
        abort();
    size_t n;
    const struct hg_event *ev = hg_outcome_events(o, &n);
    for (size_t i = 0; i < n; i++) {
        struct hg_arena *arena = hg_arena_new();
        char err[160];
        const struct hg_json *env = hg_json_parse(arena, ev[i].envelope, ev[i].envelope_len,
                                                  HG_JSON_MAX_DEPTH + 2, 0, err, sizeof err);

        if (env == NULL || hg_json_get(env, "data") == NULL) {
            fprintf(stderr, "envelope is not valid JSON: %s\n", err);
            abort();
        }
        hg_arena_free(arena);
    }
    hg_outcome_free(o);
    return 0;
}
