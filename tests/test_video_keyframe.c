/* Keyframe policy on a fake clock (plain milliseconds): the first frame, coalesced requests,
 * members added (immediate, even right after a keyframe), recovery frames and their precedence,
 * the periodic safety net, and a dropped frame that keeps the keyframe owed. */
#include "tests/testutil.h"

#include "video/fragment.h"
#include "video/keyframe.h"

#define FRAME_MS 66      /* ~15 fps */

/* One frame: decide, and the encoder makes exactly that. */
static int tick(hc_keyframe_policy *p, uint64_t now) {
    int k = hc_keyframe_decide(p, now);
    hc_keyframe_made(p, now, k);
    return k;
}

/* Frames from t0 (inclusive) to t1 (exclusive); returns how many keyframes, and the time of the
 * first in *first_key (UINT64_MAX when none). */
static int run(hc_keyframe_policy *p, uint64_t t0, uint64_t t1, uint64_t *first_key) {
    int keys = 0;
    if (first_key) *first_key = UINT64_MAX;
    for (uint64_t t = t0; t < t1; t += FRAME_MS)
        if (tick(p, t) == HC_VKIND_KEY) {
            if (first_key && keys == 0) *first_key = t;
            keys++;
        }
    return keys;
}

static void test_first_frame_key(void **state) {
    (void)state;
    hc_keyframe_policy p;
    hc_keyframe_init(&p, 10000, 1000);
    assert_int_equal(p.have_key, 0);
    /* whatever the clock says, and decide alone changes nothing: still key until one is made */
    assert_int_equal(hc_keyframe_decide(&p, 123456), HC_VKIND_KEY);
    assert_int_equal(hc_keyframe_decide(&p, 123456), HC_VKIND_KEY);
    hc_keyframe_made(&p, 123456, -1);   /* dropped */
    assert_int_equal(hc_keyframe_decide(&p, 123522), HC_VKIND_KEY);
    hc_keyframe_made(&p, 123522, HC_VKIND_KEY);
    assert_int_equal(p.have_key, 1);
    assert_int_equal(p.last_key_ms, 123522);
    assert_int_equal(p.keys, 1);
    /* the first keyframe has no reason counter */
    assert_int_equal(p.keys_requested + p.keys_members + p.keys_periodic, 0);
    assert_int_equal(hc_keyframe_decide(&p, 123588), HC_VKIND_INTER);
    /* a recovery request before any keyframe gets a keyframe */
    hc_keyframe_policy q;
    hc_keyframe_init(&q, 10000, 1000);
    hc_keyframe_request(&q, 0);
    assert_int_equal(tick(&q, 0), HC_VKIND_KEY);
    assert_int_equal(q.want_recovery, 0);
    assert_int_equal(tick(&q, 66), HC_VKIND_INTER);
    assert_int_equal(q.recoveries, 0);
    assert_int_equal(q.requests, 1);
}

static void test_periodic(void **state) {
    (void)state;
    hc_keyframe_policy p;
    hc_keyframe_init(&p, 10000, 1000);
    assert_int_equal(tick(&p, 0), HC_VKIND_KEY);
    /* nothing until 10 s, then one at exactly 10 s, the next at 20 s */
    assert_int_equal(hc_keyframe_decide(&p, 9999), HC_VKIND_INTER);
    assert_int_equal(tick(&p, 10000), HC_VKIND_KEY);
    assert_int_equal(p.keys_periodic, 1);
    assert_int_equal(p.last_key_ms, 10000);
    uint64_t first;
    int keys = run(&p, 10066, 60000, &first);
    /* 66 ms frames: keys at the first frame >= 20000, 30000..., five in all up to 60 s */
    assert_int_equal(keys, 4);
    assert_true(first >= 20000 && first < 20000 + FRAME_MS);
    assert_int_equal(p.keys, 6);
    assert_int_equal(p.keys_periodic, 5);
    assert_int_equal(p.keys_requested + p.keys_members + p.recoveries, 0);

    /* interval 0: no safety net at all */
    hc_keyframe_policy q;
    hc_keyframe_init(&q, 0, 1000);
    assert_int_equal(tick(&q, 0), HC_VKIND_KEY);
    assert_int_equal(run(&q, 66, 100000, NULL), 0);
}

static void test_request_key_coalesced(void **state) {
    (void)state;
    hc_keyframe_policy p;
    hc_keyframe_init(&p, 10000, 1000);
    assert_int_equal(tick(&p, 0), HC_VKIND_KEY);
    /* five requests within the first second after that keyframe: served once, at +1 s */
    uint64_t t = FRAME_MS;
    int keys = 0;
    uint64_t key_at = 0;
    for (int i = 0; i < 5; i++) {
        hc_keyframe_request(&p, 1);
        for (int f = 0; f < 2; f++, t += FRAME_MS)
            if (tick(&p, t) == HC_VKIND_KEY) keys++, key_at = t;
    }
    assert_true(t < 1000);
    assert_int_equal(keys, 0);
    assert_int_equal(p.want_key != 0, 1);
    for (; t < 3000; t += FRAME_MS)
        if (tick(&p, t) == HC_VKIND_KEY) keys++, key_at = t;
    assert_int_equal(keys, 1);
    assert_true(key_at >= 1000 && key_at < 1000 + FRAME_MS);
    assert_int_equal(p.requests, 5);
    assert_int_equal(p.keys_requested, 1);
    assert_int_equal(p.keys, 2);
    assert_int_equal(p.want_key, 0);

    /* a request long after the last keyframe is served at once */
    assert_int_equal(run(&p, 3000, 5000, NULL), 0);
    hc_keyframe_request(&p, 1);
    assert_int_equal(tick(&p, 5000), HC_VKIND_KEY);
    assert_int_equal(p.keys_requested, 2);
    /* and the window restarts from it: a request 500 ms later waits until 6000 */
    hc_keyframe_request(&p, 1);
    assert_int_equal(tick(&p, 5500), HC_VKIND_INTER);
    assert_int_equal(tick(&p, 5999), HC_VKIND_INTER);
    assert_int_equal(tick(&p, 6000), HC_VKIND_KEY);
    assert_int_equal(p.keys_requested, 3);

    /* the window counts from any keyframe: a periodic one also delays a request */
    hc_keyframe_policy q;
    hc_keyframe_init(&q, 10000, 1000);
    assert_int_equal(tick(&q, 0), HC_VKIND_KEY);
    assert_int_equal(tick(&q, 10000), HC_VKIND_KEY);
    hc_keyframe_request(&q, 1);
    assert_int_equal(tick(&q, 10500), HC_VKIND_INTER);
    assert_int_equal(tick(&q, 11000), HC_VKIND_KEY);
    assert_int_equal(q.keys_periodic, 1);
    assert_int_equal(q.keys_requested, 1);
}

static void test_members_added_immediate(void **state) {
    (void)state;
    hc_keyframe_policy p;
    hc_keyframe_init(&p, 10000, 1000);
    assert_int_equal(tick(&p, 0), HC_VKIND_KEY);
    /* right after a keyframe: not rate limited */
    hc_keyframe_members_added(&p);
    assert_int_equal(tick(&p, 66), HC_VKIND_KEY);
    assert_int_equal(p.keys_members, 1);
    hc_keyframe_members_added(&p);
    assert_int_equal(tick(&p, 132), HC_VKIND_KEY);
    assert_int_equal(p.keys_members, 2);
    assert_int_equal(tick(&p, 198), HC_VKIND_INTER);
    /* members added while a request waits in its window: both served by the one keyframe now */
    hc_keyframe_request(&p, 1);
    assert_int_equal(tick(&p, 264), HC_VKIND_INTER);
    hc_keyframe_members_added(&p);
    assert_int_equal(tick(&p, 330), HC_VKIND_KEY);
    assert_int_equal(p.keys_members, 3);
    assert_int_equal(p.keys_requested, 0);
    assert_int_equal(p.want_key, 0);
    assert_int_equal(run(&p, 396, 5000, NULL), 0);
    assert_int_equal(p.keys, 4);
}

static void test_recovery(void **state) {
    (void)state;
    hc_keyframe_policy p;
    hc_keyframe_init(&p, 10000, 1000);
    assert_int_equal(tick(&p, 0), HC_VKIND_KEY);
    /* at once, even inside the keyframe window, and not rate limited */
    hc_keyframe_request(&p, 0);
    assert_int_equal(tick(&p, 66), HC_VKIND_RECOVERY);
    assert_int_equal(p.recoveries, 1);
    assert_int_equal(tick(&p, 132), HC_VKIND_INTER);
    hc_keyframe_request(&p, 0);
    hc_keyframe_request(&p, 0);           /* two at once: one recovery frame */
    assert_int_equal(tick(&p, 198), HC_VKIND_RECOVERY);
    assert_int_equal(tick(&p, 264), HC_VKIND_INTER);
    assert_int_equal(p.recoveries, 2);
    assert_int_equal(p.requests, 3);
    assert_int_equal(p.keys, 1);

    /* a requested keyframe still inside its window does not hold back a recovery frame */
    hc_keyframe_request(&p, 1);
    hc_keyframe_request(&p, 0);
    assert_int_equal(tick(&p, 330), HC_VKIND_RECOVERY);
    assert_int_equal(tick(&p, 396), HC_VKIND_INTER);
    assert_int_equal(tick(&p, 1000), HC_VKIND_KEY);
    assert_int_equal(p.keys_requested, 1);
}

static void test_key_wins_over_recovery(void **state) {
    (void)state;
    hc_keyframe_policy p;
    hc_keyframe_init(&p, 10000, 1000);
    assert_int_equal(tick(&p, 0), HC_VKIND_KEY);
    /* request for a key whose window has passed, and a recovery: the key, and no recovery after */
    hc_keyframe_request(&p, 1);
    hc_keyframe_request(&p, 0);
    assert_int_equal(tick(&p, 1200), HC_VKIND_KEY);
    assert_int_equal(tick(&p, 1266), HC_VKIND_INTER);
    assert_int_equal(p.recoveries, 0);
    /* members added + recovery */
    hc_keyframe_request(&p, 0);
    hc_keyframe_members_added(&p);
    assert_int_equal(tick(&p, 1332), HC_VKIND_KEY);
    assert_int_equal(tick(&p, 1398), HC_VKIND_INTER);
    /* periodic due + recovery */
    hc_keyframe_request(&p, 0);
    assert_int_equal(tick(&p, 1332 + 10000), HC_VKIND_KEY);
    assert_int_equal(p.keys_periodic, 1);
    assert_int_equal(tick(&p, 1398 + 10000), HC_VKIND_INTER);
    assert_int_equal(p.recoveries, 0);
    assert_int_equal(p.keys, 4);
    assert_int_equal(p.keys_requested, 1);
    assert_int_equal(p.keys_members, 1);
}

static void test_dropped_frame_keeps_owed(void **state) {
    (void)state;
    hc_keyframe_policy p;
    hc_keyframe_init(&p, 10000, 1000);
    assert_int_equal(tick(&p, 0), HC_VKIND_KEY);
    /* members added; the encoder drops the keyframe twice; still owed, and the window is not
     * restarted by the drops */
    hc_keyframe_members_added(&p);
    assert_int_equal(hc_keyframe_decide(&p, 66), HC_VKIND_KEY);
    hc_keyframe_made(&p, 66, -1);
    assert_int_equal(hc_keyframe_decide(&p, 132), HC_VKIND_KEY);
    hc_keyframe_made(&p, 132, -1);
    assert_int_equal(p.last_key_ms, 0);
    assert_int_equal(p.keys, 1);
    assert_int_equal(tick(&p, 198), HC_VKIND_KEY);
    assert_int_equal(p.keys_members, 1);
    assert_int_equal(tick(&p, 264), HC_VKIND_INTER);

    /* a requested keyframe dropped when its window opens: the next frame brings it */
    hc_keyframe_request(&p, 1);
    assert_int_equal(hc_keyframe_decide(&p, 1198), HC_VKIND_KEY);
    hc_keyframe_made(&p, 1198, -1);
    assert_int_equal(tick(&p, 1264), HC_VKIND_KEY);
    assert_int_equal(p.keys_requested, 1);

    /* a recovery frame dropped, or made as a plain inter frame: still owed */
    hc_keyframe_request(&p, 0);
    assert_int_equal(hc_keyframe_decide(&p, 1330), HC_VKIND_RECOVERY);
    hc_keyframe_made(&p, 1330, -1);
    assert_int_equal(hc_keyframe_decide(&p, 1396), HC_VKIND_RECOVERY);
    hc_keyframe_made(&p, 1396, HC_VKIND_INTER);
    assert_int_equal(tick(&p, 1462), HC_VKIND_RECOVERY);
    assert_int_equal(p.recoveries, 1);
    assert_int_equal(tick(&p, 1528), HC_VKIND_INTER);

    /* the encoder made a keyframe by itself: that resets the window and clears what was owed */
    hc_keyframe_request(&p, 1);
    assert_int_equal(hc_keyframe_decide(&p, 1594), HC_VKIND_INTER);
    hc_keyframe_made(&p, 1594, HC_VKIND_KEY);
    assert_int_equal(p.last_key_ms, 1594);
    assert_int_equal(p.want_key, 0);
    assert_int_equal(tick(&p, 2700), HC_VKIND_INTER);
    /* the periodic timer counts from it too */
    assert_int_equal(tick(&p, 1594 + 9999), HC_VKIND_INTER);
    assert_int_equal(tick(&p, 1594 + 10000), HC_VKIND_KEY);
}

static void test_clock_backwards(void **state) {
    (void)state;
    hc_keyframe_policy p;
    hc_keyframe_init(&p, 10000, 1000);
    assert_int_equal(tick(&p, 50000), HC_VKIND_KEY);
    /* a clock that steps back neither underflows into "ages ago" nor serves a request early */
    hc_keyframe_request(&p, 1);
    assert_int_equal(tick(&p, 100), HC_VKIND_INTER);
    assert_int_equal(tick(&p, 50999), HC_VKIND_INTER);
    assert_int_equal(tick(&p, 51000), HC_VKIND_KEY);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_frame_key),
        cmocka_unit_test(test_periodic),
        cmocka_unit_test(test_request_key_coalesced),
        cmocka_unit_test(test_members_added_immediate),
        cmocka_unit_test(test_recovery),
        cmocka_unit_test(test_key_wins_over_recovery),
        cmocka_unit_test(test_dropped_frame_keeps_owed),
        cmocka_unit_test(test_clock_backwards),
    };
    return cmocka_run_group_tests_name("video_keyframe", tests, NULL, NULL);
}
