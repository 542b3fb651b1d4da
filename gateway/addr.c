/*
 * addr.c - the socket address of a `listen` value, shared by the listener
 * and `hookgate healthcheck`.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "addr.h"

int
gw_listen_addr(const char *spec, int for_connect, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    if (strncmp(spec, "unix:", 5) == 0) {
        struct sockaddr_un *sun = (struct sockaddr_un *)ss;

        sun->sun_family = AF_UNIX;
        if (snprintf(sun->sun_path, sizeof sun->sun_path, "%s", spec + 5) >=
            (int)sizeof sun->sun_path)
            goto invalid;
        *len = sizeof *sun;
        return 0;
    }
    const char *colon = strrchr(spec, ':');
    char host[64];
    size_t hlen;
    long port;
    char *end;

    if (colon == NULL || (hlen = (size_t)(colon - spec)) == 0 || hlen >= sizeof host)
        goto invalid;
    port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || end == colon + 1 || port < 0 || port > 65535)
        goto invalid;
    if (spec[0] == '[') {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

        if (hlen < 3 || spec[hlen - 1] != ']')
            goto invalid;
        snprintf(host, sizeof host, "%.*s", (int)(hlen - 2), spec + 1);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
            goto invalid;
        /* to reach "any address", ask over loopback */
        if (for_connect && IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr))
            sin6->sin6_addr = in6addr_loopback;
        *len = sizeof *sin6;
        return 0;
    }
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;

    snprintf(host, sizeof host, "%.*s", (int)hlen, spec);
    if (strcmp(host, "localhost") == 0 || (for_connect && strcmp(host, "0.0.0.0") == 0))
        snprintf(host, sizeof host, "127.0.0.1");
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
        goto invalid;
    *len = sizeof *sin;
    return 0;
invalid:
    errno = EINVAL;
    return -1;
}
