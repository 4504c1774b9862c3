/* "host:port" as people write relay addresses ("[v6addr]:port" for IPv6). */
#ifndef HC_ADDR_H
#define HC_ADDR_H

#include <stddef.h>
#include <stdint.h>

/* Splits into host (without brackets) and port 0..65535. Returns 0, or -1 when malformed
 * (no port, empty host, host longer than hostlen - 1, a port that is not a number). */
int hc_parse_hostport(const char *in, char *host, size_t hostlen, uint16_t *port);

/* Relays a participant may use, in the order it tries them: nodes of one cluster serve every
 * meeting, so when one is lost the next one gets it back in. */
#define HC_RELAYS_MAX 8
#define HC_RELAY_HOST_MAX 255
typedef struct {
    char host[HC_RELAYS_MAX][HC_RELAY_HOST_MAX + 1];
    uint16_t port[HC_RELAYS_MAX];
    int n;
} hc_relay_list;

/* "HOST:PORT[,HOST:PORT...]" (at most HC_RELAYS_MAX). Returns 0, or -1 when an element is
 * malformed, empty or has port 0, or there are too many. */
int hc_parse_relay_list(const char *in, hc_relay_list *out);

#endif
