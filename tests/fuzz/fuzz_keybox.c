/* libFuzzer target: key-box Meta decoding and box opening under a fixed pairwise key.
 *
 * Input: byte 0 = Meta length, then Meta, then the box. Meta that decodes must re-encode to the
 * same bytes; open must fail cleanly (key zeroed) unless the box is genuine, and a box sealed
 * for this Meta must open back to what was sealed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "crypto/keybox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int ready;
    if (!ready) {
        if (sodium_init() < 0) abort();
        ready = 1;
    }
    if (size < 1) return 0;
    size_t ml = data[0];
    if (size < 1 + ml) return 0;
    const uint8_t *meta = data + 1, *box = data + 1 + ml;
    size_t blen = size - 1 - ml;

    hc_box_meta m;
    uint8_t enc[HC_META_MAX];
    if (hc_box_meta_decode(&m, meta, ml) == 0) {
        size_t n = hc_box_meta_encode(&m, enc, sizeof enc);
        if (n != ml || memcmp(enc, meta, ml) != 0) abort();
    }

    uint8_t k[HC_BOXKEY_LEN], mk[HC_MK_LEN], zero[HC_MK_LEN] = {0};
    for (int i = 0; i < HC_BOXKEY_LEN; i++) k[i] = (uint8_t)(0xC3 ^ (i * 7));
    uint32_t epoch = 1;
    uint16_t suite = 1;
    memset(mk, 0xEE, sizeof mk);
    if (hc_keybox_open(mk, &epoch, &suite, k, meta, ml, box, blen) == 0) {
        /* A genuine box (the seeds are): any flipped bit of it must break it. */
        static uint8_t copy[HC_BOX_LEN];
        memcpy(copy, box, HC_BOX_LEN);
        size_t bit = (size_t)ml * 8 % (HC_BOX_LEN * 8);
        copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        if (hc_keybox_open(mk, &epoch, &suite, k, meta, ml, copy, HC_BOX_LEN) == 0) abort();
    }
    if (memcmp(mk, zero, sizeof mk) != 0 || epoch != 0 || suite != 0) abort();

    /* Round trip for this Meta, MK taken from the input. */
    if (ml > 0) {
        uint8_t sealed[HC_BOX_LEN], in_mk[HC_MK_LEN] = {0};
        memcpy(in_mk, box, blen < HC_MK_LEN ? blen : HC_MK_LEN);
        if (hc_keybox_seal(sealed, k, meta, ml, in_mk, (uint32_t)size, (uint16_t)blen) != 0) abort();
        if (hc_keybox_open(mk, &epoch, &suite, k, meta, ml, sealed, sizeof sealed) != 0) abort();
        if (memcmp(mk, in_mk, HC_MK_LEN) != 0 || epoch != (uint32_t)size || suite != (uint16_t)blen) abort();
    }
    return 0;
}
