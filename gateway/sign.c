/*
 * sign.c - `hookgate sign <provider> --secret S [...] < body.json`: prints
 * the request the provider would send, or a ready curl command.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define BODY_MAX (64 * 1024 * 1024)

static void
sign_usage(FILE *out)
{
    fprintf(out,
            "usage: hookgate sign PROVIDER --secret S [--tenant T] [--event E] [--prefix P]\n"
            "                     [--header NAME | --basic] [--curl URL] < body.json\n"
            "\n"
            "Prints the request PROVIDER would send for the JSON on standard input: the path,\n"
            "the headers and the body (for teamgo and inline, the signed body built around\n"
            "it), or with --curl URL a curl command that posts it to URL (e.g.\n"
            "http://127.0.0.1:8080).\n"
            "\n"
            "  --secret S    the secret (API key for teamgo, token or user:password for\n"
            "                ombori); env:NAME and file:/path are read like the config does\n"
            "  --tenant T    the tenant: path segment, or 1UPVISION's X-ServiceHook-UUID\n"
            "  --event E     the event name (TruTac's TT-Hook-Event, 1UPVISION's\n"
            "                X-ServiceHook-Event, Teamgo's type when stdin holds only data)\n"
            "  --header NAME ombori: send the token in header NAME instead of the path\n"
            "  --basic       ombori: send the secret (user:password) as HTTP Basic\n"
            "  --prefix P    the gateway's path_prefix (default /webhooks)\n"
            "  --curl URL    print a curl command instead of the raw request\n");
}

static char *
read_all(FILE *in, size_t *len)
{
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);

    while (buf) {
        size_t r = fread(buf + n, 1, cap - n, in);

        n += r;
        if (r == 0)
            break;
        if (n == cap) {
            char *bigger = cap >= BODY_MAX ? NULL : realloc(buf, cap * 2);

            if (bigger == NULL) {
                free(buf);
                return NULL;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    *len = n;
    return buf;
}

/* Prints `s` as one single-quoted shell word. */
static void
shell_quote(FILE *out, const char *s, size_t len)
{
    fputc('\'', out);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\'')
            fputs("'\\''", out);
        else
            fputc(s[i], out);
    }
    fputc('\'', out);
}

int
gw_sign_main(int argc, char **argv)
{
    static const struct option options[] = {
        {"secret", required_argument, NULL, 's'},
        {"tenant", required_argument, NULL, 't'},
        {"event", required_argument, NULL, 'e'},
        {"header", required_argument, NULL, 'H'},
        {"basic", no_argument, NULL, 'b'},
        {"curl", required_argument, NULL, 'u'},
        {"prefix", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct hg_sign_options o = {0};
    struct hg_signed_request req;
    const char *secret_ref = NULL, *curl_url = NULL;
    unsigned char *secret = NULL;
    size_t secret_len = 0, body_len = 0;
    char *body = NULL, err[512] = "";
    int opt, rc = 1;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "s:t:e:H:bu:p:h", options, NULL)) != -1) {
        switch (opt) {
        case 's':
            secret_ref = optarg;
            break;
        case 't':
            o.tenant = optarg;
            break;
        case 'e':
            o.event = optarg;
            break;
        case 'H':
            o.token_header = optarg;
            break;
        case 'b':
            o.basic = 1;
            break;
        case 'u':
            curl_url = optarg;
            break;
        case 'h':
            sign_usage(stdout);
            return 0;
        default:
            sign_usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1 || secret_ref == NULL) {
        sign_usage(stderr);
        return 2;
    }
    o.provider = argv[optind];
    if (hg_provider_index(o.provider, strlen(o.provider)) < 0) {
        fprintf(stderr, "hookgate sign: unknown provider %s\n", o.provider);
        return 2;
    }
    secret = hg_secret_resolve(secret_ref, &secret_len, err, sizeof err);
    if (secret == NULL) {
        fprintf(stderr, "hookgate sign: --secret: %s\n", err);
        return 2;
    }
    o.secret = (const char *)secret;
    o.secret_len = secret_len;
    o.now_ms = hg_now_ms();
    body = read_all(stdin, &body_len);
    if (body == NULL) {
        fprintf(stderr, "hookgate sign: cannot read the body from standard input\n");
        goto out;
    }
    if (hg_sign(&o, body, body_len, &req, err, sizeof err) != HG_OK) {
        fprintf(stderr, "hookgate sign: %s\n", err);
        goto out;
    }
    if (curl_url) {
        size_t n = strlen(curl_url);

        while (n && curl_url[n - 1] == '/')
            n--;
        printf("printf '%%s' ");
        shell_quote(stdout, req.body, req.body_len);
        printf(" |\n  curl -sS -X POST ");
        printf("'%.*s%s'", (int)n, curl_url, req.path);
        for (size_t i = 0; i < req.header_count; i++) {
            char h[2048];
            int hn = snprintf(h, sizeof h, "%s: %s", req.headers[i].name, req.headers[i].value);

            printf(" \\\n    -H ");
            shell_quote(stdout, h, hn > 0 && (size_t)hn < sizeof h ? (size_t)hn : 0);
        }
        printf(" \\\n    --data-binary @-\n");
    } else {
        printf("POST %s HTTP/1.1\n", req.path);
        for (size_t i = 0; i < req.header_count; i++)
            printf("%s: %s\n", req.headers[i].name, req.headers[i].value);
        printf("Content-Length: %zu\n\n", req.body_len);
        fwrite(req.body, 1, req.body_len, stdout);
        printf("\n");
    }
    hg_signed_request_free(&req);
    rc = 0;
out:
    free(body);
    hg_secret_free(secret, secret_len);
    return rc;
}
