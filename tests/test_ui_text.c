/* Text helpers, the log ring and the cell grid: UTF-8 decoding with replacement, widths, code
 * and duration formats, bounded log, truncation with an ellipsis. */
#include "tests/testutil.h"

#include "ui/grid.h"
#include "ui/log.h"
#include "ui/text.h"

static void test_utf8_decode(void **state) {
    (void)state;
    struct { const char *s; size_t len; uint32_t cp; int ok; } v[] = {
        {"A", 1, 'A', 1},
        {"\xC3\xA9", 2, 0xE9, 1},
        {"\xE2\x82\xAC", 3, 0x20AC, 1},
        {"\xF0\x9F\x98\x80", 4, 0x1F600, 1},
        {"\xC0\xAF", 1, HC_CP_REPLACEMENT, 0},           /* overlong */
        {"\xE0\x80\xAF", 1, HC_CP_REPLACEMENT, 0},       /* overlong */
        {"\xED\xA0\x80", 1, HC_CP_REPLACEMENT, 0},       /* surrogate */
        {"\xF4\x90\x80\x80", 1, HC_CP_REPLACEMENT, 0},   /* > U+10FFFF */
        {"\xE2\x82", 1, HC_CP_REPLACEMENT, 0},           /* truncated */
        {"\x80", 1, HC_CP_REPLACEMENT, 0},
        {"\xFF", 1, HC_CP_REPLACEMENT, 0},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint32_t cp;
        int ok;
        assert_int_equal(hc_utf8_next(v[i].s, strlen(v[i].s), &cp, &ok), v[i].len);
        assert_int_equal(cp, v[i].cp);
        assert_int_equal(ok, v[i].ok);
    }
    char b[4];
    assert_int_equal(hc_utf8_put(0x1F600, b), 4);
    assert_memory_equal(b, "\xF0\x9F\x98\x80", 4);
    assert_int_equal(hc_utf8_put(0xD800, b), 0);
    assert_int_equal(hc_utf8_put(0x110000, b), 0);
}

static void test_width(void **state) {
    (void)state;
    assert_int_equal(hc_text_width("abc"), 3);
    assert_int_equal(hc_text_width("caf\xC3\xA9"), 4);
    assert_int_equal(hc_text_width("cafe\xCC\x81"), 4);                 /* combining acute */
    assert_int_equal(hc_text_width("\xE6\x97\xA5\xE6\x9C\xAC"), 4);     /* two CJK */
    assert_int_equal(hc_text_width("\xF0\x9F\x98\x80"), 2);
    assert_int_equal(hc_text_width("a\x1b[31m"), 6);                      /* ESC counts as its '?' */
    assert_true(hc_cp_unsafe(0x202E));
    assert_true(hc_cp_unsafe(0x1B));
    assert_true(hc_cp_unsafe(0x85));
    assert_false(hc_cp_unsafe('a'));
}

static void test_copy_and_formats(void **state) {
    (void)state;
    char out[6];
    hc_text_copy(out, sizeof out, "ab\xE2\x82\xAC" "cd");          /* 5 bytes fit: "ab€" */
    assert_string_equal(out, "ab\xE2\x82\xAC");
    hc_text_copy(out, 5, "ab\xE2\x82\xAC");                         /* € does not fit in 4 */
    assert_string_equal(out, "ab");
    char code[48];
    assert_int_equal(hc_code_format(code, "3141592653589793238462643383279502884197"), 1);
    assert_string_equal(code, "31415 92653 58979 32384 62643 38327 95028 84197");
    assert_int_equal(hc_code_format(code, " 31415-92653 58979 32384 62643 38327 95028 84197 "), 1);
    assert_string_equal(code, "31415 92653 58979 32384 62643 38327 95028 84197");
    assert_int_equal(hc_code_format(code, "12345"), 0);
    assert_string_equal(code, "12345");
    assert_int_equal(hc_code_format(code, NULL), 0);
    assert_string_equal(code, "");
    char d[32];
    hc_format_duration(d, sizeof d, 0);
    assert_string_equal(d, "0:00:00");
    hc_format_duration(d, sizeof d, 3723999);
    assert_string_equal(d, "1:02:03");
    hc_format_duration(d, sizeof d, 360000000);
    assert_string_equal(d, "100:00:00");
}

static void test_log_ring(void **state) {
    (void)state;
    hc_log *l = malloc(sizeof *l);
    hc_log_init(l);
    assert_null(hc_log_get(l, 0));
    for (int i = 0; i < HC_LOG_CAP + 10; i++) hc_log_addf(l, HC_LOG_INFO, (uint64_t)i, "entry %d", i);
    assert_int_equal(hc_log_count(l), HC_LOG_CAP);
    assert_int_equal(l->total, HC_LOG_CAP + 10);
    assert_string_equal(hc_log_get(l, 0)->text, "entry 10");
    assert_string_equal(hc_log_get(l, HC_LOG_CAP - 1)->text, "entry 265");
    assert_null(hc_log_get(l, HC_LOG_CAP));
    /* Long text is cut on a character boundary. */
    char big[2000];
    for (size_t i = 0; i + 3 <= sizeof big - 1; i += 3) memcpy(big + i, "\xE2\x82\xAC", 3);
    big[sizeof big - 1 - (sizeof big - 1) % 3] = 0;
    hc_log_add(l, HC_LOG_CHAT, 1, big);
    const hc_log_entry *e = hc_log_get(l, HC_LOG_CAP - 1);
    assert_true(strlen(e->text) < HC_LOG_TEXT);
    assert_int_equal(strlen(e->text) % 3, 0);
    assert_int_equal(e->kind, HC_LOG_CHAT);
    free(l);
}

static void test_grid_text(void **state) {
    (void)state;
    hc_grid g = {0};
    char row[256];
    assert_int_equal(hc_grid_init(&g, 10, 2, 0), 0);
    assert_int_equal(hc_grid_text(&g, 0, 0, 10, 0, "hello"), 5);
    hc_grid_row(&g, 0, row, sizeof row);
    assert_string_equal(row, "hello     ");
    hc_grid_text(&g, 0, 0, 6, 0, "truncated");
    hc_grid_row(&g, 0, row, sizeof row);
    assert_string_equal(row, "trunc\xE2\x80\xA6    ");
    /* A wide character that does not fit before the ellipsis leaves a space. */
    hc_grid_clear(&g);
    hc_grid_text(&g, 0, 0, 4, 0, "a\xE6\x97\xA5\xE6\x9C\xAC");
    hc_grid_row(&g, 0, row, sizeof row);
    assert_string_equal(row, "a\xE6\x97\xA5\xE2\x80\xA6      ");
    hc_grid_clear(&g);
    hc_grid_text(&g, 0, 0, 3, 0, "a\xE6\x97\xA5\xE6\x9C\xAC");
    hc_grid_row(&g, 0, row, sizeof row);
    assert_string_equal(row, "a \xE2\x80\xA6       ");
    /* Never past the right edge; controls and bidi overrides drawn as '?'. */
    hc_grid_clear(&g);
    hc_grid_text(&g, 7, 1, 50, 0, "a\x1b\xE2\x80\xAE" "b");
    hc_grid_row(&g, 1, row, sizeof row);
    assert_string_equal(row, "       a?\xE2\x80\xA6");
    /* Overwriting half a wide character clears the other half. */
    hc_grid_clear(&g);
    hc_grid_text(&g, 0, 0, 10, 0, "\xE6\x97\xA5");
    hc_grid_text(&g, 1, 0, 1, 0, "x");
    hc_grid_row(&g, 0, row, sizeof row);
    assert_string_equal(row, " x        ");
    /* ASCII: one '?' per character, "..." as the ellipsis. */
    assert_int_equal(hc_grid_init(&g, 10, 1, 1), 0);
    hc_grid_text(&g, 0, 0, 10, 0, "Zo\xC3\xAB \xE6\x97\xA5 cafe\xCC\x81 long");
    hc_grid_row(&g, 0, row, sizeof row);
    assert_string_equal(row, "Zo? ? c...");
    hc_grid_clear(&g);
    hc_grid_text(&g, 0, 0, 10, 0, "cafe\xCC\x81!");       /* the mark after an ASCII letter is dropped */
    hc_grid_row(&g, 0, row, sizeof row);
    assert_string_equal(row, "cafe!     ");
    hc_grid_free(&g);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_decode),
        cmocka_unit_test(test_width),
        cmocka_unit_test(test_copy_and_formats),
        cmocka_unit_test(test_log_ring),
        cmocka_unit_test(test_grid_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
