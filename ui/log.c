/* Bounded event log ring (see log.h). */
#include "ui/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ui/text.h"

void hc_log_init(hc_log *l) {
    l->head = l->count = 0;
    l->total = 0;
}

void hc_log_add(hc_log *l, hc_log_kind kind, uint64_t t_ms, const char *text) {
    size_t slot;
    if (l->count < HC_LOG_CAP) {
        slot = (l->head + l->count) % HC_LOG_CAP;
        l->count++;
    } else {
        slot = l->head;                       /* overwrite the oldest */
        l->head = (l->head + 1) % HC_LOG_CAP;
    }
    hc_log_entry *e = &l->e[slot];
    e->kind = kind;
    e->t_ms = t_ms;
    hc_text_copy(e->text, sizeof e->text, text ? text : "");
    l->total++;
}

void hc_log_addf(hc_log *l, hc_log_kind kind, uint64_t t_ms, const char *fmt, ...) {
    char buf[HC_LOG_TEXT * 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    hc_log_add(l, kind, t_ms, buf);
}

size_t hc_log_count(const hc_log *l) { return l->count; }

const hc_log_entry *hc_log_get(const hc_log *l, size_t i) {
    if (i >= l->count) return NULL;
    return &l->e[(l->head + i) % HC_LOG_CAP];
}
