/* libFuzzer target: control frames and media datagrams from arbitrary bytes.
 *   - hc_msg_decode on the input as a frame body; when it decodes, re-encoding must give the
 *     same bytes back (decoding is strict, so there is one encoding per message);
 *   - hc_frame_reader on the input split into chunks chosen by the input itself, every frame
 *     it yields decoded as above;
 *   - hc_media_parse on the input as a datagram.
 * No main(): `make fuzz` links libFuzzer's. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/bytes.h"
#include "net/media.h"
#include "net/roster.h"
#include "net/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[HC_FRAME_MAX_LIMIT + 16];

static void check_body(const uint8_t *body, size_t len) {
    hc_msg m;
    hc_wire_err e = HC_WERR_COUNT;
    if (hc_msg_decode(&m, body, len, &e) == 0) {
        if (e != HC_WERR_NONE) abort();
        size_t n = hc_msg_encode(&m, out, sizeof out);
        if (n != len + 4 || memcmp(out + 4, body, len) != 0) abort();   /* not a round trip */
        hc_msg again;
        if (hc_msg_decode(&again, out + 4, n - 4, NULL) != 0) abort();
        static hc_roster r, out;   /* zeroed: initialised */
        if (m.type == HC_MSG_ROSTER && m.offset == 0 && m.data_len == m.value) {
            if (hc_roster_decode(&r, m.data, m.data_len) == 0) {
                static uint8_t enc[HC_ROSTER_ENC_MAX];
                size_t rl = hc_roster_encode(&r, enc, sizeof enc);
                if (rl != m.data_len || memcmp(enc, m.data, rl)) abort();
            }
        }
        if (m.type == HC_MSG_ROSTER_DELTA) {
            /* applied to nothing and to a small roster: it either applies or is refused */
            hc_roster_delta_apply(NULL, m.data, m.data_len, &out);
            uint8_t h[32] = {1};
            hc_roster_clear(&r);
            r.v = m.data_len >= 4 ? hc_get_u32(m.data) : 0;
            hc_roster_add(&r, 0, 1, h);
            hc_roster_add(&r, 1, 7, h);
            if (hc_roster_delta_apply(&r, m.data, m.data_len, &out) == 0 &&
                out.n + out.n_waiting > HC_ROSTER_MAX_ENTRIES)
                abort();
        }
    } else if (e <= HC_WERR_NONE || e >= HC_WERR_COUNT) {
        abort();                                                    /* a failure must say why */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    check_body(data, size);

    /* Stream reassembly with input-chosen chunk sizes and a small frame limit. */
    hc_frame_reader r;
    hc_frame_reader_init(&r, size && (data[0] & 1) ? 64 : 0);
    size_t off = 0, step = 0;
    while (off < size) {
        size_t k = 1 + (size_t)(data[(step++ * 7) % size]) * ((data[0] & 6) + 1);
        if (k > size - off) k = size - off;
        while (k) {
            long took = hc_frame_reader_push(&r, data + off, k);
            if (took < 0) goto done;
            if ((size_t)took > k) abort();
            off += (size_t)took;
            k -= (size_t)took;
            const uint8_t *b;
            size_t bl;
            int rc;
            while ((rc = hc_frame_reader_next(&r, &b, &bl)) == 1) {
                if (bl > r.max_frame) abort();
                check_body(b, bl);
            }
            if (rc < 0) goto done;
            if (r.cap > r.max_frame + 4) abort();                   /* bounded memory */
            if (r.cap > r.len + r.len / 16 + 4096) abort();         /* following what was received */
        }
    }
done:
    hc_frame_reader_free(&r);

    hc_media_info mi;
    if (hc_media_parse(&mi, data, size) == 0) {
        if (size > HC_MEDIA_MAX) abort();
        if ((mi.type == HC_MEDIA_REGISTER || mi.type == HC_MEDIA_REGISTERED || mi.type == HC_MEDIA_KEEPALIVE) &&
            (size != 17 || mi.token != data + 1))
            abort();
    }
    return 0;
}
