/*
 * status.c - status codes, their wire names and their HTTP mapping.
 */
#include "hookgate.h"

static const struct {
    const char *code;
    int http;
} status_table[HG_STATUS_COUNT] = {
    [HG_OK] = {"ok", 200},
    [HG_DUPLICATE] = {"duplicate", 200},
    [HG_PING] = {"ping", 200},
    [HG_SPOOLED] = {"spooled", 200},
    [HG_ERR_BAD_JSON] = {"invalid_json", 400},
    [HG_ERR_BAD_REQUEST] = {"bad_request", 400},
    [HG_ERR_UNKNOWN_SOURCE] = {"unknown_provider", 400},
    [HG_ERR_AMBIGUOUS] = {"ambiguous_provider", 400},
    [HG_ERR_UNAUTHORIZED] = {"unauthorized", 401},
    [HG_ERR_STALE] = {"stale_timestamp", 401},
    [HG_ERR_FORBIDDEN] = {"forbidden", 403},
    [HG_ERR_NOT_FOUND] = {"not_found", 404},
    [HG_ERR_DISABLED] = {"provider_disabled", 404},
    [HG_ERR_METHOD] = {"method_not_allowed", 405},
    [HG_ERR_TOO_LARGE] = {"body_too_large", 413},
    [HG_ERR_MEDIA_TYPE] = {"unsupported_media_type", 415},
    [HG_ERR_URI_TOO_LONG] = {"uri_too_long", 414},
    [HG_ERR_HEADERS] = {"headers_too_large", 431},
    [HG_ERR_UNAVAILABLE] = {"unavailable", 503},
    [HG_ERR_OVERLOADED] = {"overloaded", 503},
    [HG_ERR_NOMEM] = {"out_of_memory", 503},
    [HG_ERR_INTERNAL] = {"internal_error", 500},
    [HG_ERR_CONFIG] = {"config_error", 500},
};

const char *
hg_status_str(enum hg_status status)
{
    if ((unsigned)status >= HG_STATUS_COUNT)
        return "internal_error";
    return status_table[status].code;
}

int
hg_status_http(enum hg_status status)
{
    if ((unsigned)status >= HG_STATUS_COUNT)
        return 500;
    return status_table[status].http;
}
