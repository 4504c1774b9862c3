/* What the benchmark programs share: clocks and distributions. Header-only: each benchmark is
 * one program built from its own .c and the library. */
#ifndef HC_BENCH_UTIL_H
#define HC_BENCH_UTIL_H

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Wall clock (CLOCK_MONOTONIC), in ms. */
static inline double hc_bench_mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

/* This thread's CPU time, in ms: preemption by other work on a shared machine is not counted. */
static inline double hc_bench_cpu_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static inline int hc_bench_cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct {
    double mean, p50, p99, max, min;
} hc_bench_dist;

/* Mean, median, 99th percentile, max and min of n values (v is left as it is). */
static inline hc_bench_dist hc_bench_distof(const double *v, int n)
{
    hc_bench_dist d = {0, 0, 0, 0, 0};
    double *s = n > 0 ? malloc(sizeof(double) * (size_t)n) : NULL;
    if (!s) return d;
    memcpy(s, v, sizeof(double) * (size_t)n);
    qsort(s, (size_t)n, sizeof(double), hc_bench_cmp_d);
    for (int i = 0; i < n; i++) d.mean += s[i];
    d.mean /= n;
    d.p50 = s[n / 2];
    d.p99 = s[(int)((n - 1) * 0.99 + 0.5)];
    d.max = s[n - 1];
    d.min = s[0];
    free(s);
    return d;
}

#endif
