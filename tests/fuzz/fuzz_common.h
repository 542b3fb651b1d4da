/*
 * fuzz_common.h - shared by the libFuzzer targets: a configuration with all
 * five providers, and splitting an input into headers and a body.
 *
 * Input layout for request targets: header lines "Name: value\n", a blank
 * line, then the body (everything after it, any bytes).
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hookgate.h"

#define FUZZ_NOW_MS 1795330000000LL

static const char fuzz_config_text[] =
    "{\"max_body\": 1048576, \"trusted_proxies\": [\"127.0.0.1/32\"],"
    " \"providers\": {"
    "  \"teamgo\": {\"secrets\": [\"tg-key\"]},"
    "  \"inline\": {\"secrets\": [\"in-secret\"]},"
    "  \"ombori\": {\"auth\": {\"tokens\": [\"tok\"], \"token_header\": \"X-Webhook-Token\","
    "               \"basic\": [\"u:p\"], \"allow_ips\": [\"203.0.113.0/24\"]}},"
    "  \"trutac\": {\"secrets\": [\"tt\"], \"tenants\": {\"t1\": {\"secrets\": [\"t1s\"]}}},"
    "  \"oneupvision\": {\"tenants\": {\"u-1\": {\"secrets\": [\"ou\"]}}}}}";

static struct hg_config *
fuzz_config(void)
{
    static struct hg_config *config;
    char err[512];

    if (config == NULL &&
        hg_config_parse("fuzz", fuzz_config_text, sizeof fuzz_config_text - 1, &config, err,
                        sizeof err) != HG_OK)
        abort();
    return config;
}

#define FUZZ_HEADERS_MAX 16

struct fuzz_request {
    struct hg_header headers[FUZZ_HEADERS_MAX];
    char *storage; /* NUL-separated copies of names and values */
    struct hg_request req;
};

/* Splits `data` into headers and body; the request borrows `fr->storage`. */
static void
fuzz_request_init(struct fuzz_request *fr, const uint8_t *data, size_t size)
{
    size_t i = 0, n = 0, used = 0;

    memset(fr, 0, sizeof *fr);
    fr->storage = malloc(size + 1);
    if (fr->storage == NULL)
        abort();
    while (i < size && n < FUZZ_HEADERS_MAX) {
        const uint8_t *nl = memchr(data + i, '\n', size - i);
        size_t end = nl ? (size_t)(nl - data) : size;
        const uint8_t *colon = memchr(data + i, ':', end - i);

        if (end == i) { /* blank line: the body follows */
            i++;
            break;
        }
        if (colon) {
            size_t nlen = (size_t)(colon - (data + i));
            size_t vstart = nlen + 1 + (colon + 1 < data + end && colon[1] == ' ');
            size_t vlen = end - i - vstart;

            fr->headers[n].name = fr->storage + used;
            memcpy(fr->storage + used, data + i, nlen);
            used += nlen;
            fr->storage[used++] = '\0';
            fr->headers[n].value = fr->storage + used;
            memcpy(fr->storage + used, data + i + vstart, vlen);
            used += vlen;
            fr->storage[used++] = '\0';
            /* names and values are NUL-terminated C strings in MHD too */
            if (strlen(fr->headers[n].name) == nlen && strlen(fr->headers[n].value) == vlen)
                n++;
        }
        i = nl ? end + 1 : size;
    }
    fr->req.headers = fr->headers;
    fr->req.header_count = n;
    fr->req.body = (const char *)data + (i < size ? i : size);
    fr->req.body_len = i < size ? size - i : 0;
    fr->req.client_addr = "127.0.0.1";
    fr->req.now_ms = FUZZ_NOW_MS;
}

static void
fuzz_request_free(struct fuzz_request *fr)
{
    free(fr->storage);
}

/* Every envelope of an accepted outcome must be valid JSON: checked by the
 * caller with the library's own strict parser. */
#endif
