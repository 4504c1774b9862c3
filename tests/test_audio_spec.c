/* --audio-in / --audio-out spec parsing: valid forms and clear errors. */
#include "tests/testutil.h"

#include "audio/spec.h"

static void test_valid_inputs(void **st) {
    (void)st;
    hc_audio_spec s;
    char err[512];
    assert_int_equal(hc_audio_spec_parse("device", 1, &s, err, sizeof err), 0);
    assert_int_equal(s.kind, HC_SPEC_DEVICE);
    assert_string_equal(s.arg, "");
    assert_int_equal(s.device_index, -1);
    assert_int_equal(hc_audio_spec_parse(NULL, 1, &s, err, sizeof err), 0);
    assert_int_equal(s.kind, HC_SPEC_DEVICE);
    assert_int_equal(hc_audio_spec_parse("", 0, &s, err, sizeof err), 0);
    assert_int_equal(s.kind, HC_SPEC_DEVICE);
    assert_int_equal(hc_audio_spec_parse("device:pulse", 1, &s, err, sizeof err), 0);
    assert_string_equal(s.arg, "pulse");
    assert_int_equal(s.device_index, -1);
    assert_int_equal(hc_audio_spec_parse("device:3", 0, &s, err, sizeof err), 0);
    assert_int_equal(s.device_index, 3);
    assert_int_equal(hc_audio_spec_parse("device:USB Audio: hw:1,0", 1, &s, err, sizeof err), 0);
    assert_string_equal(s.arg, "USB Audio: hw:1,0");
    assert_int_equal(hc_audio_spec_parse("wav:/tmp/in put.wav", 1, &s, err, sizeof err), 0);
    assert_int_equal(s.kind, HC_SPEC_WAV);
    assert_string_equal(s.arg, "/tmp/in put.wav");
    assert_int_equal(hc_audio_spec_parse("tone:440", 1, &s, err, sizeof err), 0);
    assert_int_equal(s.kind, HC_SPEC_TONE);
    assert_float_equal(s.tone_hz, 440, 1e-9);
    assert_int_equal(hc_audio_spec_parse("tone:1000.5", 1, &s, err, sizeof err), 0);
    assert_float_equal(s.tone_hz, 1000.5, 1e-9);
    assert_int_equal(hc_audio_spec_parse("silence", 1, &s, err, sizeof err), 0);
    assert_int_equal(s.kind, HC_SPEC_SILENCE);
    assert_int_equal(hc_audio_spec_parse("null", 0, &s, err, sizeof err), 0);
    assert_int_equal(s.kind, HC_SPEC_NULL);
    assert_int_equal(hc_audio_spec_parse("wav:out.wav", 0, &s, err, sizeof err), 0);
    assert_int_equal(s.kind, HC_SPEC_WAV);
}

static void bad(const char *spec, int is_input, const char *must_say) {
    hc_audio_spec s;
    char err[512] = "";
    assert_int_equal(hc_audio_spec_parse(spec, is_input, &s, err, sizeof err), -1);
    if (!strstr(err, must_say) || !strstr(err, spec) || !strstr(err, "expected")) {
        print_error("spec '%s': error '%s' should mention '%s'\n", spec, err, must_say);
        fail();
    }
}

static void test_invalid(void **st) {
    (void)st;
    bad("tone:", 1, "frequency");
    bad("tone", 1, "frequency");
    bad("tone:abc", 1, "frequency");
    bad("tone:440Hz", 1, "frequency");
    bad("tone:-5", 1, "between");
    bad("tone:30000", 1, "between");
    bad("tone:nan", 1, "frequency");
    bad("wav:", 1, "missing file name");
    bad("device:", 0, "empty device name");
    bad("device:99999999999", 1, "out of range");
    bad("speaker", 0, "unknown");
    bad("Device", 1, "unknown");
    bad("silence", 0, "null");         /* silence is an input; says to use null */
    bad("null", 1, "silence");         /* null is an output; says to use silence */
    bad("tone:440", 0, "input");
    /* the error names the direction */
    hc_audio_spec s;
    char err[512];
    hc_audio_spec_parse("foo", 1, &s, err, sizeof err);
    assert_non_null(strstr(err, "audio input"));
    hc_audio_spec_parse("foo", 0, &s, err, sizeof err);
    assert_non_null(strstr(err, "audio output"));
    /* too long a file name is refused, not truncated */
    char longspec[HC_SPEC_ARG_MAX + 16] = "wav:";
    memset(longspec + 4, 'a', HC_SPEC_ARG_MAX + 4);
    longspec[HC_SPEC_ARG_MAX + 8] = 0;
    assert_int_equal(hc_audio_spec_parse(longspec, 1, &s, err, sizeof err), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_valid_inputs), cmocka_unit_test(test_invalid)};
    return cmocka_run_group_tests_name("audio_spec", tests, NULL, NULL);
}
