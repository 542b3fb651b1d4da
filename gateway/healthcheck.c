/*
 * healthcheck.c - `hookgate healthcheck`: GET /healthz on the configured
 * listen address, for container HEALTHCHECKs (no curl in the image).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"

#define TIMEOUT_MS 3000

static int
connect_to(const char *listen_spec)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int fd;

    memset(&ss, 0, sizeof ss);
    if (strncmp(listen_spec, "unix:", 5) == 0) {
        struct sockaddr_un *sun = (struct sockaddr_un *)&ss;

        sun->sun_family = AF_UNIX;
        snprintf(sun->sun_path, sizeof sun->sun_path, "%s", listen_spec + 5);
        len = sizeof *sun;
    } else {
        const char *colon = strrchr(listen_spec, ':');
        char host[64];
        int port = colon ? atoi(colon + 1) : 0;

        if (colon == NULL)
            return -1;
        snprintf(host, sizeof host, "%.*s", (int)(colon - listen_spec), listen_spec);
        if (host[0] == '[') {
            struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
            size_t n = strlen(host);

            if (n < 2)
                return -1;
            host[n - 1] = '\0';
            sin6->sin6_family = AF_INET6;
            sin6->sin6_port = htons((uint16_t)port);
            if (strcmp(host + 1, "::") == 0)
                sin6->sin6_addr = in6addr_loopback; /* any address: ask over loopback */
            else if (inet_pton(AF_INET6, host + 1, &sin6->sin6_addr) != 1)
                return -1;
            len = sizeof *sin6;
        } else {
            struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

            sin->sin_family = AF_INET;
            sin->sin_port = htons((uint16_t)port);
            if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "localhost") == 0)
                snprintf(host, sizeof host, "127.0.0.1");
            if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
                return -1;
            len = sizeof *sin;
        }
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {TIMEOUT_MS / 1000, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&ss, len) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int
gw_healthcheck(const struct hg_config *config)
{
    static const char request[] = "GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n";
    char reply[64];
    ssize_t n;
    int fd = connect_to(config->listen);

    if (fd < 0) {
        fprintf(stderr, "hookgate: healthcheck: cannot connect to %s\n", config->listen);
        return 1;
    }
    if (write(fd, request, sizeof request - 1) != (ssize_t)(sizeof request - 1) ||
        (n = read(fd, reply, sizeof reply - 1)) <= 0) {
        fprintf(stderr, "hookgate: healthcheck: no answer from %s\n", config->listen);
        close(fd);
        return 1;
    }
    close(fd);
    reply[n] = '\0';
    if (strncmp(reply, "HTTP/1.", 7) == 0 && strncmp(reply + 8, " 200", 4) == 0)
        return 0;
    fprintf(stderr, "hookgate: healthcheck: %.*s\n", (int)strcspn(reply, "\r\n"), reply);
    return 1;
}
