/* Media datagram parsing: only the clear parts (relay header and SFrame header). */
#include "net/media.h"

#include <string.h>

#include "crypto/sframe.h"

int hc_media_parse(hc_media_info *mi, const uint8_t *pkt, size_t len) {
    memset(mi, 0, sizeof *mi);
    if (len < 1 || len > HC_MEDIA_MAX) return -1;
    if ((pkt[0] >> 4) != HC_MEDIA_VERSION) return -1;
    mi->type = pkt[0] & 0x0F;
    switch (mi->type) {
    case HC_MEDIA_AUDIO:
    case HC_MEDIA_VIDEO: {
        if (len < HC_MEDIA_HDR_LEN + 1) return -1;
        mi->level = pkt[1];
        int h = hc_sframe_header_decode(pkt + HC_MEDIA_HDR_LEN, len - HC_MEDIA_HDR_LEN, &mi->kid, &mi->ctr);
        if (h < 0) return -1;
        /* A frame must at least carry its tag. */
        if (len - HC_MEDIA_HDR_LEN - (size_t)h < HC_SFRAME_TAG_LEN) return -1;
        return 0;
    }
    case HC_MEDIA_REGISTER:
    case HC_MEDIA_REGISTERED:
    case HC_MEDIA_KEEPALIVE:
        if (len != 17) return -1;
        mi->token = pkt + 1;
        return 0;
    default:
        return -1;
    }
}

size_t hc_media_control(uint8_t out[17], uint8_t type, const uint8_t token[16]) {
    out[0] = hc_media_byte0(type);
    memcpy(out + 1, token, 16);
    return 17;
}
