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

int hc_parse_relay_list(const char *in, hc_relay_list *out) {
    memset(out, 0, sizeof *out);
    const char *p = in;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char one[HC_RELAY_HOST_MAX + 8];
        if (!len || len >= sizeof one || out->n == HC_RELAYS_MAX) return -1;
        memcpy(one, p, len);
        one[len] = 0;
        if (hc_parse_hostport(one, out->host[out->n], sizeof out->host[out->n], &out->port[out->n]) < 0 ||
            !out->port[out->n])
            return -1;
        out->n++;
        if (!comma) return 0;
        p = comma + 1;
    }
}
