/* Crypto benchmarks: SFrame seal/open per suite and size, heap use of the frame path, a
 * 1000-member rekey with cached pairwise keys, and Ed25519 for reference. Figures are medians of
 * several timed runs; nothing is asserted (targets are printed next to the figures). */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "crypto/keybox.h"
#include "crypto/sframe.h"
#include "crypto/sig.h"

/* ---- allocation counter ----
 * The bench binary interposes the malloc family and forwards to glibc's own entry points, so
 * every heap call made in the process (ours, libsodium's) is counted. Only a window of code is
 * measured: the counter is read before and after it. */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t align, size_t n);
extern void __libc_free(void *p);

static volatile unsigned long heap_calls;

void *malloc(size_t n) { heap_calls++; return __libc_malloc(n); }
void *calloc(size_t n, size_t m) { heap_calls++; return __libc_calloc(n, m); }
void *realloc(void *p, size_t n) { heap_calls++; return __libc_realloc(p, n); }
void free(void *p) { if (p) heap_calls++; __libc_free(p); }
void *aligned_alloc(size_t align, size_t n) { heap_calls++; return __libc_memalign(align, n); }
int posix_memalign(void **out, size_t align, size_t n) {
    heap_calls++;
    void *p = __libc_memalign(align, n);
    if (!p) return 12; /* ENOMEM */
    *out = p;
    return 0;
}

/* ---- timing ---- */
#define RUNS 9

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

static volatile uint64_t sink;

/* ---- SFrame ---- */
typedef struct {
    hc_sframe_key k;
    uint8_t pt[1200], frame[1200 + HC_SFRAME_OVERHEAD_MAX], back[1200];
    size_t len;
    uint8_t meta[4];
} frame_bench;

static double time_seal(frame_bench *b, long iters) {
    double t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        int n = hc_sframe_seal(&b->k, (uint64_t)i, b->meta, sizeof b->meta, b->pt, b->len, b->frame, sizeof b->frame);
        sink += (uint64_t)n;
    }
    return (now_ns() - t0) / (double)iters;
}

static double time_open(frame_bench *b, long iters) {
    int n = hc_sframe_seal(&b->k, 12345, b->meta, sizeof b->meta, b->pt, b->len, b->frame, sizeof b->frame);
    uint64_t ctr;
    double t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        int m = hc_sframe_open(&b->k, b->frame, (size_t)n, b->meta, sizeof b->meta, b->back, sizeof b->back, &ctr);
        sink += (uint64_t)m + ctr;
    }
    return (now_ns() - t0) / (double)iters;
}

/* Picks an iteration count that takes about 20 ms, then takes the median of RUNS runs. */
static double bench_ns(double (*fn)(frame_bench *, long), frame_bench *b) {
    long iters = 1000;
    double per = fn(b, iters);
    iters = (long)(20e6 / (per > 1 ? per : 1));
    if (iters < 1000) iters = 1000;
    double v[RUNS];
    for (int r = 0; r < RUNS; r++) v[r] = fn(b, iters);
    return median(v, RUNS);
}

static void bench_frames(void) {
    static frame_bench b;
    uint8_t base[32];
    randombytes_buf(base, sizeof base);
    randombytes_buf(b.pt, sizeof b.pt);
    memcpy(b.meta, "\x01\x02\x07\x55", 4);
    const uint16_t suites[] = {HC_SUITE_CHACHA, HC_SUITE_AES256GCM};
    const size_t sizes[] = {100, 1200};
    printf("SFrame, 4-byte metadata, KID 0x1000703 (4-byte header + tag)      median       target\n");
    for (size_t s = 0; s < 2; s++) {
        if (hc_sframe_key_init(&b.k, suites[s], 0x1000703, base, sizeof base) != 0) {
            printf("  suite 0x%04x: not available on this CPU (crypto_aead_aes256gcm_is_available() == 0)\n", suites[s]);
            continue;
        }
        for (size_t z = 0; z < 2; z++) {
            b.len = sizes[z];
            double seal = bench_ns(time_seal, &b), open = bench_ns(time_open, &b);
            const char *target = suites[s] == HC_SUITE_CHACHA && sizes[z] == 100 ? "<= 1000 ns" : "-";
            printf("  seal 0x%04x %5zu B                                         %7.0f ns/op   %s\n", suites[s], sizes[z], seal, target);
            printf("  open 0x%04x %5zu B                                         %7.0f ns/op   %s\n", suites[s], sizes[z], open, target);
        }
        hc_sframe_key_wipe(&b.k);
    }

    /* Heap use of the 100-byte 0xF001 path, sender and receiver. */
    hc_sframe_sender snd;
    hc_sframe_key_init(&b.k, HC_SUITE_CHACHA, 0x1000703, base, sizeof base);
    hc_sframe_sender_init(&snd, &b.k);
    b.len = 100;
    enum { N = 10000 };
    struct mallinfo2 m0 = mallinfo2();
    unsigned long c0 = heap_calls;
    for (int i = 0; i < N; i++) {
        int n = hc_sframe_sender_seal(&snd, b.meta, sizeof b.meta, b.pt, b.len, b.frame, sizeof b.frame);
        uint64_t ctr;
        sink += (uint64_t)hc_sframe_open(&b.k, b.frame, (size_t)n, b.meta, sizeof b.meta, b.back, sizeof b.back, &ctr);
    }
    unsigned long calls = heap_calls - c0;
    struct mallinfo2 m1 = mallinfo2();
    /* The counter itself works: one malloc + free in a window counts 2. */
    unsigned long c1 = heap_calls;
    void *volatile probe = malloc(64);
    free(probe);
    unsigned long probe_calls = heap_calls - c1;
    printf("  heap, %d x (sender seal + open) 0xF001 100 B: %lu malloc-family calls, mallinfo2 uordblks %+lld B, "
           "arena %+lld B -> %s\n  (counter self-check: malloc + free counted as %lu calls)\n",
           N, calls, (long long)m1.uordblks - (long long)m0.uordblks, (long long)m1.arena - (long long)m0.arena,
           calls == 0 && m1.uordblks == m0.uordblks ? "no heap allocation (target: none)" : "ALLOCATES (target: none)",
           probe_calls);
    hc_sframe_sender_wipe(&snd);
    hc_sframe_key_wipe(&b.k);

    /* Per-KID key setup (HKDF from MK, then the RFC 9605 key schedule): paid once per sender and epoch. */
    uint8_t mk[32], uuid[16];
    randombytes_buf(mk, sizeof mk);
    randombytes_buf(uuid, sizeof uuid);
    double v[RUNS];
    for (int r = 0; r < RUNS; r++) {
        double t0 = now_ns();
        for (int i = 0; i < 2000; i++) {
            hc_sframe_key k;
            hc_frame_key(&k, HC_SUITE_CHACHA, mk, uuid, "123456789", 3, (uint32_t)i, HC_STREAM_AUDIO);
            sink += k.key[0];
            hc_sframe_key_wipe(&k);
        }
        v[r] = (now_ns() - t0) / 2000;
    }
    printf("  frame key derivation (hc_frame_key, 0xF001)                 %7.0f ns/op   -\n", median(v, RUNS));
}

/* ---- rekey: one box per member with cached K_i ---- */
static void bench_rekey(void) {
    enum { MEMBERS = 1000 };
    static uint8_t keys[MEMBERS][HC_BOXKEY_LEN], boxes[MEMBERS][HC_BOX_LEN];
    static hc_box_meta metas[MEMBERS];
    hc_ephemeral leader, member;
    hc_ephemeral_generate(&leader);
    for (int i = 0; i < MEMBERS; i++) { /* setup, not timed: the leader caches K_i at join */
        hc_ephemeral_generate(&member);
        hc_pairwise_key(keys[i], member.pk, leader.sk);
        hc_ephemeral_wipe(&member);
        snprintf(metas[i].meeting_id, sizeof metas[i].meeting_id, "123456789");
        randombytes_buf(metas[i].uuid, HC_UUID_LEN);
        metas[i].leader_index = 0;
        metas[i].recipient_index = (uint32_t)i + 1;
        randombytes_buf(metas[i].nonce, HC_NONCE_LEN);
    }
    hc_ephemeral_wipe(&leader);
    uint8_t mk[HC_MK_LEN];
    double v[RUNS];
    for (int r = 0; r < RUNS; r++) {
        randombytes_buf(mk, sizeof mk);
        double t0 = now_ns();
        for (int i = 0; i < MEMBERS; i++) {
            uint8_t meta[HC_META_MAX];
            size_t ml = hc_box_meta_encode(&metas[i], meta, sizeof meta);
            hc_keybox_seal(boxes[i], keys[i], meta, ml, mk, (uint32_t)r + 2, HC_SUITE_CHACHA);
        }
        v[r] = (now_ns() - t0) / 1e6;
        sink += boxes[MEMBERS - 1][30];
    }
    double ms = median(v, RUNS);
    printf("\nrekey, %d members, cached K_i (Meta encode + keybox seal each)  %7.2f ms        <= 5 ms  (%.2f us/box)\n",
           MEMBERS, ms, ms * 1000 / MEMBERS);
    sodium_memzero(mk, sizeof mk);
    sodium_memzero(keys, sizeof keys);
}

/* ---- Ed25519 with context, for reference ---- */
static void bench_sig(void) {
    uint8_t ivk[32], isk[64], msg[150], sig[64];
    crypto_sign_keypair(ivk, isk);
    randombytes_buf(msg, sizeof msg);
    double vs[RUNS], vv[RUNS];
    enum { N = 500 };
    for (int r = 0; r < RUNS; r++) {
        double t0 = now_ns();
        for (int i = 0; i < N; i++) hc_sign(sig, isk, "hushcall-1-Sig-Announcement", msg, sizeof msg);
        double t1 = now_ns();
        for (int i = 0; i < N; i++) sink += (uint64_t)hc_verify(sig, ivk, "hushcall-1-Sig-Announcement", msg, sizeof msg);
        vs[r] = (t1 - t0) / N;
        vv[r] = (now_ns() - t1) / N;
    }
    printf("\nEd25519 context signature, 150-byte binding (reference)\n");
    printf("  sign                                                         %7.0f ns/op   -\n", median(vs, RUNS));
    printf("  verify                                                       %7.0f ns/op   -\n", median(vv, RUNS));
    sodium_memzero(isk, sizeof isk);
}

int main(void) {
    if (sodium_init() < 0) return 1;
    printf("crypto benchmarks: libsodium %s, AES-256-GCM %s, median of %d runs\n\n", sodium_version_string(),
           crypto_aead_aes256gcm_is_available() ? "available" : "NOT available", RUNS);
    bench_frames();
    bench_rekey();
    bench_sig();
    return 0;
}
