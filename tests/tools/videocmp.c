/* videocmp: what a receiver showed, against what the pattern sent.
 *
 *   videocmp REC.y4m [--fps N] [--size WxH]
 *
 * REC.y4m is a --video-out recording of a sender whose --video-in was `pattern`. Each picture's
 * stamp (video/pattern.h) says which frame it is and when it was captured, so the exact picture
 * the sender drew can be drawn again (at the sender's size, --size, default the file's) and
 * compared: PSNR-Y of every picture shown, and which frame numbers never were.
 *
 * One JSON line: frames (pictures in the file), stamped (stamps that read back), first_seq,
 * last_seq, distinct, missing (frame numbers between first and last never shown), repeats,
 * psnr_min / psnr_mean / psnr_p5 (dB), below_30 / below_32 (pictures under those), gaps (runs of
 * missing frames) and recovery_ms_max / recovery_ms_p95: for each run, the sender-clock time from
 * the first frame not shown to the next frame shown ((next - first missing) / fps), the time a
 * receiver's picture stayed frozen after a loss. Exit 0, 1 on error, 2 on usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "video/frame.h"
#include "video/pattern.h"
#include "video/spec.h"
#include "video/y4m.h"

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int cmp_u(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    int fps = 15, sw = 0, sh = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--fps") && i + 1 < argc) fps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--size") && i + 1 < argc) {
            char e[200];
            if (hc_video_size_parse(&sw, &sh, argv[++i], e, sizeof e)) { fprintf(stderr, "%s\n", e); return 2; }
        } else if (!path) path = argv[i];
        else { fprintf(stderr, "usage: videocmp REC.y4m [--fps N] [--size WxH]\n"); return 2; }
    }
    if (!path || fps < 1) { fprintf(stderr, "usage: videocmp REC.y4m [--fps N] [--size WxH]\n"); return 2; }
    hc_y4m_reader r;
    char err[300];
    if (hc_y4m_reader_open(&r, path, err, sizeof err) < 0) { fprintf(stderr, "videocmp: %s\n", err); return 1; }
    if (!sw) { sw = r.w; sh = r.h; }
    hc_video_frame pic, ref, ref_scaled;
    if (hc_video_frame_alloc(&pic, r.w, r.h) || hc_video_frame_alloc(&ref, sw, sh) ||
        hc_video_frame_alloc(&ref_scaled, r.w, r.h)) {
        fprintf(stderr, "videocmp: out of memory\n");
        return 1;
    }
    size_t cap = 1024, n = 0, frames = 0;
    double *psnr = malloc(cap * sizeof *psnr);
    uint32_t *seqs = malloc(cap * sizeof *seqs);
    double sum = 0;
    int rc;
    while ((rc = hc_y4m_reader_next(&r, &pic, err, sizeof err)) == 1) {
        frames++;
        uint32_t seq, cap_ms;
        if (hc_pattern_read(&pic, &seq, &cap_ms) < 0) continue;
        hc_pattern_draw(&ref, seq, cap_ms);
        const hc_video_frame *cmp = &ref;
        if (sw != r.w || sh != r.h) {
            hc_video_frame_copy_scaled(&ref_scaled, &ref);
            cmp = &ref_scaled;
        }
        if (n == cap) {
            cap *= 2;
            psnr = realloc(psnr, cap * sizeof *psnr);
            seqs = realloc(seqs, cap * sizeof *seqs);
        }
        psnr[n] = hc_video_psnr_y(&pic, cmp);
        seqs[n] = seq;
        sum += psnr[n];
        n++;
    }
    if (rc < 0) fprintf(stderr, "videocmp: %s (counted what came before)\n", err);
    size_t below30 = 0, below32 = 0;
    for (size_t i = 0; i < n; i++) {
        below30 += psnr[i] < 30;
        below32 += psnr[i] < 32;
    }
    qsort(psnr, n, sizeof *psnr, cmp_d);
    qsort(seqs, n, sizeof *seqs, cmp_u);
    size_t distinct = 0, repeats = 0, missing = 0, gaps = 0;
    double rec[4096];
    size_t nrec = 0;
    for (size_t i = 0; i < n; i++) {
        if (i && seqs[i] == seqs[i - 1]) { repeats++; continue; }
        distinct++;
        if (i && seqs[i] > seqs[i - 1] + 1) {
            uint32_t miss = seqs[i] - seqs[i - 1] - 1;
            missing += miss;
            gaps++;
            if (nrec < sizeof rec / sizeof rec[0]) rec[nrec++] = (double)(miss) * 1000.0 / fps;
        }
    }
    qsort(rec, nrec, sizeof *rec, cmp_d);
    printf("{\"frames\":%zu,\"stamped\":%zu,\"first_seq\":%ld,\"last_seq\":%ld,\"distinct\":%zu,\"missing\":%zu,"
           "\"repeats\":%zu,\"psnr_min\":%.2f,\"psnr_mean\":%.2f,\"psnr_p5\":%.2f,\"below_30\":%zu,\"below_32\":%zu,"
           "\"gaps\":%zu,\"recovery_ms_max\":%.0f,\"recovery_ms_p95\":%.0f}\n",
           frames, n, n ? (long)seqs[0] : -1L, n ? (long)seqs[n - 1] : -1L, distinct, missing, repeats,
           n ? psnr[0] : 0.0, n ? sum / (double)n : 0.0, n ? psnr[n / 20] : 0.0, below30, below32, gaps,
           nrec ? rec[nrec - 1] : 0.0, nrec ? rec[(nrec * 95) / 100 < nrec ? (nrec * 95) / 100 : nrec - 1] : 0.0);
    free(psnr);
    free(seqs);
    hc_video_frame_free(&pic);
    hc_video_frame_free(&ref);
    hc_video_frame_free(&ref_scaled);
    hc_y4m_reader_close(&r);
    return 0;
}
