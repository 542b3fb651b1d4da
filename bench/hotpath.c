/*
 * hotpath.c - the request pipeline alone (hg_process: detect, verify, parse,
 * normalize, build the envelopes), without HTTP or Redis, on the requests
 * bench/gen.py writes, with one arena reused as a connection reuses it. A measuring tool for the
 * hot path: run it under `valgrind --tool=callgrind` for instruction counts that do not depend on
 * what else the machine is doing, or alone for a rough time per request.
 *
 *   build/hotpath CONFIG REQUESTS-FILE [ROUNDS]
 *
 * REQUESTS-FILE holds records "<length>\n<raw HTTP/1.1 request>" (gen.py's
 * OUT.<k> files). Every request must be accepted (or it exits 1), so a change
 * that breaks verification cannot pass for a speed-up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "hookgate.h"

#define MAX_REQ_HEADERS 64

struct raw_request {
    char *text;
    struct hg_header headers[MAX_REQ_HEADERS];
    size_t header_count;
    const char *body;
    size_t body_len;
    char *provider;
    char *tenant;
};

static void
die(const char *what)
{
    fprintf(stderr, "hotpath: %s\n", what);
    exit(2);
}

/* Splits a raw request in place: "POST /webhooks/<provider>[/<tenant>] ...". */
static void
parse_request(struct raw_request *r, char *text, size_t len)
{
    char *line, *eol, *end = text + len, *p;

    memset(r, 0, sizeof *r);
    r->text = text;
    if ((eol = strstr(text, "\r\n")) == NULL)
        die("no request line");
    *eol = '\0';
    if (strncmp(text, "POST /webhooks/", 15) != 0)
        die("not a POST to /webhooks/");
    r->provider = text + 15;
    if ((p = strchr(r->provider, ' ')) == NULL)
        die("bad request line");
    *p = '\0';
    if ((p = strchr(r->provider, '/')) != NULL) {
        *p = '\0';
        r->tenant = p + 1;
    }
    for (line = eol + 2; line < end; line = eol + 2) {
        if ((eol = strstr(line, "\r\n")) == NULL)
            die("header not terminated");
        if (eol == line)
            break;
        *eol = '\0';
        if ((p = strchr(line, ':')) == NULL || r->header_count == MAX_REQ_HEADERS)
            die("bad header");
        *p++ = '\0';
        while (*p == ' ')
            p++;
        r->headers[r->header_count].name = line;
        r->headers[r->header_count].value = p;
        r->header_count++;
    }
    r->body = eol + 2;
    r->body_len = (size_t)(end - r->body);
}

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
    struct hg_config *config;
    struct raw_request *reqs = NULL;
    size_t n = 0, cap = 0, events = 0;
    char err[512], lenline[32];
    long rounds = argc > 3 ? atol(argv[3]) : 1;
    struct hg_arena *arena;
    FILE *f;
    double t0, t1;

    if (argc < 3)
        die("usage: hotpath CONFIG REQUESTS-FILE [ROUNDS]");
    if (hg_config_load(argv[1], &config, err, sizeof err) != HG_OK)
        die(err);
    if ((f = fopen(argv[2], "rb")) == NULL)
        die("cannot open the requests file");
    while (fgets(lenline, sizeof lenline, f)) {
        size_t len = strtoul(lenline, NULL, 10);
        char *text = malloc(len + 1);

        if (text == NULL || fread(text, 1, len, f) != len)
            die("short record");
        text[len] = '\0';
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            if ((reqs = realloc(reqs, cap * sizeof *reqs)) == NULL)
                die("out of memory");
        }
        parse_request(&reqs[n++], text, len);
    }
    fclose(f);
    if (n == 0)
        die("no requests");

    if ((arena = hg_arena_new()) == NULL)
        die("out of memory");
    t0 = now_s();
    for (long round = 0; round < rounds; round++) {
        for (size_t i = 0; i < n; i++) {
            struct hg_request req = {
                .headers = reqs[i].headers,
                .header_count = reqs[i].header_count,
                .body = reqs[i].body,
                .body_len = reqs[i].body_len,
                .route_provider = reqs[i].provider,
                .route_tenant = reqs[i].tenant,
                .client_addr = "127.0.0.1",
                .now_ms = hg_now_ms(),
            };
            struct hg_outcome *o = hg_process_in(arena, config, &req);
            size_t count;

            if (hg_outcome_status(o) != HG_OK) {
                fprintf(stderr, "hotpath: request %zu refused: %s\n", i, hg_outcome_message(o));
                return 1;
            }
            hg_outcome_events(o, &count);
            events += count;
            hg_outcome_free(o);
            hg_arena_reset(arena); /* as a connection does between its requests */
        }
    }
    t1 = now_s();
    printf("%zu requests x %ld rounds, %zu events: %.2f us per request\n", n, rounds, events,
           (t1 - t0) * 1e6 / ((double)n * (double)rounds));
    for (size_t i = 0; i < n; i++)
        free(reqs[i].text);
    free(reqs);
    hg_arena_free(arena);
    hg_config_free(config);
    return 0;
}
