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

#include "addr.h"
#include "cli.h"

#define TIMEOUT_MS 3000

static int
connect_to(const char *listen_spec)
{
    struct sockaddr_storage ss;
    struct timeval tv = {TIMEOUT_MS / 1000, 0};
    socklen_t len;
    int fd;

    if (gw_listen_addr(listen_spec, 1, &ss, &len) != 0)
        return -1;
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
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
