#include "audio/level.h"

#include <math.h>

double hc_level_dbfs(const float *x, size_t n) {
    if (n == 0) return HC_LEVEL_FLOOR_DB;
    double e = 0;
    for (size_t i = 0; i < n; i++) e += (double)x[i] * x[i];
    double ms = e / (double)n;
    if (ms <= 1e-13) return HC_LEVEL_FLOOR_DB;    /* below -130 dB: call it silence */
    double db = 10.0 * log10(ms);
    if (db > 0) db = 0;                            /* clipped input cannot be louder than full scale */
    if (db < HC_LEVEL_FLOOR_DB) db = HC_LEVEL_FLOOR_DB;
    return db;
}

void hc_vad_init(hc_vad *v) {
    v->on_db = -42.0;
    v->off_db = -52.0;
    v->hang_ms = 200;
    v->talking = 0;
    v->hang_left_ms = 0;
    v->last_db = HC_LEVEL_FLOOR_DB;
}

int hc_vad_update(hc_vad *v, double db, int frame_ms) {
    v->last_db = db;
    if (!v->talking) {
        if (db >= v->on_db) {
            v->talking = 1;
            v->hang_left_ms = v->hang_ms;
        }
    } else if (db >= v->off_db) {
        v->hang_left_ms = v->hang_ms;          /* still speaking (maybe softly): re-arm the hang */
    } else {
        v->hang_left_ms -= frame_ms;
        if (v->hang_left_ms <= 0) {
            v->hang_left_ms = 0;
            v->talking = 0;
        }
    }
    return v->talking;
}

uint8_t hc_level_rfc6464(double db, int voice) {
    long l = lround(-db);
    if (l < 0) l = 0;
    if (l > 127) l = 127;
    return (uint8_t)((voice ? 0x80 : 0) | (uint8_t)l);
}
