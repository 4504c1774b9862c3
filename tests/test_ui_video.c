/* The video view of the screen (issue 14): who gets a tile (the active speaker or the pinned
 * member large, up to three thumbnails, the self-view while the camera is on), the layout at
 * 80x24, 120x40 and 200x60 (header, code, alert and status lines stay; tiles inside the area, not
 * overlapping, the speaker twice a thumbnail's height), labels (name, MUTED, FROZEN, PINNED),
 * pictures read back from the grid's colours (the pattern's magenta corner), the video's own pace
 * (a redraw of the screen paints no newer picture; a video step changes only the tile), the
 * keys (t, c, p, /pin, /unpin, /camera), the CAM badge and the /stats screen figures. */
#include "tests/testutil.h"
#include "tests/ui_testutil.h"

#include "ui/keys.h"
#include "ui/picture.h"
#include "ui/tiles.h"
#include "ui/viewmodel.h"
#include "video/pattern.h"

#define CODE "31415 92653 58979 32384 62643 38327 95028 84197"

typedef struct {
    hc_ui *ui;
    hc_grid g;
    hc_layout lay;
    hc_view_state st;
    hc_view_participant p[16];
    hc_video_frame pic;
    uint32_t seq;
    /* commands the keys sent */
    int n_cmd;
    hc_command_type last_type;
    uint32_t last_index;
} vfx;

static const char *names[] = {"you", "Ada", "Bob", "Cleo", "Dan", "Eve", "Finn"};

/* n participants: #1 is us, the others #2..#n; nobody talks. */
static void people(vfx *f, size_t n) {
    memset(f->p, 0, sizeof f->p);
    for (size_t i = 0; i < n; i++) {
        hc_view_participant *p = &f->p[i];
        p->index = (uint32_t)i + 1;
        snprintf(p->name, sizeof p->name, "%s", names[i % 7]);
        snprintf(p->fingerprint, sizeof p->fingerprint, "%04zx ef01 2345 6789 abcd", i + 0xa000);
        p->is_self = i == 0;
        p->is_leader = i == 1;
        p->level_dbfs = -127;
        p->video_live = 1;
    }
    f->st.n_participants = n;
    f->st.participants = f->p;
}

static vfx *vmake(size_t n) {
    vfx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->ui = hc_test_ui_new(&f->st, "Ada", CODE);
    people(f, n);
    hc_ui_set_state(f->ui, &f->st);
    assert_int_equal(hc_video_frame_alloc(&f->pic, 160, 90), 0);
    f->ui->video_view = 1;
    return f;
}

static void vfree(vfx *f) {
    hc_grid_free(&f->g);
    hc_ui_free(f->ui);
    hc_video_frame_free(&f->pic);
    free(f);
}

static void state(vfx *f) { hc_ui_set_state(f->ui, &f->st); }

static void draw(vfx *f, int w, int h) {
    assert_int_equal(hc_grid_init(&f->g, w, h, 0), 0);
    hc_vm_render(&f->g, f->ui, &f->lay);
}

/* The next pattern picture of member index, as the front end's picture op gives it. */
static void picture(vfx *f, uint32_t index) {
    hc_pattern_draw(&f->pic, f->seq, f->seq * 67u);
    f->seq++;
    hc_ui_picture(f->ui, index, &f->pic);
}

static char *row(vfx *f, int y) {
    static char buf[8192];
    hc_grid_row(&f->g, y, buf, sizeof buf);
    return buf;
}

static int find_row(vfx *f, const char *s) {
    for (int y = 0; y < f->g.h; y++)
        if (strstr(row(f, y), s)) return y;
    return -1;
}

static const hc_tile *tile_of(vfx *f, uint32_t index) {
    for (int i = 0; i < f->lay.tiles.n; i++)
        if (f->lay.tiles.t[i].index == index) return &f->lay.tiles.t[i];
    return NULL;
}

static void on_cmd(void *ctx, const hc_command *c) {
    vfx *f = ctx;
    f->n_cmd++;
    f->last_type = c->type;
    f->last_index = c->index;
}

static void key(vfx *f, int k) {
    hc_frontend_callbacks cb = {.ctx = f, .command = on_cmd};
    hc_ui_key(f->ui, k, &cb);
}

static void typed(vfx *f, const char *line) {
    hc_frontend_callbacks cb = {.ctx = f, .command = on_cmd};
    hc_ui_command_line(f->ui, line, &cb);
}

static int overlaps(hc_rect a, hc_rect b) {
    return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/* Cells compared by what they show (the bytes after a glyph's NUL are not part of it). */
static int same_cell(const hc_cell *a, const hc_cell *b) {
    return !strcmp(a->ch, b->ch) && a->width == b->width && a->style == b->style && a->fg.kind == b->fg.kind &&
           !memcmp(a->fg.v, b->fg.v, 3) && a->bg.kind == b->bg.kind && !memcmp(a->bg.v, b->bg.v, 3);
}

static int same_grid(const hc_grid *a, const hc_grid *b) {
    for (int i = 0; i < a->w * a->h; i++)
        if (!same_cell(&a->cells[i], &b->cells[i])) return 0;
    return 1;
}

/* A tile's picture box and its label line, as one rectangle. */
static hc_rect whole(const hc_tile *t) { return (hc_rect){t->pic.x, t->pic.y, t->pic.w, t->pic.h + 1}; }

/* ---- layout ---- */

/* At each size: the header, the code line, the alert line, the input and status lines stay; the
 * tiles (main, two thumbnails, the self-view) lie inside the rows between the alert line and the
 * log, none over another, the speaker's box in the picture's shape and at least twice as tall as a
 * thumbnail; some log stays. */
static void check_layout(int w, int h, int min_main_w) {
    vfx *f = vmake(4);
    f->st.camera_on = 1;
    f->p[2].talking = 1, f->p[2].level_dbfs = -10;       /* Bob speaks */
    state(f);
    draw(f, w, h);
    assert_non_null(strstr(row(f, 0), "meeting 482915736"));
    assert_non_null(strstr(row(f, 1), "code " CODE));
    assert_non_null(strstr(row(f, 1), "NOT VERIFIED"));
    assert_int_equal(f->lay.alert_y, -1);                 /* no alert: a rule */
    assert_non_null(strstr(row(f, h - 1), "MIC "));
    assert_non_null(strstr(row(f, h - 1), "CAM ON"));
    assert_non_null(strstr(row(f, h - 1), "q leave"));
    assert_int_equal(f->lay.input_y, h - 2);
    assert_int_equal(f->lay.video, 1);
    assert_int_equal(f->lay.tiles.n, 4);
    const hc_tile *m = &f->lay.tiles.t[0];
    assert_int_equal(m->kind, HC_TILE_MAIN);
    assert_int_equal(m->index, 3);                        /* the speaker */
    assert_true(m->pic.w >= min_main_w);
    /* 16:9: 32 columns for 9 rows (a cell shows two pixels one above the other) */
    assert_true(abs(m->pic.w * 9 - m->pic.h * 32) <= 32);
    assert_true(f->lay.log_rows >= 1);
    for (int i = 0; i < f->lay.tiles.n; i++) {
        const hc_tile *t = &f->lay.tiles.t[i];
        hc_rect r = whole(t);
        assert_true(r.x >= 0 && r.x + r.w <= w);
        assert_true(r.y >= 3 && r.y + r.h <= f->lay.log_y - 1);
        assert_int_equal(t->label.y, t->pic.y + t->pic.h);
        if (i) assert_true(2 * t->pic.h <= m->pic.h);
        for (int j = 0; j < i; j++) assert_false(overlaps(r, whole(&f->lay.tiles.t[j])));
        /* its label names the member */
        const hc_view_participant *p = hc_ui_find(f->ui, t->index);
        assert_non_null(p);
        char lab[512];
        hc_grid_row(&f->g, t->label.y, lab, sizeof lab);
        assert_non_null(strstr(lab, p->name));
    }
    assert_int_equal(f->lay.tiles.t[3].kind, HC_TILE_SELF);
    assert_int_equal(f->lay.tiles.t[3].index, 1);
    /* an alert: the alert line shows it, the tiles stay below it */
    hc_ui_alert(f->ui, HC_ALERT_SECURITY, "CODES DIFFER: test");
    draw(f, w, h);
    assert_int_equal(f->lay.alert_y, 2);
    assert_non_null(strstr(row(f, 2), "!! CODES DIFFER"));
    assert_non_null(strstr(row(f, 1), "code " CODE));
    assert_true(f->lay.tiles.t[0].pic.y >= 3);
    vfree(f);
}

static void test_layout_80x24(void **s) { (void)s; check_layout(80, 24, 40); }
static void test_layout_120x40(void **s) { (void)s; check_layout(120, 40, 80); }
static void test_layout_200x60(void **s) { (void)s; check_layout(200, 60, 140); }

/* The geometry alone: no tiles where there is no room; one tile alone is centred and as large
 * as the area allows; four side tiles fit too. */
static void test_geometry(void **s) {
    (void)s;
    hc_tiles t;
    hc_video_geometry((hc_rect){0, 0, 6, 2}, 1, &t);
    assert_int_equal(t.n, 0);
    hc_video_geometry((hc_rect){0, 3, 120, 27}, 0, &t);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.t[0].pic.h, 26);
    assert_int_equal(t.t[0].pic.x, (120 - t.t[0].pic.w) / 2);
    for (int k = 1; k <= 4; k++) {
        hc_video_geometry((hc_rect){0, 3, 80, 15}, k, &t);
        assert_int_equal(t.n, 1 + k);
        for (int i = 0; i < t.n; i++)
            for (int j = 0; j < i; j++) assert_false(overlaps(whole(&t.t[i]), whole(&t.t[j])));
    }
    /* a picture of another shape is fitted in its box, centred */
    int x, y, w, h;
    hc_video_fit(64, 18, 160, 90, &x, &y, &w, &h);  /* 16:9 in a 16:9 box (64 x 36 pixels): all of it */
    assert_true(w == 64 && h == 18 && x == 0 && y == 0);
    hc_video_fit(48, 13, 120, 90, &x, &y, &w, &h);  /* 4:3: full height, narrower */
    assert_int_equal(h, 13);
    assert_int_equal(w, 35);
    assert_int_equal(x, (48 - 35) / 2);
}

/* ---- who is shown ---- */

static void test_cast(void **s) {
    (void)s;
    vfx *f = vmake(7);                       /* us and six others */
    hc_video_cast c;
    /* nobody talks, no pictures: the first other member is large, the next three thumbnails */
    hc_video_cast_choose(f->ui->parts, 7, 0, 0, 0, f->ui->pics, &c);
    assert_int_equal(c.main, 2);
    assert_int_equal(c.n_thumbs, 3);
    assert_int_equal(c.thumbs[0], 3);
    assert_int_equal(c.self, 0);             /* camera off: no self-view */
    /* pictures first: #6 has one, so it is large; #7 with one comes first among thumbnails */
    picture(f, 6);
    picture(f, 7);
    hc_video_cast_choose(f->ui->parts, 7, 0, 0, 1, f->ui->pics, &c);
    assert_int_equal(c.main, 6);
    assert_int_equal(c.thumbs[0], 7);
    assert_int_equal(c.thumbs[1], 2);
    assert_int_equal(c.self, 1);
    /* the speaker beats pictures; the pin beats the speaker */
    hc_video_cast_choose(f->ui->parts, 7, 0, 4, 0, f->ui->pics, &c);
    assert_int_equal(c.main, 4);
    hc_video_cast_choose(f->ui->parts, 7, 5, 4, 0, f->ui->pics, &c);
    assert_int_equal(c.main, 5);
    /* a pin or speaker who is not here, or ourselves, is ignored */
    hc_video_cast_choose(f->ui->parts, 7, 99, 1, 0, f->ui->pics, &c);
    assert_int_equal(c.main, 6);
    /* someone waiting to be admitted is not in the meeting: no tile */
    f->p[1].waiting = 1;
    state(f);
    hc_video_cast_choose(f->ui->parts, 7, 0, 0, 0, f->ui->pics, &c);
    for (int i = 0; i < c.n_thumbs; i++) assert_int_not_equal(c.thumbs[i], 2);
    assert_int_not_equal(c.main, 2);
    vfree(f);
}

/* The active speaker follows who talks, and stays through a pause. */
static void test_speaker(void **s) {
    (void)s;
    vfx *f = vmake(3);
    assert_int_equal(f->ui->speaker, 0);
    f->p[2].talking = 1, f->p[2].level_dbfs = -12;
    state(f);
    assert_int_equal(f->ui->speaker, 3);
    f->p[2].talking = 0;                              /* a pause */
    state(f);
    assert_int_equal(f->ui->speaker, 3);
    f->p[1].talking = 1, f->p[1].level_dbfs = -20;    /* Ada answers */
    state(f);
    assert_int_equal(f->ui->speaker, 2);
    f->p[0].talking = 1, f->p[0].level_dbfs = 0;      /* we talk: not our own tile */
    state(f);
    assert_int_equal(f->ui->speaker, 2);
    people(f, 2);                                     /* Bob left; Ada leaves */
    f->p[1].index = 9;
    state(f);
    assert_int_equal(f->ui->speaker, 0);
    vfree(f);
}

/* ---- pictures ---- */

/* The xterm-256 index of a cell's colour, as RGB. */
static void rgb_of(hc_color c, uint8_t rgb[3]) {
    static const uint8_t black[3] = {0, 0, 0};
    hc_picture_color_rgb(c, black, rgb);
}

/* A picture in the main tile: its cells carry 256-colour pairs, the top-right corner is the
 * pattern's magenta marker, the top-left the stamp's black and white; the label is not FROZEN
 * while the picture is live, and is once it is frozen; with no picture the tile says so. */
static void test_picture_cells(void **s) {
    (void)s;
    vfx *f = vmake(3);
    draw(f, 120, 40);
    const hc_tile *t = tile_of(f, 2);
    assert_non_null(t);
    assert_true(find_row(f, "no video") > 0);
    assert_int_equal(hc_grid_cat(&f->g, t->pic.x + t->pic.w - 1, t->pic.y)->fg.kind, HC_COLOR_NONE);
    picture(f, 2);
    f->p[1].video = &f->pic;                           /* update() says a picture is there */
    state(f);
    draw(f, 120, 40);
    t = tile_of(f, 2);
    const hc_cell *corner = hc_grid_cat(&f->g, t->pic.x + t->pic.w - 2, t->pic.y);
    assert_int_equal(corner->fg.kind, HC_COLOR_256);
    assert_int_equal(corner->bg.kind, HC_COLOR_256);
    uint8_t rgb[3];
    rgb_of(corner->bg, rgb);
    assert_true(rgb[0] >= 200 && rgb[1] <= 60 && rgb[2] >= 200);    /* magenta */
    rgb_of(hc_grid_cat(&f->g, t->pic.x + 1, t->pic.y)->fg, rgb);     /* the stamp: frame 0, dark */
    assert_true(rgb[0] < 60 && rgb[1] < 60 && rgb[2] < 60);
    char lab[512];
    hc_grid_row(&f->g, t->label.y, lab, sizeof lab);
    assert_null(strstr(lab, "FROZEN"));
    assert_null(strstr(lab, "no video"));
    f->p[1].video_live = 0;                            /* a gap: the last good picture, frozen */
    state(f);
    draw(f, 120, 40);
    hc_grid_row(&f->g, tile_of(f, 2)->label.y, lab, sizeof lab);
    assert_non_null(strstr(lab, "FROZEN"));
    /* the video stopped: update() has no picture, the tile says "no video" again */
    f->p[1].video = NULL;
    state(f);
    draw(f, 120, 40);
    assert_false(hc_vpics_has(f->ui->pics, 2));
    assert_true(find_row(f, "no video") > 0);
    vfree(f);
}

/* Colour modes: monochrome and ASCII pictures carry no colours, only symbols (ASCII only). */
static void test_picture_modes(void **s) {
    (void)s;
    vfx *f = vmake(2);
    picture(f, 2);
    hc_vpics_set_mode(f->ui->pics, HC_PIC_MONO);
    draw(f, 100, 30);
    const hc_tile *t = tile_of(f, 2);
    for (int y = t->pic.y; y < t->pic.y + t->pic.h; y++)
        for (int x = t->pic.x; x < t->pic.x + t->pic.w; x++)
            assert_int_equal(hc_grid_cat(&f->g, x, y)->fg.kind, HC_COLOR_NONE);
    f->ui->ascii = 1;
    hc_vpics_set_mode(f->ui->pics, HC_PIC_ASCII);
    assert_int_equal(hc_grid_init(&f->g, 100, 30, 1), 0);
    hc_vm_render(&f->g, f->ui, &f->lay);
    t = tile_of(f, 2);
    int marks = 0;
    for (int y = t->pic.y; y < t->pic.y + t->pic.h; y++)
        for (int x = t->pic.x; x < t->pic.x + t->pic.w; x++) {
            const hc_cell *c = hc_grid_cat(&f->g, x, y);
            assert_true((unsigned char)c->ch[0] < 0x80);
            marks += c->ch[0] != ' ';
        }
    assert_true(marks > t->pic.w);                     /* the ramp draws the picture */
    vfree(f);
}

/* The video's own pace: a redraw of the whole screen does not paint a newer picture (the tile
 * keeps the cells it showed); a video step paints it and changes no cell outside the tile's box;
 * with a dialog open the step draws the whole frame (same cells elsewhere) with the new picture. */
static void test_video_step(void **s) {
    (void)s;
    vfx *f = vmake(3);
    picture(f, 2);
    draw(f, 120, 40);
    const hc_tile t = *tile_of(f, 2);
    hc_grid before = {0};
    assert_int_equal(hc_grid_init(&before, 120, 40, 0), 0);
    memcpy(before.cells, f->g.cells, sizeof *f->g.cells * 120 * 40);
    for (int i = 0; i < 30; i++) picture(f, 2);        /* the box moves: cells differ */
    hc_vm_render(&f->g, f->ui, &f->lay);
    assert_true(same_grid(&before, &f->g));
    unsigned long renders = hc_vpics_renders(f->ui->pics);
    assert_int_equal(hc_vm_video_step(&f->g, f->ui, &f->lay), 1);
    assert_int_equal(hc_vpics_renders(f->ui->pics), renders + 1);
    int changed = 0;
    for (int y = 0; y < 40; y++)
        for (int x = 0; x < 120; x++) {
            const hc_cell *a = hc_grid_cat(&before, x, y), *b = hc_grid_cat(&f->g, x, y);
            int same = same_cell(a, b);
            int inside = x >= t.pic.x && x < t.pic.x + t.pic.w && y >= t.pic.y && y < t.pic.y + t.pic.h;
            if (!inside) assert_true(same);
            changed += !same;
        }
    assert_true(changed > 0);
    assert_int_equal(hc_vm_video_step(&f->g, f->ui, &f->lay), 0);   /* nothing newer: nothing */
    /* a dialog: the whole frame, with the newest picture */
    f->ui->dialog = HC_DLG_HELP;
    hc_vm_render(&f->g, f->ui, &f->lay);
    picture(f, 2);
    assert_int_equal(hc_vm_video_step(&f->g, f->ui, &f->lay), 1);
    assert_false(hc_vpics_stale(f->ui->pics, 0, 2));
    assert_true(find_row(f, "Help") >= 0);
    /* the list view has no tiles: no step */
    f->ui->dialog = HC_DLG_NONE;
    f->ui->video_view = 0;
    hc_vm_render(&f->g, f->ui, &f->lay);
    picture(f, 2);
    assert_int_equal(hc_vm_video_step(&f->g, f->ui, &f->lay), 0);
    hc_grid_free(&before);
    vfree(f);
}

/* Pictures are kept in a bounded set of slots, reused: more members than slots keep the newest
 * ones; a tile's renderer keeps its state at a fixed size (no allocation per picture). */
static void test_pictures_bounded(void **s) {
    (void)s;
    vfx *f = vmake(2);
    for (uint32_t i = 100; i < 140; i++) picture(f, i);
    int kept = 0;
    for (uint32_t i = 100; i < 140; i++) kept += hc_vpics_has(f->ui->pics, i);
    assert_int_equal(kept, HC_VPICS_MAX);
    assert_true(hc_vpics_has(f->ui->pics, 139));
    assert_false(hc_vpics_has(f->ui->pics, 100));
    hc_vpics_retain(f->ui->pics, f->ui->parts, f->ui->st.n_participants);
    assert_false(hc_vpics_has(f->ui->pics, 139));      /* not in the meeting */
    /* the same tile at the same size: cells of each new picture, never a new allocation */
    picture(f, 2);
    draw(f, 100, 30);
    for (int i = 0; i < 50; i++) {
        picture(f, 2);
        assert_int_equal(hc_vm_video_step(&f->g, f->ui, &f->lay), 1);
    }
    assert_int_equal(hc_vpics_renders(f->ui->pics), 51);
    /* a broken picture is refused, not kept */
    hc_video_frame bad = f->pic;
    bad.w = 7;
    assert_int_equal(hc_vpics_put(f->ui->pics, 5, &bad), -1);
    assert_false(hc_vpics_has(f->ui->pics, 5));
    vfree(f);
}

/* ---- labels, keys, badge, stats ---- */

static void test_labels_and_pin(void **s) {
    (void)s;
    vfx *f = vmake(3);
    f->p[2].muted = 1;
    state(f);
    draw(f, 120, 40);
    char lab[512];
    hc_grid_row(&f->g, tile_of(f, 3)->label.y, lab, sizeof lab);
    assert_non_null(strstr(lab, "Bob"));
    assert_non_null(strstr(lab, "MUTED"));
    assert_int_equal(f->lay.tiles.t[0].index, 2);
    /* select Bob (the list order: you, Ada, Bob) and pin him: he is large, PINNED, the relay is
     * asked for his video */
    key(f, HC_KEY_DOWN);
    key(f, HC_KEY_DOWN);
    key(f, 'p');
    assert_int_equal(f->last_type, HC_CMD_PIN);
    assert_int_equal(f->last_index, 3);
    assert_int_equal(f->ui->pinned, 3);
    draw(f, 120, 40);
    assert_int_equal(f->lay.tiles.t[0].index, 3);
    hc_grid_row(&f->g, f->lay.tiles.t[0].label.y, lab, sizeof lab);
    assert_non_null(strstr(lab, "PINNED"));
    assert_non_null(strstr(lab, "> Bob"));             /* selected */
    /* p again on the pinned one unpins */
    key(f, 'p');
    assert_int_equal(f->last_type, HC_CMD_UNPIN);
    assert_int_equal(f->ui->pinned, 0);
    /* ourselves cannot be pinned */
    key(f, HC_KEY_UP);
    key(f, HC_KEY_UP);
    int n = f->n_cmd;
    key(f, 'p');
    assert_int_equal(f->n_cmd, n);
    /* typed: /pin N, /unpin, and refusals */
    typed(f, "/pin 2");
    assert_int_equal(f->last_type, HC_CMD_PIN);
    assert_int_equal(f->last_index, 2);
    typed(f, "/unpin");
    assert_int_equal(f->last_type, HC_CMD_UNPIN);
    n = f->n_cmd;
    typed(f, "/pin 42");
    typed(f, "/unpin");
    assert_int_equal(f->n_cmd, n);
    vfree(f);
}

static void test_keys_view_camera(void **s) {
    (void)s;
    vfx *f = vmake(3);
    f->ui->video_view = 0;
    draw(f, 100, 30);
    assert_int_equal(f->lay.video, 0);
    assert_true(find_row(f, "NAME (3)") > 0);
    assert_non_null(strstr(row(f, 29), "CAM OFF"));
    key(f, 't');
    assert_int_equal(f->ui->video_view, 1);
    draw(f, 100, 30);
    assert_int_equal(f->lay.video, 1);
    assert_int_equal(find_row(f, "NAME (3)"), -1);
    draw(f, 120, 30);                                  /* the hint where there is room for it */
    assert_non_null(strstr(row(f, 29), "t list"));
    draw(f, 100, 30);
    key(f, 'c');
    assert_int_equal(f->last_type, HC_CMD_VIDEO_ON);
    f->st.camera_on = 1;
    state(f);
    draw(f, 100, 30);
    assert_non_null(strstr(row(f, 29), "CAM ON"));
    assert_non_null(tile_of(f, 1));                    /* the self-view */
    assert_int_equal(tile_of(f, 1)->kind, HC_TILE_SELF);
    typed(f, "/camera");
    assert_int_equal(f->last_type, HC_CMD_VIDEO_OFF);
    key(f, 't');
    assert_int_equal(f->ui->video_view, 0);
    /* the help, made from the key table, names the new keys */
    char help[8192];
    hc_keys_help_text(help, sizeof help);
    assert_non_null(strstr(help, "c, /camera"));
    assert_non_null(strstr(help, "\n  t "));
    assert_non_null(strstr(help, "\n  p "));
    assert_non_null(strstr(help, "/pin N"));
    assert_non_null(strstr(help, "/unpin"));
    vfree(f);
}

/* A camera that fails is one log line that says why (not an alert: nothing to dismiss). */
static void test_camera_error_line(void **s) {
    (void)s;
    vfx *f = vmake(2);
    size_t before = hc_log_count(&f->ui->log);
    hc_event ev = {.type = HC_EV_CAMERA, .flag = 0, .reason = "error", .t_ms = 5000,
                   .text = "no camera at /dev/video0 (this machine has no /dev/video* device); the call goes on "
                           "without your video"};
    hc_ui_on_event(f->ui, &ev);
    assert_int_equal(hc_log_count(&f->ui->log), before + 1);
    const hc_log_entry *e = hc_log_get(&f->ui->log, hc_log_count(&f->ui->log) - 1);
    assert_int_equal(e->kind, HC_LOG_INFO);
    assert_string_equal(e->text, "camera: no camera at /dev/video0 (this machine has no /dev/video* device); the call "
                                 "goes on without your video");
    assert_int_equal(f->ui->alert_active, 0);
    draw(f, 80, 24);
    assert_int_equal(f->lay.alert_y, -1);
    assert_true(find_row(f, "camera: no camera at /dev/video0") > 0);
    vfree(f);
}

/* /stats: what the screen writes to the terminal a second, once the front end counts it. */
static void test_stats_screen(void **s) {
    (void)s;
    vfx *f = vmake(2);
    assert_int_equal(hc_stats_parse(&f->ui->stats, "{\"epoch\":3,\"rtt_ms\":1,\"senders\":[],\"tx\":{}}", 10), 0);
    f->ui->dialog = HC_DLG_STATS;
    draw(f, 120, 40);
    assert_int_equal(find_row(f, "written to the terminal"), -1);
    f->ui->out.known = 1;
    f->ui->out.bytes_per_s = 23456;
    f->ui->out.bytes = 3400000;
    f->ui->out.video_fps = 14.9;
    draw(f, 120, 40);
    int y = find_row(f, "written to the terminal");
    assert_true(y > 0);
    assert_non_null(strstr(row(f, y), "23.5 KB/s"));
    assert_non_null(strstr(row(f, y), "14.9 pictures/s"));
    vfree(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_80x24),  cmocka_unit_test(test_layout_120x40),
        cmocka_unit_test(test_layout_200x60), cmocka_unit_test(test_geometry),
        cmocka_unit_test(test_cast),          cmocka_unit_test(test_speaker),
        cmocka_unit_test(test_picture_cells), cmocka_unit_test(test_picture_modes),
        cmocka_unit_test(test_video_step),    cmocka_unit_test(test_pictures_bounded),
        cmocka_unit_test(test_labels_and_pin), cmocka_unit_test(test_keys_view_camera),
        cmocka_unit_test(test_stats_screen), cmocka_unit_test(test_camera_error_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
