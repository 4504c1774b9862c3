/* Video files and sources: the y4m writer and reader round-trip pictures exactly, hostile or
 * damaged files are refused with a reason (never a crash); the pattern source on a simulated
 * clock delivers exactly fps * seconds frames with increasing numbers and readable stamps; the
 * y4m source loops a short file, scales, and reports a damaged file once; the dispatch. */
#include "tests/testutil.h"

#include <unistd.h>

#include "audio/vclock.h"
#include "video/pattern.h"
#include "video/source.h"
#include "video/y4m.h"

static char tmpdir[64];

static void tmp_path(char *buf, size_t cap, const char *name)
{
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/hc_vsrc_XXXXXX");
        assert_non_null(mkdtemp(tmpdir));
    }
    snprintf(buf, cap, "%s/%s", tmpdir, name);
}

static int same_pixels(const hc_video_frame *a, const hc_video_frame *b)
{
    if (a->w != b->w || a->h != b->h) return 0;
    for (int y = 0; y < a->h; y++)
        if (memcmp(a->y + y * a->stride_y, b->y + y * b->stride_y, (size_t)a->w)) return 0;
    for (int y = 0; y < a->h / 2; y++)
        if (memcmp(a->u + y * a->stride_u, b->u + y * b->stride_u, (size_t)a->w / 2) ||
            memcmp(a->v + y * a->stride_v, b->v + y * b->stride_v, (size_t)a->w / 2))
            return 0;
    return 1;
}

/* Writes n pattern frames (seq first..first+n-1) of w x h. */
static void write_pattern_file(const char *path, int w, int h, int n, uint32_t first)
{
    char err[200];
    hc_y4m_writer wr;
    assert_int_equal(hc_y4m_writer_open(&wr, path, 15, err, sizeof err), 0);
    hc_video_frame f;
    assert_int_equal(hc_video_frame_alloc(&f, w, h), 0);
    for (int i = 0; i < n; i++) {
        hc_pattern_draw(&f, first + (uint32_t)i, 1000u * (uint32_t)i);
        assert_int_equal(hc_y4m_writer_put(&wr, &f), 0);
    }
    assert_int_equal(wr.frames_written, (uint64_t)n);
    hc_y4m_writer_close(&wr);
    hc_video_frame_free(&f);
}

static void write_file(const char *path, const char *header, size_t payload)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(header, f);
    for (size_t i = 0; i < payload; i++) fputc(128, f);
    fclose(f);
}

static void test_y4m_roundtrip(void **st)
{
    (void)st;
    char path[128], err[200];
    tmp_path(path, sizeof path, "rt.y4m");
    write_pattern_file(path, 160, 90, 12, 0);
    /* the header, exactly */
    FILE *raw = fopen(path, "rb");
    char line[128];
    assert_non_null(fgets(line, sizeof line, raw));
    assert_string_equal(line, "YUV4MPEG2 W160 H90 F15:1 Ip A1:1 C420jpeg\n");
    fclose(raw);

    hc_y4m_reader r;
    assert_int_equal(hc_y4m_reader_open(&r, path, err, sizeof err), 0);
    assert_int_equal(r.w, 160);
    assert_int_equal(r.h, 90);
    assert_int_equal(r.fps_num, 15);
    assert_int_equal(r.fps_den, 1);
    hc_video_frame got, want;
    assert_int_equal(hc_video_frame_alloc(&got, 160, 90), 0);
    assert_int_equal(hc_video_frame_alloc(&want, 160, 90), 0);
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < 12; i++) {
            assert_int_equal(hc_y4m_reader_next(&r, &got, err, sizeof err), 1);
            hc_pattern_draw(&want, (uint32_t)i, 1000u * (uint32_t)i);
            assert_true(same_pixels(&got, &want));
        }
        assert_int_equal(hc_y4m_reader_next(&r, &got, err, sizeof err), 0);
        assert_int_equal(hc_y4m_reader_rewind(&r), 0);
    }
    /* a buffer of the wrong size is refused */
    hc_video_frame small;
    assert_int_equal(hc_video_frame_alloc(&small, 80, 46), 0);
    assert_int_equal(hc_y4m_reader_next(&r, &small, err, sizeof err), -1);
    hc_video_frame_free(&small);
    hc_y4m_reader_close(&r);

    /* the writer scales later pictures of another size to the first one's */
    tmp_path(path, sizeof path, "scaled.y4m");
    hc_y4m_writer wr;
    assert_int_equal(hc_y4m_writer_open(&wr, path, 15, err, sizeof err), 0);
    hc_video_frame big;
    assert_int_equal(hc_video_frame_alloc(&big, 320, 180), 0);
    hc_pattern_draw(&want, 5, 6);
    hc_pattern_draw(&big, 7, 8);
    assert_int_equal(hc_y4m_writer_put(&wr, &want), 0);
    assert_int_equal(hc_y4m_writer_put(&wr, &big), 0);
    assert_int_equal(hc_y4m_writer_put(&wr, &want), 0);
    hc_y4m_writer_close(&wr);
    assert_int_equal(hc_y4m_reader_open(&r, path, err, sizeof err), 0);
    assert_int_equal(r.w, 160);
    for (int i = 0; i < 3; i++) assert_int_equal(hc_y4m_reader_next(&r, &got, err, sizeof err), 1);
    assert_true(same_pixels(&got, &want));
    assert_int_equal(hc_y4m_reader_next(&r, &got, err, sizeof err), 0);
    hc_y4m_reader_close(&r);
    hc_video_frame_free(&big);
    hc_video_frame_free(&got);
    hc_video_frame_free(&want);

    assert_int_equal(hc_y4m_writer_open(&wr, "/nonexistent-dir/x.y4m", 15, err, sizeof err), -1);
    /* This writer treats fps <= 0 as "not given" and writes the default 15/1 (the engine passes
     * its configured rate; the file's rate is informational). The property checked: the file it
     * makes is valid and carries a positive rate, never F0:1. */
    assert_int_equal(hc_y4m_writer_open(&wr, path, 0, err, sizeof err), 0);
    assert_int_equal(hc_video_frame_alloc(&want, 160, 90), 0);
    hc_pattern_draw(&want, 1, 2);
    assert_int_equal(hc_y4m_writer_put(&wr, &want), 0);
    hc_y4m_writer_close(&wr);
    hc_video_frame_free(&want);
    raw = fopen(path, "rb");
    assert_non_null(raw);
    assert_non_null(fgets(line, sizeof line, raw));
    assert_string_equal(line, "YUV4MPEG2 W160 H90 F15:1 Ip A1:1 C420jpeg\n");
    fclose(raw);
    assert_int_equal(hc_y4m_reader_open(&r, path, err, sizeof err), 0);
    assert_int_equal(r.fps_num, 15);
    assert_int_equal(r.fps_den, 1);
    hc_y4m_reader_close(&r);
}

static void test_y4m_hostile(void **st)
{
    (void)st;
    char path[128], err[200];
    tmp_path(path, sizeof path, "bad.y4m");
    /* Each message must name the problem and the offending value (two words it must contain),
     * not a particular sentence. */
    static const struct {
        const char *header;
        const char *reason, *value;
    } bad[] = {
        {"", "not a YUV4MPEG2", "bad.y4m"},
        {"YUV4MPEG W160 H90 F15:1\n", "not a YUV4MPEG2", "bad.y4m"},
        {"YUV4MPEG2X W160 H90\n", "not a YUV4MPEG2", "bad.y4m"},
        {"YUV4MPEG2 W160 H90 F15:1 C444\n", "colour space", "444"},
        {"YUV4MPEG2 W160 H90 F15:1 C422\n", "colour space", "422"},
        {"YUV4MPEG2 W160 H90 F15:1 Cmono\n", "colour space", "mono"},
        {"YUV4MPEG2 W0 H90 F15:1\n", "picture size", "0x90"},
        {"YUV4MPEG2 W-160 H90 F15:1\n", "picture size", "-160x90"},
        {"YUV4MPEG2 W160x H90 F15:1\n", "width", "160x"},
        {"YUV4MPEG2 W99999999999999999999 H90\n", "width", "not a number"},
        {"YUV4MPEG2 W160 H F15:1\n", "height", "not a number"},
        {"YUV4MPEG2 W3840 H2160 F15:1\n", "3840x2160", "up to 1920x1080"},
        {"YUV4MPEG2 W1922 H1080 F15:1\n", "1922x1080", "up to 1920x1080"},
        {"YUV4MPEG2 W161 H90 F15:1\n", "161x90", "even"},
        {"YUV4MPEG2 W160 H91 F15:1\n", "160x91", "even"},
        {"YUV4MPEG2 H90 F15:1\n", "no width", "(W)"},
        {"YUV4MPEG2 W160 F15:1\n", "no height", "(H)"},
        {"YUV4MPEG2 W160 H90 F15:1", "not a YUV4MPEG2", "bad.y4m"},     /* the file ends inside the header */
    };
    hc_y4m_reader r;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_file(path, bad[i].header, 0);
        err[0] = 0;
        assert_int_equal(hc_y4m_reader_open(&r, path, err, sizeof err), -1);
        if (!strstr(err, bad[i].reason) || !strstr(err, bad[i].value))
            fail_msg("header %zu: '%s' lacks '%s' or '%s'", i, err, bad[i].reason, bad[i].value);
        assert_null(r.f);
    }
    /* This reader treats the frame rate as informational (a y4m source is paced at the call's
     * rate): a missing, zero, negative, overflowing or malformed F tag is not a refusal but falls
     * back to 15/1, so no consumer ever sees a zero or negative rate. */
    static const char *bad_rate[] = {
        "YUV4MPEG2 W160 H90 F0:1\n",   "YUV4MPEG2 W160 H90 F15:0\n", "YUV4MPEG2 W160 H90 F15\n",
        "YUV4MPEG2 W160 H90 F-15:-1\n", "YUV4MPEG2 W160 H90 F99999999999999999999:1\n",
        "YUV4MPEG2 W160 H90 F25:1x\n", "YUV4MPEG2 W160 H90\n",
    };
    for (size_t i = 0; i < sizeof bad_rate / sizeof bad_rate[0]; i++) {
        write_file(path, bad_rate[i], 0);
        if (hc_y4m_reader_open(&r, path, err, sizeof err)) fail_msg("rate header %zu refused: %s", i, err);
        assert_int_equal(r.w, 160);
        assert_int_equal(r.h, 90);
        assert_int_equal(r.fps_num, 15);
        assert_int_equal(r.fps_den, 1);
        hc_y4m_reader_close(&r);
    }
    write_file(path, "YUV4MPEG2 W160 H90 F30000:1001\n", 0);
    assert_int_equal(hc_y4m_reader_open(&r, path, err, sizeof err), 0);
    assert_int_equal(r.fps_num, 30000);
    assert_int_equal(r.fps_den, 1001);
    hc_y4m_reader_close(&r);
    /* an endless header line */
    FILE *f = fopen(path, "wb");
    fputs("YUV4MPEG2 W160 H90 ", f);
    for (int i = 0; i < 100000; i++) fputs("X", f);
    fputs("\n", f);
    fclose(f);
    err[0] = 0;
    assert_int_equal(hc_y4m_reader_open(&r, path, err, sizeof err), -1);
    assert_non_null(strstr(err, "bad.y4m"));
    assert_int_equal(hc_y4m_reader_open(&r, "/nonexistent.y4m", err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot open"));

    /* accepted variants: no C tag, C420, C420paldv, C420mpeg2, extra tags, FRAME parameters */
    static const char *good[] = {
        "YUV4MPEG2 W16 H8 F25:1\nFRAME\n",
        "YUV4MPEG2 W16 H8 F30000:1001 It A0:0 C420 XYSCSS=420JPEG\nFRAME Ixyz\n",
        "YUV4MPEG2 C420paldv W16 H8 F25:1\nFRAME\n",
        "YUV4MPEG2 W16 H8 C420mpeg2\nFRAME XFOO=1\n",
    };
    hc_video_frame fr;
    assert_int_equal(hc_video_frame_alloc(&fr, 16, 8), 0);
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        write_file(path, good[i], 16 * 8 * 3 / 2);
        if (hc_y4m_reader_open(&r, path, err, sizeof err)) fail_msg("good header %zu refused: %s", i, err);
        assert_int_equal(r.w, 16);
        assert_int_equal(hc_y4m_reader_next(&r, &fr, err, sizeof err), 1);
        assert_int_equal(fr.y[0], 128);
        assert_int_equal(hc_y4m_reader_next(&r, &fr, err, sizeof err), 0);
        hc_y4m_reader_close(&r);
    }
    /* a truncated last frame is an error with a reason */
    write_file(path, "YUV4MPEG2 W16 H8 F25:1\nFRAME\n", 16 * 8 * 3 / 2 - 1);
    assert_int_equal(hc_y4m_reader_open(&r, path, err, sizeof err), 0);
    err[0] = 0;
    assert_int_equal(hc_y4m_reader_next(&r, &fr, err, sizeof err), -1);
    if (!strstr(err, "truncated") || !strstr(err, "picture 1")) fail_msg("truncated file: '%s'", err);
    hc_y4m_reader_close(&r);
    /* the same in the second picture: the first is delivered, the message says which one */
    f = fopen(path, "wb");
    assert_non_null(f);
    fputs("YUV4MPEG2 W16 H8 F25:1\nFRAME\n", f);
    for (int i = 0; i < 16 * 8 * 3 / 2; i++) fputc(128, f);
    fputs("FRAME\n", f);
    for (int i = 0; i < 100; i++) fputc(128, f);
    fclose(f);
    assert_int_equal(hc_y4m_reader_open(&r, path, err, sizeof err), 0);
    assert_int_equal(hc_y4m_reader_next(&r, &fr, err, sizeof err), 1);
    err[0] = 0;
    assert_int_equal(hc_y4m_reader_next(&r, &fr, err, sizeof err), -1);
    if (!strstr(err, "truncated") || !strstr(err, "picture 2")) fail_msg("truncated file: '%s'", err);
    hc_y4m_reader_close(&r);
    /* a frame without its FRAME line, or a FRAME line that never ends */
    write_file(path, "YUV4MPEG2 W16 H8 F25:1\nFRAMX\n", 16 * 8 * 3 / 2);
    assert_int_equal(hc_y4m_reader_open(&r, path, err, sizeof err), 0);
    assert_int_equal(hc_y4m_reader_next(&r, &fr, err, sizeof err), -1);
    assert_non_null(strstr(err, "FRAME"));
    hc_y4m_reader_close(&r);
    write_file(path, "YUV4MPEG2 W16 H8 F25:1\nFRAMES\n", 16 * 8 * 3 / 2);
    assert_int_equal(hc_y4m_reader_open(&r, path, err, sizeof err), 0);
    assert_int_equal(hc_y4m_reader_next(&r, &fr, err, sizeof err), -1);
    assert_non_null(strstr(err, "FRAME"));
    hc_y4m_reader_close(&r);
    write_file(path, "YUV4MPEG2 W16 H8 F25:1\nFRAME", 5000);
    assert_int_equal(hc_y4m_reader_open(&r, path, err, sizeof err), 0);
    assert_int_equal(hc_y4m_reader_next(&r, &fr, err, sizeof err), -1);
    assert_non_null(strstr(err, "FRAME"));
    hc_y4m_reader_close(&r);
    /* the file ends inside a FRAME line: that is truncation too */
    write_file(path, "YUV4MPEG2 W16 H8 F25:1\nFRA", 0);
    assert_int_equal(hc_y4m_reader_open(&r, path, err, sizeof err), 0);
    assert_int_equal(hc_y4m_reader_next(&r, &fr, err, sizeof err), -1);
    assert_non_null(strstr(err, "truncated"));
    hc_y4m_reader_close(&r);
    hc_video_frame_free(&fr);
}

/* --- sources ---------------------------------------------------------------------------------- */

#define MAXF 200
typedef struct {
    int n;
    uint32_t seq[MAXF], capture_ms[MAXF], stamp_seq[MAXF], stamp_ms[MAXF];
    int stamp_ok[MAXF], w, h;
    int errors;
    char error[200];
} sink;

static void on_frame(void *ctx, const hc_video_frame *f)
{
    sink *s = ctx;
    if (s->n >= MAXF) return;
    s->seq[s->n] = f->seq;
    s->capture_ms[s->n] = f->capture_ms;
    s->stamp_ok[s->n] = hc_pattern_read(f, &s->stamp_seq[s->n], &s->stamp_ms[s->n]) == 0;
    s->w = f->w;
    s->h = f->h;
    s->n++;
}

static void on_error(void *ctx, const char *msg)
{
    sink *s = ctx;
    s->errors++;
    snprintf(s->error, sizeof s->error, "%s", msg);
}

static void test_pattern_source_vclock(void **st)
{
    (void)st;
    uv_loop_t loop;
    uv_loop_init(&loop);
    uint64_t t0 = 5000000000ull;
    hc_vclock *vc = hc_vclock_new(t0);
    static sink s;
    memset(&s, 0, sizeof s);
    hc_video_spec spec = {.kind = HC_VIDEO_PATTERN};
    hc_video_source_params p = {160, 90, 15, vc};
    hc_video_source *src;
    char err[200];
    assert_int_equal(hc_video_source_open(&src, &spec, &loop, &p, on_frame, on_error, &s, err, sizeof err), 0);
    assert_string_equal(src->ops->kind, "pattern");
    assert_non_null(strstr(src->desc, "160x90"));
    assert_int_equal(s.n, 0);
    assert_int_equal(src->ops->start(src, err, sizeof err), 0);
    hc_vclock_run_until(vc, t0 + 4000000000ull);
    assert_int_equal(s.n, 15 * 4);
    assert_int_equal(src->frames, 60);
    for (int i = 0; i < s.n; i++) {
        assert_int_equal(s.seq[i], (uint32_t)i);
        assert_true(s.stamp_ok[i]);
        assert_int_equal(s.stamp_seq[i], (uint32_t)i);
        /* the vclock's time of the tick, in ms: one period after another from the start */
        uint32_t want_ms = (uint32_t)((t0 + (uint64_t)(i + 1) * (1000000000ull / 15)) / 1000000u);
        assert_int_equal(s.capture_ms[i], want_ms);
        assert_int_equal(s.stamp_ms[i], want_ms);
    }
    assert_int_equal(s.w, 160);
    assert_int_equal(s.h, 90);
    /* stopped: nothing more; started again: the numbers go on */
    src->ops->stop(src);
    hc_vclock_run_until(vc, t0 + 6000000000ull);
    assert_int_equal(s.n, 60);
    assert_int_equal(src->ops->start(src, err, sizeof err), 0);
    hc_vclock_run_until(vc, t0 + 7000000000ull);
    assert_int_equal(s.n, 75);
    assert_int_equal(s.seq[74], 74u);
    assert_int_equal(s.errors, 0);
    src->ops->close(src);
    hc_vclock_run_until(vc, t0 + 9000000000ull);
    assert_int_equal(s.n, 75);
    hc_vclock_free(vc);
    assert_int_equal(uv_loop_close(&loop), 0);

    /* bad parameters */
    hc_video_source_params bad = {161, 90, 15, NULL};
    assert_int_equal(hc_vsrc_pattern_open(&src, &loop, &bad, on_frame, on_error, &s, err, sizeof err), -1);
    bad = (hc_video_source_params){160, 90, 0, NULL};
    assert_int_equal(hc_vsrc_pattern_open(&src, &loop, &bad, on_frame, on_error, &s, err, sizeof err), -1);
}

static void test_pattern_source_real_clock(void **st)
{
    (void)st;
    uv_loop_t loop;
    uv_loop_init(&loop);
    static sink s;
    memset(&s, 0, sizeof s);
    hc_video_source_params p = {160, 90, 30, NULL};
    hc_video_source *src;
    char err[200];
    assert_int_equal(hc_vsrc_pattern_open(&src, &loop, &p, on_frame, on_error, &s, err, sizeof err), 0);
    uint32_t before = hc_video_clock_ms();
    assert_int_equal(src->ops->start(src, err, sizeof err), 0);
    while (s.n < 3) uv_run(&loop, UV_RUN_ONCE);
    uint32_t after = hc_video_clock_ms();
    src->ops->close(src);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    for (int i = 0; i < 3; i++) {
        assert_true(s.stamp_ok[i]);
        assert_true(s.capture_ms[i] >= before && s.capture_ms[i] <= after);   /* the shared capture clock */
    }
}

static void test_y4m_source_loops(void **st)
{
    (void)st;
    char path[128], err[200];
    tmp_path(path, sizeof path, "three.y4m");
    write_pattern_file(path, 160, 90, 3, 100);
    uv_loop_t loop;
    uv_loop_init(&loop);
    uint64_t t0 = 1000000000ull;
    hc_vclock *vc = hc_vclock_new(t0);
    static sink s;
    memset(&s, 0, sizeof s);
    hc_video_spec spec = {.kind = HC_VIDEO_Y4M};
    snprintf(spec.path, sizeof spec.path, "%s", path);
    hc_video_source_params p = {160, 90, 10, vc};
    hc_video_source *src;
    assert_int_equal(hc_video_source_open(&src, &spec, &loop, &p, on_frame, on_error, &s, err, sizeof err), 0);
    assert_string_equal(src->ops->kind, "y4m");
    assert_int_equal(src->ops->start(src, err, sizeof err), 0);
    hc_vclock_run_until(vc, t0 + 2000000000ull);
    assert_int_equal(s.n, 20);
    for (int i = 0; i < s.n; i++) {
        assert_int_equal(s.seq[i], (uint32_t)i);                  /* the source's numbering */
        assert_true(s.stamp_ok[i]);
        assert_int_equal(s.stamp_seq[i], 100u + (uint32_t)(i % 3));   /* the file's pictures, looped */
        assert_int_equal(s.capture_ms[i], (uint32_t)((t0 + (uint64_t)(i + 1) * 100000000ull) / 1000000u));
    }
    assert_int_equal(s.errors, 0);
    src->ops->close(src);

    /* scaled to another size */
    memset(&s, 0, sizeof s);
    p = (hc_video_source_params){320, 180, 10, vc};
    assert_int_equal(hc_video_source_open(&src, &spec, &loop, &p, on_frame, on_error, &s, err, sizeof err), 0);
    assert_int_equal(src->ops->start(src, err, sizeof err), 0);
    hc_vclock_run_until(vc, hc_vclock_now(vc) + 1000000000ull);
    assert_int_equal(s.n, 10);
    assert_int_equal(s.w, 320);
    assert_int_equal(s.h, 180);
    src->ops->close(src);

    /* a damaged file: the error is reported once, the frames stop */
    tmp_path(path, sizeof path, "trunc.y4m");
    write_file(path, "YUV4MPEG2 W160 H90 F15:1\nFRAME\n", 160 * 90 * 3 / 2 + 7);
    snprintf(spec.path, sizeof spec.path, "%s", path);
    memset(&s, 0, sizeof s);
    p = (hc_video_source_params){160, 90, 10, vc};
    assert_int_equal(hc_video_source_open(&src, &spec, &loop, &p, on_frame, on_error, &s, err, sizeof err), 0);
    assert_int_equal(src->ops->start(src, err, sizeof err), 0);
    hc_vclock_run_until(vc, hc_vclock_now(vc) + 3000000000ull);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.errors, 1);
    assert_non_null(strstr(s.error, "truncated"));
    assert_int_equal(src->ops->start(src, err, sizeof err), -1);
    src->ops->close(src);

    /* an empty file (header only) */
    write_file(path, "YUV4MPEG2 W160 H90 F15:1\n", 0);
    memset(&s, 0, sizeof s);
    assert_int_equal(hc_video_source_open(&src, &spec, &loop, &p, on_frame, on_error, &s, err, sizeof err), 0);
    assert_int_equal(src->ops->start(src, err, sizeof err), 0);
    hc_vclock_run_until(vc, hc_vclock_now(vc) + 1000000000ull);
    assert_int_equal(s.n, 0);
    assert_int_equal(s.errors, 1);
    src->ops->close(src);

    /* a missing file fails at open */
    snprintf(spec.path, sizeof spec.path, "%s/missing.y4m", tmpdir);
    err[0] = 0;
    assert_int_equal(hc_video_source_open(&src, &spec, &loop, &p, on_frame, on_error, &s, err, sizeof err), -1);
    assert_null(src);
    assert_non_null(strstr(err, "cannot open"));

    hc_vclock_free(vc);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_dispatch(void **st)
{
    (void)st;
    uv_loop_t loop;
    uv_loop_init(&loop);
    hc_video_source *src = (hc_video_source *)1;
    char err[200];
    hc_video_source_params p = {160, 90, 15, NULL};
    hc_video_spec spec = {.kind = HC_VIDEO_NONE};
    err[0] = 0;
    assert_int_equal(hc_video_source_open(&src, &spec, &loop, &p, on_frame, on_error, NULL, err, sizeof err), -1);
    assert_null(src);
    assert_non_null(strstr(err, "no video source"));
    spec.kind = HC_VIDEO_CAMERA;
    err[0] = 0;
    /* the V4L2 camera (src_camera.c): a device that does not exist fails at open, and the reason
     * names it */
    snprintf(spec.path, sizeof spec.path, "/dev/video99");
    src = (hc_video_source *)1;
    assert_int_equal(hc_video_source_open(&src, &spec, &loop, &p, on_frame, on_error, NULL, err, sizeof err), -1);
    assert_null(src);
    assert_non_null(strstr(err, "/dev/video99"));
    assert_int_equal(uv_loop_close(&loop), 0);
}

static int cleanup(void **st)
{
    (void)st;
    if (tmpdir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0) return -1;
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_y4m_roundtrip),
        cmocka_unit_test(test_y4m_hostile),
        cmocka_unit_test(test_pattern_source_vclock),
        cmocka_unit_test(test_pattern_source_real_clock),
        cmocka_unit_test(test_y4m_source_loops),
        cmocka_unit_test(test_dispatch),
    };
    return cmocka_run_group_tests(tests, NULL, cleanup);
}
