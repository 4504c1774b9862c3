/* Display names that cannot pass for someone else's (app/names.c, issue 11 point 5): what the
 * name rule refuses and why, what it accepts, the escaped form shown in messages, and which names
 * the confusable keys (NFKC, case fold, UTS #39 skeleton, from ICU) take for each other. */
#include "tests/testutil.h"

#include "app/names.h"
#include "crypto/binding.h"
#include "tests/lookalikes.h"

static void test_refused_names_say_why(void **state) {
    (void)state;
    static const struct {
        const char *name, *why;
    } cases[] = {
        {"", "empty"},
        {" ", "blank"},
        {"     ", "blank"},
        {"Al\xE2\x80\x8B" "ice", "U+200B, an invisible character"},
        {"Al\xE2\x80\x8D" "ice", "U+200D, an invisible character"},
        {"Al\xE2\x81\xA0" "ice", "U+2060, an invisible character"},
        {"Al\xC2\xAD" "ice", "U+00AD, an invisible character"},
        {"\xEF\xBB\xBF" "Alice", "U+FEFF, an invisible character"},
        {"Al\xCD\x8F" "ice", "U+034F, an invisible character"},
        {"Alice\xE3\x85\xA4", "U+3164, an invisible character"},
        {"\xE3\x85\xA4", "U+3164, an invisible character"},              /* a Hangul filler alone: blank */
        {"Alice\xE2\x80\x8E", "U+200E, a text-direction mark"},
        {"Alice\xE2\x80\x8F", "U+200F, a text-direction mark"},
        {"Alice\xD8\x9C", "U+061C, a text-direction mark"},
        {"evil\xE2\x80\xAEgnp.exe", "U+202E, a text-direction mark"},      /* override */
        {"a\xE2\x81\xA6" "b", "U+2066, a text-direction mark"},            /* isolate */
        {"Alice\xC2\xA0", "U+00A0, a space other than the plain space"},  /* no-break space */
        {"Al\xE3\x80\x80ice", "U+3000, a space other than the plain space"},
        {"two\xE2\x80\xA8lines", "U+2028, a line or paragraph separator"},
        {"tab\there", "U+0009, a control character"},
        {"esc\x1b[31m", "U+001B, a control character"},
        {"Alice ", "ends with a space"},
        {" Alice", "starts with a space"},
        {"Alice  Smith", "two spaces in a row"},
        {"bad\xFFutf8", "not valid UTF-8"},
        {"over\xC0\xAFlong", "not valid UTF-8"},
        {"e\xCC\x81\xCC\x81", "repeats the same accent mark"},             /* é with its accent twice */
        {"1234567890123456789012345678901234567890123456789012345678901234x", "longer than 64 bytes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char why[HC_NAME_WHY_MAX] = "unset";
        if (hc_name_check(cases[i].name, why, sizeof why) != -1)
            fail_msg("case %zu ('%s') was accepted", i, cases[i].name);
        if (!strstr(why, cases[i].why)) fail_msg("case %zu: expected '%s' in: %s", i, cases[i].why, why);
    }
    assert_int_equal(hc_name_check(NULL, NULL, 0), -1);
}

static void test_ordinary_names_are_accepted(void **state) {
    (void)state;
    static const char *ok[] = {
        "Alice", "Alice Smith #1", "Zo\xC3\xAB", "Jos\xC3\xA9", "Jose\xCC\x81",   /* é composed and decomposed */
        "\xE6\x9D\x8E\xE5\xB0\x8F\xE9\xBE\x8D",                                 /* 李小龍 */
        "\xD0\x98\xD0\xB2\xD0\xB0\xD0\xBD",                                      /* Иван */
        "\xD8\xB9\xD9\x84\xD9\x8A",                                              /* علي (right-to-left letters) */
        "Ada (bot)", "Bob (bot)", "x", "\xF0\x9F\x99\x82",                       /* 🙂 */
        "1234567890123456789012345678901234567890123456789012345678901234",     /* 64 bytes */
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char why[HC_NAME_WHY_MAX];
        if (hc_name_check(ok[i], why, sizeof why) != 0) fail_msg("'%s' refused: %s", ok[i], why);
        assert_true(hc_valid_name(ok[i], strlen(ok[i])));   /* and a peer's decoder takes it */
    }
}

static void test_message_and_escape(void **state) {
    (void)state;
    char msg[HC_NAME_MSG_MAX], out[HC_NAME_ESCAPED_MAX];
    assert_int_equal(hc_name_check_msg("Alice", msg, sizeof msg), 0);
    assert_int_equal(hc_name_check_msg("Al\xE2\x80\x8B" "ice", msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "the name must be 1 to 64 bytes"));
    assert_non_null(strstr(msg, "'Al<U+200B>ice' is not: it contains U+200B, an invisible character"));
    /* what cannot be seen is spelled out; what can is kept, spaces only where they break the rule */
    hc_name_escape(out, sizeof out, " A  b\xE2\x80\x8E\xD0\x90 c ");
    assert_string_equal(out, "<U+0020>A<U+0020><U+0020>b<U+200E>\xD0\x90 c<U+0020>");
    hc_name_escape(out, sizeof out, "x\xFFy");
    assert_string_equal(out, "x<0xFF>y");
    /* a short buffer gets whole pieces only, never half a character or half an escape */
    hc_name_escape(out, 8, "ab\xE2\x80\x8B" "cd");
    assert_string_equal(out, "ab");
    hc_name_escape(out, 5, "\xD0\x90\xD0\x90\xD0\x90");
    assert_string_equal(out, "\xD0\x90\xD0\x90");
    /* the worst case fits the documented size */
    char worst[65];
    memset(worst, 0x80, 64);
    worst[64] = 0;
    hc_name_escape(out, sizeof out, worst);
    assert_int_equal(strlen(out), 64 * 6);
}

static void test_lookalikes_are_confusable_with_alice(void **state) {
    (void)state;
    for (size_t i = 0; i < HC_N_LOOKALIKES; i++)
        if (!hc_names_confusable("Alice", hc_lookalikes[i].name))
            fail_msg("%s: not taken for 'Alice'", hc_lookalikes[i].what);
}

static void test_confusable_pairs(void **state) {
    (void)state;
    static const struct {
        const char *a, *b;
        int same;
    } pairs[] = {
        {"Alice", "Alice", 1},
        {"Alice", "alice", 1},                           /* case */
        {"Alice", "ALICE", 1},
        {"Alice", "AIice", 1},                           /* capital I for l */
        {"Alice", "A1ice", 1},                           /* digit one for l */
        {"Alice", "\xEF\xBC\xA1\xEF\xBD\x8C\xEF\xBD\x89\xEF\xBD\x83\xEF\xBD\x85", 1},   /* fullwidth */
        {"Alice", "\xD0\x90\xD0\xB0lice", 0},            /* two letters more: not the same */
        {"Paypal", "\xD0\xA0\xD0\xB0yp\xD0\xB0l", 1},    /* Cyrillic Р and а */
        {"Jos\xC3\xA9", "Jose\xCC\x81", 1},              /* composed and decomposed é */
        {"Alice Smith", "Alice  Smith", 1},              /* stored before the rules: spaces squashed */
        {"Alice", " Alice ", 1},
        {"Alice", "Alicia", 0},
        {"Bob", "Rob", 0},
        {"Alice", "Alice2", 0},
        {"Ada (bot)", "Bob (bot)", 0},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        if (hc_names_confusable(pairs[i].a, pairs[i].b) != pairs[i].same)
            fail_msg("pair %zu ('%s', '%s'): expected %s", i, pairs[i].a, pairs[i].b,
                     pairs[i].same ? "confusable" : "distinct");
}

static void test_keys(void **state) {
    (void)state;
    hc_name_key a, b;
    assert_int_equal(hc_name_key_make(&a, "Alice"), 0);
    assert_int_equal(hc_name_key_make(&b, "\xD0\x90lice"), 0);
    assert_true(hc_name_key_match(&a, &b));
    hc_name_key_free(&b);
    /* a name that expands a lot under NFKC (U+FDFA is 18 characters) still gets whole keys */
    char big[65] = "";
    for (int i = 0; i < 21; i++) strcat(big, "\xEF\xB7\xBA");
    assert_int_equal(hc_name_key_make(&b, big), 0);
    assert_true(b.len[0] > 21 * 18 - 1 && b.len[1] > 21 * 18 - 1);
    assert_false(hc_name_key_match(&a, &b));
    hc_name_key_free(&b);
    hc_name_key_free(&b);                                /* twice is harmless */
    hc_name_key_free(&a);
    assert_null(a.k[0]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_names_say_why),
        cmocka_unit_test(test_ordinary_names_are_accepted),
        cmocka_unit_test(test_message_and_escape),
        cmocka_unit_test(test_lookalikes_are_confusable_with_alice),
        cmocka_unit_test(test_confusable_pairs),
        cmocka_unit_test(test_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
