/* "host:port" as people write relay addresses ("[v6addr]:port" for IPv6). */
#ifndef HC_ADDR_H
#define HC_ADDR_H

#include <stddef.h>
#include <stdint.h>

/* Splits into host (without brackets) and port 0..65535. Returns 0, or -1 when malformed
 * (no port, empty host, host longer than hostlen - 1, a port that is not a number). */
int hc_parse_hostport(const char *in, char *host, size_t hostlen, uint16_t *port);

#endif
