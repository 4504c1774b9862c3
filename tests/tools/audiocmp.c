/* audiocmp: objective comparison of a reference recording and what came out of a call.
 *
 *   audiocmp REF.wav REC.wav [--max-lag-ms MS]   -> lag, normalised cross-correlation, gaps, tones
 *   audiocmp --tone REC.wav [--at HZ]...         -> dominant tone of one file (and power share at HZ)
 *
 * Both files are read as 48 kHz mono (any rate/channels; libsamplerate converts).
 * - lag: the shift of REC against REF that maximises the normalised cross-correlation. Found by a
 *   search on 8x-decimated signals over +-max lag, then refined at full rate around the best few
 *   coarse peaks, so the final lag is exact (not FFT-based; O(n * lags / 64)).
 * - corr: the normalised cross-correlation at that lag over the overlap (performance.md section 7;
 *   clean Opus at 32 kbit/s gives about 0.96).
 * - longest_gap_ms: the longest run of 10 ms frames where the reference has speech (within 40 dB
 *   of its loudest frame, and above -60 dBFS) but the aligned recording is 30 dB or more below it.
 * - tone_hz: the strongest frequency by a Goertzel scan in 100 ms blocks over 3 s from the middle
 *   of the sound (what lies between the first and the last 20 ms above -60 dBFS; block-wise power, so a
 *   phase jump at a glitch does not hide the tone); share = its fraction of the total power.
 * One JSON line on stdout. Exit 0, 1 on error, 2 on usage. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/wavfile.h"

#define FS 48000
#define DEC 8

static double dot(const float *a, const float *b, long n) {
    double s = 0;
    for (long i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* Normalised correlation of ref[i] with rec[i + lag] over the overlap. */
static double ncc_at(const float *ref, long nref, const float *rec, long nrec, long lag) {
    long i0 = lag < 0 ? -lag : 0, i1 = nref;
    if (i1 + lag > nrec) i1 = nrec - lag;
    if (i1 <= i0) return 0;
    double xy = 0, xx = 0, yy = 0;
    for (long i = i0; i < i1; i++) {
        double x = ref[i], y = rec[i + lag];
        xy += x * y;
        xx += x * x;
        yy += y * y;
    }
    return xx > 0 && yy > 0 ? xy / sqrt(xx * yy) : 0;
}

static float *decimate(const float *x, long n, long *out_n) {
    long m = n / DEC;
    float *d = malloc((size_t)(m + 1) * sizeof *d);
    for (long i = 0; i < m; i++) {
        double s = 0;
        for (int k = 0; k < DEC; k++) s += x[i * DEC + k];
        d[i] = (float)(s / DEC);           /* box low-pass: coarse search only */
    }
    *out_n = m;
    return d;
}

static long best_lag(const float *ref, long nref, const float *rec, long nrec, long maxlag, double *corr) {
    long dn_ref, dn_rec;
    float *dr = decimate(ref, nref, &dn_ref), *dc = decimate(rec, nrec, &dn_rec);
    long dmax = maxlag / DEC + 1;
    /* prefix sums of energy for the overlap normalisation */
    double *pr = calloc((size_t)dn_ref + 1, sizeof *pr), *pc = calloc((size_t)dn_rec + 1, sizeof *pc);
    for (long i = 0; i < dn_ref; i++) pr[i + 1] = pr[i] + (double)dr[i] * dr[i];
    for (long i = 0; i < dn_rec; i++) pc[i + 1] = pc[i] + (double)dc[i] * dc[i];
#define NCAND 4
    long cand[NCAND];
    double cval[NCAND];
    for (int k = 0; k < NCAND; k++) cand[k] = 0, cval[k] = -2;
    for (long l = -dmax; l <= dmax; l++) {
        long i0 = l < 0 ? -l : 0, i1 = dn_ref;
        if (i1 + l > dn_rec) i1 = dn_rec - l;
        if (i1 - i0 < 16) continue;
        double xy = dot(dr + i0, dc + i0 + l, i1 - i0);
        double xx = pr[i1] - pr[i0], yy = pc[i1 + l] - pc[i0 + l];
        double c = xx > 0 && yy > 0 ? xy / sqrt(xx * yy) : 0;
        /* keep the best few, at least 2 coarse steps apart */
        int worst = 0;
        int near = -1;
        for (int k = 0; k < NCAND; k++) {
            if (labs(cand[k] - l) <= 2 && cval[k] > -2) near = k;
            if (cval[k] < cval[worst]) worst = k;
        }
        if (near >= 0) {
            if (c > cval[near]) cval[near] = c, cand[near] = l;
        } else if (c > cval[worst]) {
            cval[worst] = c, cand[worst] = l;
        }
    }
    long best = 0;
    double bc = -2;
    for (int k = 0; k < NCAND; k++) {
        if (cval[k] <= -2) continue;
        for (long l = cand[k] * DEC - 2 * DEC; l <= cand[k] * DEC + 2 * DEC; l++) {
            if (l < -maxlag || l > maxlag) continue;
            double c = ncc_at(ref, nref, rec, nrec, l);
            if (c > bc) bc = c, best = l;
        }
    }
    free(dr);
    free(dc);
    free(pr);
    free(pc);
    *corr = bc < -1 ? 0 : bc;
    return best;
}

static double frame_db(const float *x, long n) {
    double e = 0;
    for (long i = 0; i < n; i++) e += (double)x[i] * x[i];
    e /= n > 0 ? n : 1;
    return e > 1e-13 ? 10 * log10(e) : -130;
}

/* Longest run of 10 ms reference-speech frames that the recording (aligned) lost. */
static double longest_gap_ms(const float *ref, long nref, const float *rec, long nrec, long lag, long *gap_frames,
                             long *speech_frames) {
    const long F = FS / 100;
    double peak = -130;
    for (long i = 0; i + F <= nref; i += F) {
        double d = frame_db(ref + i, F);
        if (d > peak) peak = d;
    }
    long run = 0, longest = 0;
    *gap_frames = *speech_frames = 0;
    for (long i = 0; i + F <= nref; i += F) {
        double dr = frame_db(ref + i, F);
        if (dr < peak - 40 || dr < -60) {
            run = 0;
            continue;
        }
        (*speech_frames)++;
        long j = i + lag;
        double dc = j >= 0 && j + F <= nrec ? frame_db(rec + j, F) : -130;
        if (dc <= dr - 30) {
            (*gap_frames)++;
            if (++run > longest) longest = run;
        } else {
            run = 0;
        }
    }
    return (double)longest * 10.0;
}

/* Block Goertzel power share at f over x (n samples). */
static double tone_share(const float *x, long n, double f) {
    const long B = FS / 10;
    double c = 2 * cos(2 * M_PI * f / FS), pt = 0, et = 0;
    for (long b = 0; b + B <= n; b += B) {
        double s1 = 0, s2 = 0, e = 0;
        for (long i = b; i < b + B; i++) {
            double s0 = x[i] + c * s1 - s2;
            s2 = s1;
            s1 = s0;
            e += (double)x[i] * x[i];
        }
        pt += s1 * s1 + s2 * s2 - c * s1 * s2;
        et += (double)B * e / 2;
    }
    return et > 0 ? pt / et : 0;
}

/* The 3 s (or less) a tone is looked for in: the middle of the part between the first and the last
 * 20 ms block above -60 dBFS, so a recording whose sound starts late (a long lead-in of silence on
 * a slow machine) is analysed where the sound is, not in the silence at its middle. */
static void tone_window(const float *x, long n, long *off, long *len) {
    const long B = FS / 50;
    long first = -1, last = -1;
    for (long b = 0; b + B <= n; b += B)
        if (frame_db(x + b, B) > -60) {
            if (first < 0) first = b;
            last = b + B;
        }
    if (first < 0) first = 0, last = n;
    long span = last - first;
    *len = span < 3 * FS ? span : 3 * FS;
    *off = first + (span - *len) / 2;
}

static double dominant_tone(const float *x, long n, double *share) {
    long len, off;
    tone_window(x, n, &off, &len);
    const float *w = x + off;
    double best = 0, bs = -1;
    for (double f = 50; f <= 8000; f += 10) {
        double s = tone_share(w, len, f);
        if (s > bs) bs = s, best = f;
    }
    for (double f = best - 10; f <= best + 10; f += 0.5) {
        double s = tone_share(w, len, f);
        if (s > bs) bs = s, best = f;
    }
    *share = bs < 0 ? 0 : bs;
    return best;
}

static double rms_db(const float *x, long n) { return n > 0 ? frame_db(x, n) : -130; }

static int usage(void) {
    fprintf(stderr, "usage: audiocmp REF.wav REC.wav [--max-lag-ms MS]\n"
                    "       audiocmp --tone REC.wav [--at HZ]...\n");
    return 2;
}

int main(int argc, char **argv) {
    char err[1024];
    if (argc >= 3 && !strcmp(argv[1], "--tone")) {
        float *x;
        size_t n;
        if (hc_wav_read_all(argv[2], FS, &x, &n, err, sizeof err)) {
            fprintf(stderr, "audiocmp: %s\n", err);
            return 1;
        }
        double share, hz = dominant_tone(x, (long)n, &share);
        printf("{\"file\":\"%s\",\"seconds\":%.3f,\"rms_dbfs\":%.1f,\"tone_hz\":%.1f,\"share\":%.3f", argv[2],
               (double)n / FS, rms_db(x, (long)n), hz, share);
        for (int i = 3; i + 1 < argc; i += 2) {
            if (strcmp(argv[i], "--at")) {
                free(x);
                return usage();
            }
            long len, off;
            tone_window(x, (long)n, &off, &len);
            printf(",\"share_%s\":%.3f", argv[i + 1], tone_share(x + off, len, atof(argv[i + 1])));
        }
        printf("}\n");
        free(x);
        return 0;
    }
    if (argc < 3) return usage();
    double max_lag_ms = 1000;
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--max-lag-ms") && i + 1 < argc) max_lag_ms = atof(argv[++i]);
        else return usage();
    }
    float *ref, *rec;
    size_t nref, nrec;
    if (hc_wav_read_all(argv[1], FS, &ref, &nref, err, sizeof err)) {
        fprintf(stderr, "audiocmp: %s\n", err);
        return 1;
    }
    if (hc_wav_read_all(argv[2], FS, &rec, &nrec, err, sizeof err)) {
        fprintf(stderr, "audiocmp: %s\n", err);
        free(ref);
        return 1;
    }
    long maxlag = (long)(max_lag_ms * FS / 1000);
    double corr;
    long lag = best_lag(ref, (long)nref, rec, (long)nrec, maxlag, &corr);
    long gapf, speechf;
    double gap = longest_gap_ms(ref, (long)nref, rec, (long)nrec, lag, &gapf, &speechf);
    double rs, cs, rhz = dominant_tone(ref, (long)nref, &rs), chz = dominant_tone(rec, (long)nrec, &cs);
    printf("{\"ref\":\"%s\",\"rec\":\"%s\",\"ref_seconds\":%.3f,\"rec_seconds\":%.3f,\"lag_samples\":%ld,"
           "\"lag_ms\":%.2f,\"corr\":%.4f,\"longest_gap_ms\":%.0f,\"gap_frames\":%ld,\"speech_frames\":%ld,"
           "\"ref_rms_dbfs\":%.1f,\"rec_rms_dbfs\":%.1f,\"ref_tone_hz\":%.1f,\"ref_tone_share\":%.3f,"
           "\"rec_tone_hz\":%.1f,\"rec_tone_share\":%.3f}\n",
           argv[1], argv[2], (double)nref / FS, (double)nrec / FS, lag, lag * 1000.0 / FS, corr, gap, gapf, speechf,
           rms_db(ref, (long)nref), rms_db(rec, (long)nrec), rhz, rs, chz, cs);
    free(ref);
    free(rec);
    return 0;
}
