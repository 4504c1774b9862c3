#include "audio/mixer.h"

#include <math.h>

void hc_mix_add(float *acc, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) acc[i] += x[i];
}

void hc_mix_limit(float *x, size_t n) {
    const float knee = HC_MIX_KNEE, room = 1.0f - HC_MIX_KNEE;
    for (size_t i = 0; i < n; i++) {
        float v = x[i], a = fabsf(v);
        if (a <= knee) continue;
        if (!isfinite(v)) { x[i] = 0; continue; }  /* a NaN from anywhere must not reach the DAC */
        /* knee + room * tanh((a - knee) / room): slope 1 at the knee, asymptote 1.0 */
        float y = knee + room * tanhf((a - knee) / room);
        if (y > 0.99997f) y = 0.99997f;
        x[i] = v < 0 ? -y : y;
    }
}

void hc_mix_to_s16(const float *x, int16_t *out, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float v = x[i] * 32768.0f;
        if (!(v == v)) v = 0;
        if (v > 32767.0f) v = 32767.0f;
        if (v < -32768.0f) v = -32768.0f;
        out[i] = (int16_t)lrintf(v);
    }
}

void hc_mix_from_s16(const int16_t *x, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = (float)x[i] / 32768.0f;
}
