/* The video engine's receiving side, as the session drives it (no loop: every call carries the
 * time): the picture each member's video gives the front ends (live, then frozen on a gap, live
 * again after the keyframe asked for), the started/stopped events, the control frames it sends
 * the relay (keyframe requests, pins), and the view state's contract (the picture pointer never
 * outlives the update that passed it). */
#include "tests/testutil.h"

#include <string.h>

#include "net/wire.h"
#include "ui/uistate.h"
#include "video/engine.h"
#include "video/pattern.h"
#include "video/sender.h"

#define W 160
#define H 90
#define SENDER 5

typedef struct {
    uint8_t flags;
    size_t len;
    uint8_t pt[HC_MEDIA_MAX];
} frag;

static struct {
    frag q[64];
    size_t n;
    int drop;                  /* drop what the sender makes (a lost frame) */
    int ctrl_keyreq, ctrl_pin, ctrl_offer;
    uint32_t last_pin;
    int started, stopped;
    uint32_t last_ev_index;
    int pictures;              /* the picture callback: a new picture is the one shown */
    uint32_t last_pic_index;
    int camera_on, camera_off, camera_error;
    char camera_text[400];
} T;

static int on_send(void *ctx, uint8_t flags, const uint8_t *pt, size_t len) {
    (void)ctx;
    if (T.drop || T.n == 64) return 0;
    frag *f = &T.q[T.n++];
    f->flags = flags;
    f->len = len;
    memcpy(f->pt, pt, len);
    return 0;
}

static void on_ctrl(void *ctx, uint8_t op, uint32_t index, uint32_t value) {
    (void)ctx; (void)value;
    if (op == HC_VOP_KEYREQ) { T.ctrl_keyreq++; assert_int_equal(index, SENDER); }
    if (op == HC_VOP_PIN) { T.ctrl_pin++; T.last_pin = index; }
    if (op == HC_VOP_OFFER) T.ctrl_offer++;
}

static void on_event(void *ctx, int type, uint32_t index, const char *text) {
    (void)ctx;
    if (type == HC_VIDEO_EV_STARTED) T.started++;
    if (type == HC_VIDEO_EV_STOPPED) T.stopped++;
    if (type == HC_VIDEO_EV_CAMERA_ON) T.camera_on++;
    if (type == HC_VIDEO_EV_CAMERA_OFF) T.camera_off++;
    if (type == HC_VIDEO_EV_CAMERA_ERROR) T.camera_error++;
    if (type >= HC_VIDEO_EV_CAMERA_ON) snprintf(T.camera_text, sizeof T.camera_text, "%s", text ? text : "");
    T.last_ev_index = index;
}

static void on_picture(void *ctx, uint32_t index) {
    (void)ctx;
    T.pictures++;
    T.last_pic_index = index;
}

typedef struct {
    hc_video_engine *e;
    hc_video_sender tx;
    hc_video_frame f;
    uint32_t seq;
    uint64_t now;
} rig;

static void rig_open(rig *r) {
    memset(&T, 0, sizeof T);
    memset(r, 0, sizeof *r);
    hc_video_config cfg;
    hc_video_config_defaults(&cfg);
    hc_video_callbacks cb = {.ctrl = on_ctrl, .event = on_event, .picture = on_picture};
    char err[200];
    assert_int_equal(hc_video_engine_new(&r->e, NULL, &cfg, &cb, err, sizeof err), 0);
    hc_vp8_params p = {W, H, 15, 100};
    assert_int_equal(hc_video_sender_init(&r->tx, &p, on_send, NULL, err, sizeof err), 0);
    assert_int_equal(hc_video_frame_alloc(&r->f, W, H), 0);
    r->now = 1000;
}

static void rig_close(rig *r) {
    hc_video_frame_free(&r->f);
    hc_video_sender_free(&r->tx);
    hc_video_engine_free(r->e);
}

/* One picture from the sender, delivered (unless T.drop) to the engine. */
static void rig_frame(rig *r) {
    r->now += 1000 / 15;
    T.n = 0;
    hc_pattern_draw(&r->f, r->seq++, (uint32_t)r->now);
    hc_video_sender_frame(&r->tx, &r->f, 1, r->now);
    for (size_t i = 0; i < T.n; i++)
        hc_video_engine_receive(r->e, SENDER, T.q[i].flags, T.q[i].pt, T.q[i].len, r->now);
    hc_video_engine_tick(r->e, r->now);
}

static uint32_t shown_seq(rig *r, int *live) {
    const hc_video_frame *pic = hc_video_engine_picture(r->e, SENDER, live);
    assert_non_null(pic);
    uint32_t seq = 0;
    assert_int_equal(hc_pattern_read(pic, &seq, NULL), 0);
    return seq;
}

static void test_live_then_frozen_then_live(void **state) {
    (void)state;
    rig r;
    rig_open(&r);
    int live = -1;
    assert_null(hc_video_engine_picture(r.e, SENDER, &live));   /* nothing before the first frame */
    for (int i = 0; i < 10; i++) rig_frame(&r);
    assert_int_equal(T.started, 1);
    assert_int_equal(T.last_ev_index, SENDER);
    assert_int_equal(shown_seq(&r, &live), 9);
    assert_int_equal(live, 1);
    assert_int_equal(T.ctrl_keyreq, 0);

    /* frame 10 is lost: frame 11 cannot be decoded, the picture stays at 9, marked frozen,
     * and a keyframe is asked for */
    T.drop = 1;
    rig_frame(&r);
    T.drop = 0;
    rig_frame(&r);
    assert_int_equal(shown_seq(&r, &live), 9);
    assert_int_equal(live, 0);
    assert_true(T.ctrl_keyreq >= 1);

    /* the relay passes the request on; the sender's repair (keyframes are at most one a
     * second, so it may come a few frames later) brings the picture back */
    hc_video_sender_keyreq(&r.tx, 1);
    int frames = 0;
    do {
        rig_frame(&r);
        frames++;
        (void)hc_video_engine_picture(r.e, SENDER, &live);
    } while (!live && frames < 16);
    assert_int_equal(live, 1);
    assert_int_equal(shown_seq(&r, &live), r.seq - 1);   /* the newest picture, not a stale one */
    assert_int_equal(T.started, 1);               /* a freeze is not a new start */
    rig_close(&r);
}

static void test_stopped_and_forgotten(void **state) {
    (void)state;
    rig r;
    rig_open(&r);
    for (int i = 0; i < 5; i++) rig_frame(&r);
    assert_int_equal(T.started, 1);
    /* the sender turns its camera off: nothing arrives for longer than HC_VRX_STOPPED_MS */
    for (uint64_t t = 50; t <= 2600; t += 50) hc_video_engine_tick(r.e, r.now + t);
    assert_int_equal(T.stopped, 1);
    assert_int_equal(T.last_ev_index, SENDER);
    int live = -1;
    /* a camera turned off is no picture (the screen says "no video"), not a frozen one for ever */
    assert_null(hc_video_engine_picture(r.e, SENDER, &live));
    assert_int_equal(live, 0);
    /* the member leaves: its picture goes with it */
    hc_video_engine_forget_sender(r.e, SENDER);
    assert_null(hc_video_engine_picture(r.e, SENDER, NULL));
    rig_close(&r);
}

static void test_pins_and_offer(void **state) {
    (void)state;
    rig r;
    rig_open(&r);
    hc_video_engine_pin(r.e, 9);
    assert_int_equal(T.ctrl_pin, 1);
    assert_int_equal(T.last_pin, 9);
    /* after a (re)join the pin is told again; no offer while our camera is off */
    hc_video_engine_joined(r.e);
    assert_int_equal(T.ctrl_pin, 2);
    assert_int_equal(T.last_pin, 9);
    assert_int_equal(T.ctrl_offer, 0);
    hc_video_engine_pin(r.e, 0);
    assert_int_equal(T.last_pin, HC_VIDEO_UNPIN);
    hc_video_engine_joined(r.e);
    assert_int_equal(T.ctrl_pin, 3);              /* unpinned: nothing re-sent */
    /* camera off: no self-view */
    int live = -1;
    assert_null(hc_video_engine_picture(r.e, 0, &live));
    assert_int_equal(live, 0);
    assert_int_equal(hc_video_engine_camera_on(r.e), 0);
    rig_close(&r);
}

/* Lip sync: with a hold, a decoded picture is shown (and recorded) only hold_ms later, to the
 * millisecond, in order; a shorter hold never shows a picture before an earlier one; no hold
 * shows at once; more held pictures than the ring holds show the oldest early, never grow. */
static void test_av_hold(void **state) {
    (void)state;
    rig r;
    rig_open(&r);
    rig_frame(&r);                                   /* the first picture makes the slot: no hold yet */
    assert_int_equal(shown_seq(&r, NULL), 0);
    assert_int_equal(hc_video_engine_next_due(r.e), UINT64_MAX);
    hc_video_engine_set_av_hold(r.e, SENDER, 45);
    rig_frame(&r);                                   /* picture 1 decoded at now, due now + 45 */
    uint64_t decoded_at = r.now;
    assert_int_equal(shown_seq(&r, NULL), 0);        /* still the old one */
    assert_int_equal(hc_video_engine_next_due(r.e), decoded_at + 45);
    hc_video_engine_show_due(r.e, decoded_at + 44);
    assert_int_equal(shown_seq(&r, NULL), 0);
    hc_video_engine_show_due(r.e, decoded_at + 45);
    assert_int_equal(shown_seq(&r, NULL), 1);
    assert_int_equal(hc_video_engine_next_due(r.e), UINT64_MAX);

    /* a long hold, then a short one: picture 3 waits for picture 2 */
    hc_video_engine_set_av_hold(r.e, SENDER, 300);
    rig_frame(&r);                                   /* picture 2, due +300 */
    uint64_t due2 = r.now + 300;
    hc_video_engine_set_av_hold(r.e, SENDER, 10);
    rig_frame(&r);                                   /* picture 3 would be due +10, before 2 */
    assert_int_equal(hc_video_engine_next_due(r.e), due2);
    hc_video_engine_show_due(r.e, due2 - 1);
    assert_int_equal(shown_seq(&r, NULL), 1);
    hc_video_engine_show_due(r.e, due2);
    assert_int_equal(shown_seq(&r, NULL), 3);        /* both due: the newest is up */

    /* the cap: a hold of 10 s is 400 ms */
    hc_video_engine_set_av_hold(r.e, SENDER, 10000);
    rig_frame(&r);
    assert_int_equal(hc_video_engine_next_due(r.e), r.now + 400);

    /* more pictures than the ring: the oldest shows early, nothing is lost from the order */
    for (int i = 0; i < 12; i++) {
        r.now -= 1000 / 15;                          /* all arrive in the same instant */
        rig_frame(&r);
    }
    int live = -1;
    uint32_t seq = shown_seq(&r, &live);
    assert_true(seq >= 5 && seq < r.seq - 1);        /* moved on, but the newest still waits */
    hc_video_engine_show_due(r.e, r.now + 400);
    assert_int_equal(shown_seq(&r, NULL), r.seq - 1);
    assert_int_equal(hc_video_engine_next_due(r.e), UINT64_MAX);

    /* no hold: at once */
    hc_video_engine_set_av_hold(r.e, SENDER, 0);
    rig_frame(&r);
    assert_int_equal(shown_seq(&r, NULL), r.seq - 1);
    rig_close(&r);
}

/* The picture callback (the screen paints at once): once per picture that becomes the one shown,
 * for its sender; a held picture (lip sync) only when it is due. */
static void test_picture_callback(void **state) {
    (void)state;
    rig r;
    rig_open(&r);
    for (int i = 0; i < 3; i++) rig_frame(&r);
    assert_int_equal(T.pictures, 3);
    assert_int_equal(T.last_pic_index, SENDER);
    hc_video_engine_set_av_hold(r.e, SENDER, 50);
    rig_frame(&r);
    assert_int_equal(T.pictures, 3);                 /* decoded, not due yet */
    hc_video_engine_show_due(r.e, r.now + 50);
    assert_int_equal(T.pictures, 4);
    rig_close(&r);
}

static void stop_loop(uv_timer_t *t) { uv_stop(t->loop); }

/* Turning the camera on where there is none: an error said once, in words, and no video; with the
 * demo's fallback, the pattern instead, said in the camera event's text, and our own pictures
 * reach the front end as the self-view (index 0). */
static void test_camera_fallback(void **state) {
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    for (int fallback = 0; fallback <= 1; fallback++) {
        memset(&T, 0, sizeof T);
        hc_video_config cfg;
        hc_video_config_defaults(&cfg);
        cfg.in.kind = HC_VIDEO_CAMERA;
        snprintf(cfg.in.path, sizeof cfg.in.path, "/nonexistent/video9");
        cfg.fallback_pattern = fallback;
        hc_video_callbacks cb = {.ctrl = on_ctrl, .event = on_event, .picture = on_picture};
        hc_video_engine *e;
        char err[400] = "";
        assert_int_equal(hc_video_engine_new(&e, &loop, &cfg, &cb, err, sizeof err), 0);
        int rc = hc_video_engine_camera(e, 1, err, sizeof err);
        if (!fallback) {
            assert_int_equal(rc, -1);
            assert_int_equal(T.camera_error, 1);     /* once */
            assert_int_equal(T.camera_on, 0);
            assert_non_null(strstr(T.camera_text, "/nonexistent/video9"));
            assert_non_null(strstr(T.camera_text, "the call goes on without your video"));
            assert_int_equal(hc_video_engine_camera_on(e), 0);
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(T.camera_error, 0);
            assert_int_equal(T.camera_on, 1);
            assert_non_null(strstr(T.camera_text, "pattern"));
            assert_non_null(strstr(T.camera_text, "instead of a camera"));
            assert_non_null(strstr(T.camera_text, "/nonexistent/video9"));
            uv_timer_t t;
            uv_timer_init(&loop, &t);
            uv_timer_start(&t, stop_loop, 400, 0);
            uv_run(&loop, UV_RUN_DEFAULT);           /* the pattern at 15 fps: a few pictures */
            uv_close((uv_handle_t *)&t, NULL);
            assert_true(T.pictures >= 2);
            assert_int_equal(T.last_pic_index, 0);   /* our own: the self-view */
            int live = 0;
            assert_non_null(hc_video_engine_picture(e, 0, &live));
            assert_int_equal(live, 1);
            assert_int_equal(hc_video_engine_camera(e, 0, err, sizeof err), 0);
            assert_int_equal(T.camera_off, 1);
        }
        hc_video_engine_free(e);
        uv_run(&loop, UV_RUN_DEFAULT);               /* the source's handles close */
    }
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* The front end's copy of a state keeps whether a picture is live but never the pointer, which
 * is only valid during the update that passed it. */
static void test_view_state_drops_picture(void **state) {
    (void)state;
    hc_video_frame pic;
    assert_int_equal(hc_video_frame_alloc(&pic, W, H), 0);
    hc_view_participant p[2];
    memset(p, 0, sizeof p);
    p[0].index = 1;
    p[0].is_self = 1;
    p[1].index = SENDER;
    p[1].video = &pic;
    p[1].video_live = 1;
    hc_view_state st;
    memset(&st, 0, sizeof st);
    st.n_participants = 2;
    st.participants = p;
    st.camera_on = 1;
    hc_ui *ui = hc_ui_new(1);
    assert_non_null(ui);
    hc_ui_set_state(ui, &st);
    const hc_view_participant *q = hc_ui_find(ui, SENDER);
    assert_non_null(q);
    assert_null(q->video);
    assert_int_equal(q->video_live, 1);
    assert_int_equal(ui->st.camera_on, 1);
    hc_ui_free(ui);
    hc_video_frame_free(&pic);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_live_then_frozen_then_live),
        cmocka_unit_test(test_stopped_and_forgotten),
        cmocka_unit_test(test_pins_and_offer),
        cmocka_unit_test(test_view_state_drops_picture),
        cmocka_unit_test(test_av_hold),
        cmocka_unit_test(test_picture_callback),
        cmocka_unit_test(test_camera_fallback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
