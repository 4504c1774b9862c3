/* Seeded network impairment: parsing and pure decisions (see net/impair.h).
 *
 * The generator is splitmix64 over the seed, so a seed names one exact sequence of decisions on
 * every machine. Every decision draws a fixed number of values in a fixed
 * order, which keeps runs with the same seed and the same packet sequence identical. */
#include "net/impair.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A reordered packet waits this much longer than its normal delay (plus the jitter span), so
 * the packets sent right after it overtake it even when no base delay is configured. */
#define REORDER_EXTRA_MS 20u
#define DELAY_MAX_MS 60000u

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* The whole generator state is the one 64-bit word in hc_impair (net/impair.h): splitmix64 is a
 * full-period generator over that word with good statistical quality, enough for test traffic. */
static uint64_t next_u64(hc_impair *im) { return splitmix64(&im->rng); }

/* Uniform in [0, 100): compared against percentages. */
static double pct(hc_impair *im) { return (double)(next_u64(im) >> 11) * (100.0 / 9007199254740992.0); }

/* Uniform integer in [0, n]. */
static uint32_t upto(hc_impair *im, uint32_t n) {
    uint64_t v = next_u64(im);  /* drawn even for n = 0: the sequence must not depend on n */
    return n ? (uint32_t)(v % ((uint64_t)n + 1)) : 0;
}

static int parse_pct(const char *v, double *out) {
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(d) || d < 0 || d > 100) return -1;
    *out = d;
    return 0;
}

static int parse_u64(const char *v, uint64_t max, uint64_t *out) {
    char *end;
    if (*v < '0' || *v > '9') return -1;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || *end || x > max) return -1;
    *out = x;
    return 0;
}

int hc_impair_parse(const char *s, hc_impair_spec *out, char *err, size_t errlen) {
    hc_impair_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.seed = 1;
    if (!s || !*s) {
        snprintf(err, errlen, "empty impairment spec (expected e.g. loss=5,delay=20,jitter=5,seed=1)");
        return -1;
    }
    char buf[512];
    if (strlen(s) >= sizeof buf) {
        snprintf(err, errlen, "impairment spec too long");
        return -1;
    }
    snprintf(buf, sizeof buf, "%s", s);
    unsigned seen = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok || !eq[1]) {
            snprintf(err, errlen, "bad impairment item '%s' (expected KEY=VALUE)", tok);
            return -1;
        }
        *eq = 0;
        const char *k = tok, *v = eq + 1;
        static const char *const keys[] = {"loss", "delay", "jitter", "reorder", "dup", "seed", "control"};
        unsigned ki = 0;
        while (ki < 7 && strcmp(k, keys[ki])) ki++;
        if (ki == 7) {
            snprintf(err, errlen, "unknown impairment '%s' (known: loss, delay, jitter, reorder, dup, seed, control)", k);
            return -1;
        }
        if (seen & (1u << ki)) {
            snprintf(err, errlen, "impairment '%s' given twice", k);
            return -1;
        }
        seen |= 1u << ki;
        uint64_t u = 0;
        int bad = 0;
        switch (ki) {
        case 0: bad = parse_pct(v, &sp.loss_pct); break;
        case 3: bad = parse_pct(v, &sp.reorder_pct); break;
        case 4: bad = parse_pct(v, &sp.dup_pct); break;
        case 1: bad = parse_u64(v, DELAY_MAX_MS, &u); sp.delay_ms = (uint32_t)u; break;
        case 2: bad = parse_u64(v, DELAY_MAX_MS, &u); sp.jitter_ms = (uint32_t)u; break;
        case 5: bad = parse_u64(v, UINT64_MAX, &u); sp.seed = u; break;
        case 6: bad = parse_u64(v, 1, &u); sp.control = (int)u; break;
        }
        if (bad) {
            const char *want = ki == 0 || ki == 3 || ki == 4 ? "a percentage from 0 to 100"
                               : ki == 1 || ki == 2       ? "milliseconds from 0 to 60000"
                               : ki == 5                  ? "an unsigned integer"
                                                          : "0 or 1";
            snprintf(err, errlen, "bad value '%s' for %s (expected %s)", v, k, want);
            return -1;
        }
    }
    if (!seen) {
        snprintf(err, errlen, "empty impairment spec");
        return -1;
    }
    sp.enabled = 1;
    *out = sp;
    return 0;
}

void hc_impair_init(hc_impair *im, const hc_impair_spec *spec) {
    memset(im, 0, sizeof *im);
    im->spec = *spec;
    /* Mix the seed once so that nearby seeds (1, 2, 3) start far apart. */
    uint64_t x = spec->seed;
    im->rng = splitmix64(&x);
}

/* Base delay with jitter: uniform in [delay - jitter, delay + jitter], never below zero. */
static uint32_t jittered(hc_impair *im) {
    uint32_t d = im->spec.delay_ms, j = im->spec.jitter_ms;
    uint32_t r = upto(im, 2 * j);
    int64_t v = (int64_t)d - (int64_t)j + (int64_t)r;
    return v < 0 ? 0 : (uint32_t)v;
}

int hc_impair_decide(hc_impair *im, uint32_t delay_ms[2]) {
    /* Fixed draw order: loss, dup, then per copy jitter and reorder. */
    double l = pct(im), du = pct(im);
    delay_ms[0] = delay_ms[1] = 0;
    int copies = du < im->spec.dup_pct ? 2 : 1;
    for (int i = 0; i < 2; i++) {
        uint32_t d = jittered(im);
        double ro = pct(im);
        if (ro < im->spec.reorder_pct) d += im->spec.delay_ms + 2 * im->spec.jitter_ms + REORDER_EXTRA_MS;
        delay_ms[i] = d;
    }
    if (l < im->spec.loss_pct) {
        delay_ms[0] = delay_ms[1] = 0;
        return 0;
    }
    if (copies == 1) delay_ms[1] = 0;
    return copies;
}

uint32_t hc_impair_control_delay(hc_impair *im) { return jittered(im); }
