/*
 * test_status.c - status codes and their HTTP mapping (lib/hookgate.h), and
 * the time helpers: hg_time_parse_iso8601 (lib/provider.h) and
 * hg_format_time_ms.
 */
#include "hookgate.h"
#include "provider.h"
#include "unit.h"

/* ------------------------------------------------------------------------ */
/* hg_status_http / hg_status_str                                            */
/* ------------------------------------------------------------------------ */

struct status_case {
    const char *name;
    enum hg_status status;
    int http;
};

/* DESIGN.md "Answers"; HG_ERR_CONFIG is no HTTP answer and only has to be an error. */
static const struct status_case status_cases[] = {
    {"ok", HG_OK, 200},
    {"duplicate", HG_DUPLICATE, 200},
    {"ping", HG_PING, 200},
    {"spooled", HG_SPOOLED, 200},
    {"bad-json", HG_ERR_BAD_JSON, 400},
    {"bad-request", HG_ERR_BAD_REQUEST, 400},
    {"unknown-source", HG_ERR_UNKNOWN_SOURCE, 400},
    {"ambiguous", HG_ERR_AMBIGUOUS, 400},
    {"unauthorized", HG_ERR_UNAUTHORIZED, 401},
    {"stale", HG_ERR_STALE, 401},
    {"forbidden", HG_ERR_FORBIDDEN, 403},
    {"not-found", HG_ERR_NOT_FOUND, 404},
    {"disabled", HG_ERR_DISABLED, 404},
    {"method", HG_ERR_METHOD, 405},
    {"too-large", HG_ERR_TOO_LARGE, 413},
    {"media-type", HG_ERR_MEDIA_TYPE, 415},
    {"uri too long", HG_ERR_URI_TOO_LONG, 414},
    {"headers too large", HG_ERR_HEADERS, 431},
    {"unavailable", HG_ERR_UNAVAILABLE, 503},
    {"overloaded", HG_ERR_OVERLOADED, 503},
    {"nomem", HG_ERR_NOMEM, 503},
    {"internal", HG_ERR_INTERNAL, 500},
    {"config", HG_ERR_CONFIG, 0},
};

/* A status added to the enum must be added here too. */
_Static_assert(sizeof status_cases / sizeof status_cases[0] == HG_STATUS_COUNT,
               "status_cases must list every enum hg_status value");

static void
test_status_http(void **state)
{
    (void)state;
    int covered[HG_STATUS_COUNT] = {0};
    for (size_t i = 0; i < UNIT_ARRAY_LEN(status_cases); i++) {
        const struct status_case *c = &status_cases[i];
        int http = hg_status_http(c->status);
        if (c->http != 0)
            CHECK_INT(c->name, http, c->http);
        else
            CHECK(c->name, http >= 400 && http <= 599);
        covered[c->status]++;
    }
    for (int s = 0; s < HG_STATUS_COUNT; s++)
        CHECK_INT("every-status-listed-once", covered[s], 1);
    UNIT_END();
}

static void
test_status_str(void **state)
{
    (void)state;
    for (size_t a = 0; a < UNIT_ARRAY_LEN(status_cases); a++) {
        const char *name = status_cases[a].name;
        const char *sa = hg_status_str(status_cases[a].status);
        if (!CHECK(name, sa != NULL && sa[0] != '\0'))
            continue;
        for (size_t b = 0; b < a; b++) {
            const char *sb = hg_status_str(status_cases[b].status);
            if (sb != NULL && strcmp(sa, sb) == 0) {
                print_error("    \"%s\" is also the code of %s\n", sa, status_cases[b].name);
                CHECK(name, 0 && "distinct codes");
            }
        }
    }
    UNIT_END();
}

/* ------------------------------------------------------------------------ */
/* hg_time_parse_iso8601                                                     */
/* ------------------------------------------------------------------------ */

#define T_SEED 1661708219000LL /* 2022-08-28T17:36:59Z, the 1UPVISION example */

struct time_case {
    const char *name;
    const char *text;
    size_t len; /* 0: strlen(text) */
    int rc;
    int64_t ms;
};

static const struct time_case time_cases[] = {
    {"seed-z", "2022-08-28T17:36:59Z", 0, 0, T_SEED},
    {"fraction-micro", "2022-08-28T17:36:59.163781Z", 0, 0, T_SEED + 163},
    {"fraction-milli", "2022-08-28T17:36:59.163Z", 0, 0, T_SEED + 163},
    {"fraction-one-digit", "2022-08-28T17:36:59.1Z", 0, 0, T_SEED + 100},
    {"fraction-nano-truncated", "2022-08-28T17:36:59.999999999Z", 0, 0, T_SEED + 999},
    {"offset-plus-hh", "2022-08-28T17:36:59+00", 0, 0, T_SEED},
    {"offset-plus-hhmm", "2022-08-28T17:36:59+0000", 0, 0, T_SEED},
    {"offset-plus-hh-mm", "2022-08-28T17:36:59+00:00", 0, 0, T_SEED},
    {"offset-minus-zero", "2022-08-28T17:36:59-00:00", 0, 0, T_SEED},
    {"offset-plus-0530", "2022-08-28T23:06:59+05:30", 0, 0, T_SEED},
    {"offset-plus-0530-compact", "2022-08-28T23:06:59+0530", 0, 0, T_SEED},
    {"offset-minus-05", "2022-08-28T12:36:59-05", 0, 0, T_SEED},
    {"offset-minus-0930", "2022-08-28T08:06:59-09:30", 0, 0, T_SEED},
    {"offset-crosses-day", "2022-08-29T02:36:59+09:00", 0, 0, T_SEED},
    {"fraction-30-digits", "2022-08-28T17:36:59.163781000000000000000000000000Z", 0, 0,
     T_SEED + 163},
    {"offset-max-valid", "2022-08-29T17:35:59+23:59", 0, 0, T_SEED},
    {"fraction-and-offset", "2022-08-28T23:06:59.5+05:30", 0, 0, T_SEED + 500},
    {"lowercase-t-z", "2022-08-28t17:36:59z", 0, 0, T_SEED},
    {"space-separator", "2022-08-28 17:36:59Z", 0, 0, T_SEED},
    {"no-offset-is-utc", "2022-08-28T17:36:59", 0, 0, T_SEED},
    {"space-no-offset", "2022-08-28 17:36:59", 0, 0, T_SEED},
    {"teamgo-style", "2016-12-09 09:02:11+00", 0, 0, 1481274131000LL},
    {"epoch", "1970-01-01T00:00:00Z", 0, 0, 0},
    {"leap-day", "2000-02-29T00:00:00Z", 0, 0, 951782400000LL},
    {"leap-day-2024", "2024-02-29T12:00:00Z", 0, 0, 1709208000000LL},
    {"end-of-year", "2024-12-31T23:59:59Z", 0, 0, 1735689599000LL},
    {"length-bounds-text", "2022-08-28T17:36:59Zjunk", 20, 0, T_SEED},

    {"invalid-month-13", "2020-13-01T00:00:00Z", 0, -1, 0},
    {"invalid-month-0", "2022-00-10T00:00:00Z", 0, -1, 0},
    {"invalid-day-0", "2022-08-00T00:00:00Z", 0, -1, 0},
    {"invalid-day-32", "2022-01-32T00:00:00Z", 0, -1, 0},
    {"invalid-day-feb-30", "2022-02-30T00:00:00Z", 0, -1, 0},
    {"invalid-day-feb-29-non-leap", "2021-02-29T00:00:00Z", 0, -1, 0},
    {"invalid-day-apr-31", "2022-04-31T00:00:00Z", 0, -1, 0},
    {"invalid-hour-25", "2022-08-28T25:00:00Z", 0, -1, 0},
    {"invalid-minute-60", "2022-08-28T17:60:00Z", 0, -1, 0},
    {"invalid-second-61", "2022-08-28T17:36:61Z", 0, -1, 0},
    {"garbage-word", "yesterday", 0, -1, 0},
    {"empty", "", 0, -1, 0},
    {"date-only", "2022-08-28", 0, -1, 0},
    {"no-seconds", "2022-08-28T17:36Z", 0, -1, 0},
    {"one-digit-month", "2022-8-28T17:36:59Z", 0, -1, 0},
    {"two-digit-year", "22-08-28T17:36:59Z", 0, -1, 0},
    {"bad-separator", "2022-08-28X17:36:59Z", 0, -1, 0},
    {"slashes", "2022/08/28T17:36:59Z", 0, -1, 0},
    {"dot-without-digits", "2022-08-28T17:36:59.Z", 0, -1, 0},
    {"trailing-junk-after-z", "2022-08-28T17:36:59Zjunk", 0, -1, 0},
    {"trailing-junk-after-offset", "2022-08-28T17:36:59+05:30x", 0, -1, 0},
    {"trailing-space", "2022-08-28T17:36:59Z ", 0, -1, 0},
    {"trailing-junk-no-offset", "2022-08-28T17:36:59abc", 0, -1, 0},
    {"offset-one-digit", "2022-08-28T17:36:59+5", 0, -1, 0},
    {"offset-three-digits", "2022-08-28T17:36:59+053", 0, -1, 0},
    {"offset-bad-minutes", "2022-08-28T17:36:59+05:7", 0, -1, 0},
    {"offset-hour-24", "2022-08-28T17:36:59+24:00", 0, -1, 0},
    {"offset-minute-60", "2022-08-28T17:36:59+05:60", 0, -1, 0},
    {"sign-in-field", "2022-08-+8T17:36:59Z", 0, -1, 0},
    {"cut-by-length", "2022-08-28T17:36:59Z", 15, -1, 0},
};

static void
test_time_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < UNIT_ARRAY_LEN(time_cases); i++) {
        const struct time_case *c = &time_cases[i];
        int64_t ms = -12345;
        size_t len = c->len ? c->len : strlen(c->text);
        int rc = hg_time_parse_iso8601(c->text, len, &ms);
        if (CHECK_INT(c->name, rc, c->rc) && rc == 0)
            CHECK_INT(c->name, ms, c->ms);
    }
    UNIT_END();
}

/* ------------------------------------------------------------------------ */
/* hg_format_time_ms                                                         */
/* ------------------------------------------------------------------------ */

struct format_case {
    const char *name;
    int64_t ms;
    const char *text;
};

static const struct format_case format_cases[] = {
    {"seed", T_SEED + 163, "2022-08-28T17:36:59.163Z"},
    {"epoch", 0, "1970-01-01T00:00:00.000Z"},
    {"leap-day-ms-padding", 951782400005LL, "2000-02-29T00:00:00.005Z"},
    {"end-of-year", 1735689599999LL, "2024-12-31T23:59:59.999Z"},
    {"last-of-9999", 253402300799999LL, "9999-12-31T23:59:59.999Z"},
    {"year-0", -62167219200000LL, "0000-01-01T00:00:00.000Z"},
    {"before-epoch", -1LL, "1969-12-31T23:59:59.999Z"},
};

/* Times that do not fit four digits of year are written as the epoch. */
static const struct format_case format_out_of_range[] = {
    {"year-10000", 253402300800000LL, "1970-01-01T00:00:00.000Z"},
    {"year-minus-1", -62167219200001LL, "1970-01-01T00:00:00.000Z"},
};

static void
test_format_time(void **state)
{
    (void)state;
    for (size_t i = 0; i < UNIT_ARRAY_LEN(format_cases); i++) {
        const struct format_case *c = &format_cases[i];
        char out[32];
        hg_format_time_ms(c->ms, out);
        CHECK_STR(c->name, out, c->text);
        /* The format parses back to the same instant. */
        int64_t back = -1;
        if (CHECK_INT(c->name, hg_time_parse_iso8601(out, strlen(out), &back), 0))
            CHECK_INT(c->name, back, c->ms);
    }
    for (size_t i = 0; i < UNIT_ARRAY_LEN(format_out_of_range); i++) {
        const struct format_case *c = &format_out_of_range[i];
        char out[32];
        hg_format_time_ms(c->ms, out);
        CHECK_STR(c->name, out, c->text);
    }
    UNIT_END();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_http),
        cmocka_unit_test(test_status_str),
        cmocka_unit_test(test_time_parse),
        cmocka_unit_test(test_format_time),
    };
    return cmocka_run_group_tests_name("status", tests, NULL, NULL);
}
