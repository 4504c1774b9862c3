/* Media datagrams (UDP) between participants and the relay.
 *
 *   byte 0:  version (high nibble, 1) | type (low nibble)
 *   AUDIO/VIDEO:  byte 1 = audio level (RFC 6464: bit 7 voice activity, bits 0-6 = -dBov),
 *                 then one SFrame frame (header || ciphertext || tag). Bytes 0-1 are the SFrame
 *                 metadata (authenticated, not encrypted), so the relay may read but not change them.
 *   REGISTER / REGISTERED / KEEPALIVE:  token (16 bytes, from JOINED)
 *
 * The relay forwards AUDIO/VIDEO datagrams verbatim; it learns the sender from the SFrame KID
 * (sender index in bits 8-23) and checks it against the registered endpoint. */
#ifndef HC_MEDIA_H
#define HC_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#define HC_MEDIA_VERSION 1
#define HC_MEDIA_HDR_LEN 2
#define HC_MEDIA_MAX 1400     /* datagrams larger than this are dropped */

enum {
    HC_MEDIA_AUDIO = 1,
    HC_MEDIA_VIDEO = 2,
    HC_MEDIA_REGISTER = 8,
    HC_MEDIA_REGISTERED = 9,
    HC_MEDIA_KEEPALIVE = 10,
};

static inline uint8_t hc_media_byte0(uint8_t type) { return (uint8_t)((HC_MEDIA_VERSION << 4) | (type & 0x0F)); }

typedef struct {
    uint8_t type;
    uint8_t level;            /* AUDIO/VIDEO */
    uint64_t kid, ctr;        /* AUDIO/VIDEO: from the SFrame header */
    const uint8_t *token;     /* REGISTER/REGISTERED/KEEPALIVE */
} hc_media_info;

/* Parses the clear parts of a datagram. Returns 0, or -1 for anything malformed (bad version,
 * unknown type, truncated, SFrame header invalid, too large). */
int hc_media_parse(hc_media_info *mi, const uint8_t *pkt, size_t len);
/* Builds a REGISTER/REGISTERED/KEEPALIVE datagram; returns its length (17). */
size_t hc_media_control(uint8_t out[17], uint8_t type, const uint8_t token[16]);

#endif
