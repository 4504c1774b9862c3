/* The stats event's JSON as a table (see stats.h). */
#include "ui/stats.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "ui/text.h"

static json_object *get(json_object *o, const char *key) {
    json_object *v = NULL;
    if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v)) return NULL;
    return v;
}

/* Numbers only: a string or an object where a number belongs counts as absent (0). */
static double num(json_object *o, const char *key) {
    json_object *v = get(o, key);
    if (!v || !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))) return 0;
    return json_object_get_double(v);
}

static uint64_t count(json_object *o, const char *key) {
    json_object *v = get(o, key);
    if (!v || !json_object_is_type(v, json_type_int)) return 0;
    return json_object_get_uint64(v);
}

static int flag(json_object *o, const char *key) {
    json_object *v = get(o, key);
    return v && json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
}

/* The row of a sender, found or added (the list stays sorted by index). NULL when full. */
static hc_stats_sender *row(hc_stats *st, size_t *cap, uint32_t index) {
    size_t i = 0;
    while (i < st->n && st->senders[i].index < index) i++;
    if (i < st->n && st->senders[i].index == index) return &st->senders[i];
    if (st->n >= HC_STATS_SENDERS_MAX) return NULL;
    if (st->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        hc_stats_sender *p = realloc(st->senders, nc * sizeof *p);
        if (!p) return NULL;
        st->senders = p;
        *cap = nc;
    }
    memmove(&st->senders[i + 1], &st->senders[i], (st->n - i) * sizeof *st->senders);
    st->n++;
    memset(&st->senders[i], 0, sizeof st->senders[i]);
    st->senders[i].index = index;
    return &st->senders[i];
}

static int index_of(json_object *o, uint32_t *index) {
    json_object *v = get(o, "index");
    if (!v || !json_object_is_type(v, json_type_int)) return -1;
    int64_t x = json_object_get_int64(v);
    if (x < 0 || x > UINT32_MAX) return -1;
    *index = (uint32_t)x;
    return 0;
}

static size_t length(json_object *a) {
    return a && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

/* The i-th object of a list of per-member figures (*o) and that member's row; NULL to skip it (no
 * index), or when the table is full (*full). */
static hc_stats_sender *row_at(hc_stats *st, size_t *cap, json_object *list, size_t i, json_object **o, int *full) {
    uint32_t index;
    *o = json_object_array_get_idx(list, i);
    if (index_of(*o, &index) < 0) return NULL;
    hc_stats_sender *s = row(st, cap, index);
    if (!s) *full = 1;
    return s;
}

int hc_stats_parse(hc_stats *out, const char *text, uint64_t t_ms) {
    if (!text) return -1;
    json_object *root = json_tokener_parse(text);
    if (!root || !json_object_is_type(root, json_type_object)) {
        json_object_put(root);
        return -1;
    }
    hc_stats st;
    memset(&st, 0, sizeof st);
    size_t cap = 0;
    int full = 0;
    st.valid = 1;
    st.t_ms = t_ms;
    st.epoch = (uint32_t)count(root, "epoch");
    st.rtt_ms = num(root, "rtt_ms");
    json_object *senders = get(root, "senders");
    for (size_t i = 0, n = length(senders); i < n && !full; i++) {
        json_object *o;
        hc_stats_sender *s = row_at(&st, &cap, senders, i, &o, &full);
        if (!s) continue;
        s->has_audio = 1;
        json_object *name = get(o, "name");
        if (name && json_object_is_type(name, json_type_string))
            hc_text_copy(s->name, sizeof s->name, json_object_get_string(name));
        s->received = count(o, "received");
        s->lost = count(o, "lost");
        s->late = count(o, "late");
        s->concealed = count(o, "concealed");
        s->fec_recovered = count(o, "fec_recovered");
        s->ok = count(o, "ok");
        s->decrypt_fail = count(o, "decrypt_fail");
        s->replay = count(o, "replay");
        s->loss_pct = num(o, "loss_pct");
        s->jitter_ms = num(o, "jitter_ms");
        s->delay_ms = (int)num(o, "delay_ms");
        s->muted = flag(o, "muted");
    }
    json_object *tx = get(root, "tx");
    st.tx.frames = count(tx, "frames");
    st.tx.dtx_skipped = count(tx, "dtx_skipped");
    st.tx.bytes = count(tx, "bytes");
    st.tx.kbps = num(tx, "kbps");
    st.tx.muted = flag(tx, "muted");
    st.tx.loss_hint = (int)num(tx, "loss_hint");
    st.tx.capture_overruns = count(tx, "capture_overruns");
    st.tx.capture_underruns = count(tx, "capture_underruns");
    st.tx.playback_underruns = count(tx, "playback_underruns");
    st.tx.playback_overruns = count(tx, "playback_overruns");
    json_object *video = get(root, "video");
    if (video && json_object_is_type(video, json_type_object)) {
        st.has_video = 1;
        st.vtx.camera = flag(video, "camera");
        json_object *vt = get(video, "tx");
        st.vtx.paused = flag(vt, "paused");
        st.vtx.frames_sent = count(vt, "frames_sent");
        st.vtx.keyframes = count(vt, "keyframes");
        st.vtx.fps = num(vt, "fps");
        st.vtx.kbps = num(vt, "kbps");
        json_object *r = get(vt, "receivers");
        st.vtx.receivers = r && json_object_is_type(r, json_type_int) ? json_object_get_int64(r) : -1;
        json_object *rx = get(video, "rx");
        for (size_t i = 0, n = length(rx); i < n && !full; i++) {
            json_object *o;
            hc_stats_sender *s = row_at(&st, &cap, rx, i, &o, &full);
            if (!s) continue;
            s->has_video = 1;
            s->video_live = flag(o, "live");
            s->video_fps = num(o, "fps");
            s->video_kbps = num(o, "kbps");
            s->video_decoded = count(o, "decoded");
            s->video_dropped = count(o, "dropped");
            s->video_freezes = count(o, "freezes");
        }
    }
    json_object_put(root);
    hc_stats_free(out);
    *out = st;
    return 0;
}

void hc_stats_free(hc_stats *st) {
    free(st->senders);
    memset(st, 0, sizeof *st);
}
