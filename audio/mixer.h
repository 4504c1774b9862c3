/* Mixing several talkers into one output frame with clipping protection.
 *
 * Sums are done in float; the limiter then keeps the result inside [-1, 1] with a soft knee
 * instead of letting it wrap (int16 overflow) or hard-clip: below the knee (0.9) one talker passes
 * bit-exact, above it the excess is compressed smoothly towards full scale. */
#ifndef HC_AUDIO_MIXER_H
#define HC_AUDIO_MIXER_H

#include <stddef.h>
#include <stdint.h>

#define HC_MIX_KNEE 0.9f

/* acc += x (n samples). */
void hc_mix_add(float *acc, const float *x, size_t n);
/* Soft limiter in place: output strictly inside (-1, 1), identity below the knee. */
void hc_mix_limit(float *x, size_t n);
/* float -> int16 with rounding and saturation (never wraps). */
void hc_mix_to_s16(const float *x, int16_t *out, size_t n);
void hc_mix_from_s16(const int16_t *x, float *out, size_t n);

#endif
