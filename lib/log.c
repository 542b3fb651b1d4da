/*
 * log.c - one JSON object per line on stderr.
 *
 * A line is written with a single write(2) so that lines from different
 * threads never interleave.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "hookgate.h"

_Atomic enum hg_log_level hg_log_min_level = HG_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int
hg_log_level_parse(const char *name, enum hg_log_level *out)
{
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (enum hg_log_level)i;
            return 0;
        }
    }
    return -1;
}

/* A plain decimal number ("12", "-0.5"), safe to write unquoted. */
static int
is_number(const char *s)
{
    int digits = 0, dot = 0;

    if (*s == '-')
        s++;
    for (; *s; s++) {
        if (*s >= '0' && *s <= '9')
            digits++;
        else if (*s == '.' && !dot && digits)
            dot = 1;
        else
            return 0;
    }
    return digits > 0 && s[-1] != '.';
}

void
hg_log_(enum hg_log_level level, const char *const *fields, const char *fmt, ...)
{
    char msg[1024];
    char now[32];
    struct hg_buf line;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;

    hg_format_time_ms(hg_now_ms(), now);
    hg_buf_init(&line, 16384);
    hg_buf_appendf(&line, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":", now, level_names[level]);
    hg_buf_append_json_str(&line, msg, strlen(msg));
    for (size_t i = 0; fields && fields[i] && fields[i + 1]; i += 2) {
        const char *name = fields[i], *value = fields[i + 1];
        int number = name[0] == '#' && is_number(value);

        name += name[0] == '#';
        hg_buf_appendc(&line, ',');
        hg_buf_append_json_str(&line, name, strlen(name));
        hg_buf_appendc(&line, ':');
        if (number)
            hg_buf_appends(&line, value);
        else
            hg_buf_append_json_str(&line, value, strlen(value));
    }
    hg_buf_appends(&line, "}\n");
    if (!line.failed) {
        ssize_t w = write(STDERR_FILENO, line.data, line.len);
        (void)w;
    }
    hg_buf_free(&line);
}
