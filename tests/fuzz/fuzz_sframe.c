/* libFuzzer target: SFrame header parsing and frame opening under fixed keys, both suites.
 *
 * Input: byte 0 picks the suite (even 0xF001, odd 0x0005, skipped where AES-GCM is absent),
 * byte 1 the metadata length (mod 17), then metadata, then the frame. Checks: header decode
 * agrees with re-encoding; open never crashes or over-writes; a frame sealed from the input
 * opens back to it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "crypto/sframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXPT 2048

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int ready;
    if (!ready) {
        if (sodium_init() < 0) abort();
        ready = 1;
    }
    if (size < 2) return 0;
    uint16_t suite = (data[0] & 1) ? HC_SUITE_AES256GCM : HC_SUITE_CHACHA;
    if (!hc_sframe_suite_available(suite)) return 0;
    size_t ml = data[1] % 17;
    if (size < 2 + ml) return 0;
    const uint8_t *meta = data + 2, *frame = data + 2 + ml;
    size_t flen = size - 2 - ml;

    /* Header: whatever decodes must re-encode to the same bytes (minimal encoding only). */
    uint64_t kid = 0, ctr = 0;
    int h = hc_sframe_header_decode(frame, flen, &kid, &ctr);
    if (h >= 0) {
        uint8_t re[HC_SFRAME_HDR_MAX];
        size_t n = hc_sframe_header_encode(re, kid, ctr);
        if ((int)n != h || memcmp(re, frame, n) != 0) abort();
    }

    /* Open under a fixed base key, with the KID the header claims (so the AEAD path is reached)
     * and with a fixed KID. Output buffer has a guard byte that must survive. */
    uint8_t base[32];
    for (int i = 0; i < 32; i++) base[i] = (uint8_t)(0x5A ^ i);
    hc_sframe_key k;
    static uint8_t pt[MAXPT + 1];
    uint64_t got;
    if (hc_sframe_key_init(&k, suite, h >= 0 ? kid : 0x1000703, base, sizeof base) != 0) abort();
    size_t cap = flen < MAXPT ? flen : MAXPT;
    pt[cap] = 0xA5;
    int r = hc_sframe_open(&k, frame, flen, meta, ml, pt, cap, &got);
    if (r > (int)cap || pt[cap] != 0xA5) abort();
    if (r >= 0 && (h < 0 || got != ctr)) abort();

    /* Round trip: seal the frame bytes as plaintext (CTR from the input) and open them back. */
    if (flen <= MAXPT - HC_SFRAME_OVERHEAD_MAX) {
        static uint8_t sealed[MAXPT], back[MAXPT];
        uint64_t c = h >= 0 ? ctr : flen;
        int n = hc_sframe_seal(&k, c, meta, ml, frame, flen, sealed, sizeof sealed);
        if (n < 0) abort();
        int m = hc_sframe_open(&k, sealed, (size_t)n, meta, ml, back, sizeof back, &got);
        if (m != (int)flen || got != c || memcmp(back, frame, flen) != 0) abort();
        /* One flipped bit (position from the input) must make it fail. */
        size_t bit = (size_t)(data[0] >> 1) * 131 % ((size_t)n * 8);
        sealed[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        if (hc_sframe_open(&k, sealed, (size_t)n, meta, ml, back, sizeof back, &got) >= 0) abort();
    }
    hc_sframe_key_wipe(&k);
    return 0;
}
