/* Relay address parsing, shared by the relay (--listen) and participants (--relay). */
#include "net/addr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int hc_parse_hostport(const char *in, char *host, size_t hostlen, uint16_t *port) {
    const char *colon;
    size_t hl;
    if (in[0] == '[') {
        const char *rb = strchr(in, ']');
        if (!rb || rb[1] != ':') return -1;
        hl = (size_t)(rb - in - 1);
        in++;
        colon = rb + 1;
    } else {
        colon = strrchr(in, ':');
        if (!colon) return -1;
        hl = (size_t)(colon - in);
    }
    if (hl == 0 || hl >= hostlen) return -1;
    const char *p = colon + 1;
    if (*p < '0' || *p > '9') return -1;   /* no sign, no blank, no empty port */
    char *end;
    errno = 0;
    unsigned long v = strtoul(p, &end, 10);
    if (errno || *end || v > 65535) return -1;
    memcpy(host, in, hl);
    host[hl] = 0;
    *port = (uint16_t)v;
    return 0;
}
