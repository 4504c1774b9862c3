/* Names that arrive in signed announcements (issue 11 point 5), in process (tests/sim.h):
 * a name that breaks the name rules is refused and never shown as it is, and a leader whose
 * name only looks like a verified one is flagged, through the real verified-leader store. */
#include "tests/testutil.h"

#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/commands.h"
#include "app/verified.h"
#include "tests/lookalikes.h"
/* sim.h is a header of static helpers; this file uses only some of them. */
#pragma GCC diagnostic ignored "-Wunused-function"
#include "tests/sim.h"

/* No event of participant i shows this name as it is. */
static void assert_name_never_shown(const sim *s, int i, const char *name) {
    for (size_t k = 0; k < s->p[i].n_ev; k++) {
        const sim_event *e = &s->p[i].ev[k];
        if (!strcmp(e->name, name) || strstr(e->text, name))
            fail_msg("p%d showed the refused name raw in a %s event: %s", i, hc_event_type_name(e->type), e->text);
    }
}

/* A member whose signed name breaks the rules: the leader and the others alert once, nobody
 * shows the name, and the leader denies it. */
static void test_member_with_a_bad_name_is_refused(void **st) {
    (void)st;
    for (size_t n = 0; n < HC_N_LOOKALIKES; n++) {
        if (!strcmp(hc_lookalikes[n].what, "Cyrillic A")) continue;    /* a valid name: the store's business */
        sim *s = sim_new(NULL);
        sim_add(s, "Alice", 1, NULL, NULL, NULL);
        sim_run(s, 100, 10);
        sim_add(s, "Bob", 0, sim_meeting_id(s, 0), NULL, NULL);
        sim_run(s, 1500, 10);
        int x = sim_add(s, hc_lookalikes[n].name, 0, sim_meeting_id(s, 0), NULL, NULL);
        sim_run(s, 6000, 10);                      /* a few nonce rotations: still one alert each */
        for (int i = 0; i < 2; i++) {
            if (sim_count(s, i, HC_EV_SECURITY_ALERT, "bad_name") != 1)
                fail_msg("%s: p%d raised %zu bad_name alerts, not 1", hc_lookalikes[n].what, i,
                         sim_count(s, i, HC_EV_SECURITY_ALERT, "bad_name"));
            assert_name_never_shown(s, i, hc_lookalikes[n].name);
        }
        const sim_event *a = NULL;
        for (size_t k = 0; k < s->p[1].n_ev; k++)
            if (!strcmp(s->p[1].ev[k].kind, "bad_name")) a = &s->p[1].ev[k];
        if (!a || !strstr(a->text, "<U+")) fail_msg("%s: the alert does not spell the name out: %s", hc_lookalikes[n].what,
                                                   a ? a->text : "(none)");
        /* not admitted: the leader denied it, and nobody lists it */
        if (hc_meeting_phase_get(s->p[x].m) != HC_MT_LEFT)
            fail_msg("%s: the member with the refused name is still in the meeting", hc_lookalikes[n].what);
        assert_int_equal(hc_meeting_exit_status(s->p[x].m), HC_EXIT_REMOVED);
        assert_int_equal(sim_count(s, 0, HC_EV_PARTICIPANT_JOINED, NULL), sim_count(s, 1, HC_EV_PARTICIPANT_JOINED, NULL));
        for (int i = 0; i < 2; i++) assert_int_equal(hc_meeting_phase_get(s->p[i].m), HC_MT_IN);
        sim_free(s);
    }
}

/* ---- a verified "Alice" ---- */

typedef struct {
    char home[64];
    hc_verified_store store;
    hc_identity alice;
} store_fx;

static void store_with_alice(store_fx *f) {
    snprintf(f->home, sizeof f->home, "/tmp/hc-test-names-XXXXXX");
    assert_non_null(mkdtemp(f->home));
    hc_identity_generate(&f->alice);
    char path[128], hex[65];
    snprintf(path, sizeof path, "%s/verified", f->home);
    sodium_bin2hex(hex, sizeof hex, f->alice.ivk, 32);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp, "%s Alice\n", hex);
    fclose(fp);
    assert_int_equal(chmod(path, 0600), 0);
    char err[512];
    if (hc_verified_load(&f->store, f->home, err, sizeof err) < 0) fail_msg("%s", err);
}

static void store_free(store_fx *f) {
    char path[128];
    hc_verified_free(&f->store);
    snprintf(path, sizeof path, "%s/verified", f->home);
    unlink(path);
    rmdir(f->home);
}

/* A meeting led by `leader_name` (with `leader_id`, or a new key), joined by a member who
 * verified Alice before. */
static sim *led_by(store_fx *f, const char *leader_name, const hc_identity *leader_id) {
    sim *s = sim_new(NULL);
    sim_add(s, leader_name, 1, NULL, NULL, leader_id);
    sim_run(s, 100, 10);
    hc_meeting_config c = sim_default_cfg();
    c.is_verified = hc_verified_check;
    c.store_ctx = &f->store;
    sim_add(s, "member", 0, sim_meeting_id(s, 0), &c, NULL);
    sim_run(s, 1500, 10);
    return s;
}

/* Every look-alike of a verified "Alice" leading with another key is flagged (a name conflict)
 * or refused (bad_name): never shown as a plain, unflagged "Alice". */
static void test_lookalike_leader_of_a_verified_name_is_flagged(void **st) {
    (void)st;
    store_fx f;
    store_with_alice(&f);
    for (size_t n = 0; n < HC_N_LOOKALIKES; n++) {
        sim *s = led_by(&f, hc_lookalikes[n].name, NULL);
        size_t conflict = sim_count(s, 1, HC_EV_SECURITY_ALERT, "verified_name_conflict");
        size_t refused = sim_count(s, 1, HC_EV_SECURITY_ALERT, "bad_name");
        if (conflict + refused == 0) fail_msg("%s: a leader named like the verified Alice raised no alert", hc_lookalikes[n].what);
        assert_int_equal(hc_meeting_code_verified(s->p[1].m), 0);
        const sim_event *code = sim_last(s, 1, HC_EV_SECURITY_CODE);
        if (refused) {
            assert_null(code);                               /* no code for a leader never accepted */
            assert_name_never_shown(s, 1, hc_lookalikes[n].name);
            /* and the member leaves at once, for a security reason (not a heartbeat timeout later) */
            assert_int_equal(hc_meeting_phase_get(s->p[1].m), HC_MT_LEFT);
            assert_int_equal(hc_meeting_exit_status(s->p[1].m), HC_EXIT_SECURITY);
            assert_int_equal(sim_count(s, 1, HC_EV_HEARTBEAT_TIMEOUT, NULL), 0);
        } else {
            assert_non_null(code);
            assert_int_equal(code->flag, 0);
        }
        sim_free(s);
    }
    /* Alice herself, under her verified key: verified at once, no alert */
    sim *s = led_by(&f, "Alice", &f.alice);
    assert_int_equal(sim_count(s, 1, HC_EV_SECURITY_ALERT, NULL), 0);
    assert_int_equal(hc_meeting_code_verified(s->p[1].m), 1);
    sim_free(s);
    /* someone else with another name: not verified, no alert */
    s = led_by(&f, "Alicia", NULL);
    assert_int_equal(sim_count(s, 1, HC_EV_SECURITY_ALERT, NULL), 0);
    assert_int_equal(hc_meeting_code_verified(s->p[1].m), 0);
    sim_free(s);
    store_free(&f);
}

int main(void) {
    if (sodium_init() < 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_member_with_a_bad_name_is_refused),
        cmocka_unit_test(test_lookalike_leader_of_a_verified_name_is_flagged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
