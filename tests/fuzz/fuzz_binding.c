/* libFuzzer target: announcement binding decoding. Whatever decodes must re-encode to exactly
 * the input (one byte string per binding), and verification must never crash. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "crypto/binding.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int ready;
    if (!ready) {
        if (sodium_init() < 0) abort();
        ready = 1;
    }
    hc_binding b;
    uint8_t enc[HC_BINDING_MAX];
    if (hc_binding_decode(&b, data, size) == 0) {
        size_t n = hc_binding_encode(&b, enc, sizeof enc);
        if (n != size || memcmp(enc, data, size) != 0) abort();
        if (!hc_valid_meeting_id(b.meeting_id, strlen(b.meeting_id)) || !hc_valid_name(b.name, strlen(b.name))) abort();
        /* A signature that is just input bytes must not verify (and must not crash). */
        uint8_t sig[HC_SIG_LEN] = {0};
        memcpy(sig, data, size < sizeof sig ? size : sizeof sig);
        if (hc_binding_verify(sig, data, size) == 0) abort();
    } else {
        uint8_t sig[HC_SIG_LEN] = {0};
        if (hc_binding_verify(sig, data, size) == 0) abort();
    }
    /* The field validators on raw input. */
    (void)hc_valid_name((const char *)data, size);
    (void)hc_valid_meeting_id((const char *)data, size);
    return 0;
}
