#include "audio/spec.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t errlen, int is_input, const char *s, const char *why) {
    if (err && errlen)
        snprintf(err, errlen, "bad audio %s '%s': %s (expected %s)", is_input ? "input" : "output", s, why,
                 is_input ? "device, device:NAME, device:INDEX, wav:FILE, tone:HZ or silence"
                          : "device, device:NAME, device:INDEX, wav:FILE or null");
    return -1;
}

static int copy_arg(hc_audio_spec *o, const char *a) {
    size_t n = strlen(a);
    if (n >= sizeof o->arg) return -1;
    memcpy(o->arg, a, n + 1);
    return 0;
}

int hc_audio_spec_parse(const char *s, int is_input, hc_audio_spec *o, char *err, size_t errlen) {
    memset(o, 0, sizeof *o);
    o->device_index = -1;
    if (!s || !*s) s = "device";
    if (!strcmp(s, "device")) {
        o->kind = HC_SPEC_DEVICE;
        return 0;
    }
    if (!strncmp(s, "device:", 7)) {
        const char *a = s + 7;
        if (!*a) return fail(err, errlen, is_input, s, "empty device name");
        o->kind = HC_SPEC_DEVICE;
        if (copy_arg(o, a)) return fail(err, errlen, is_input, s, "device name too long");
        char *end;
        errno = 0;
        long v = strtol(a, &end, 10);
        if (!*end) {                          /* all digits: an index */
            if (errno || v < 0 || v > 100000) return fail(err, errlen, is_input, s, "device index out of range");
            o->device_index = (int)v;
        }
        return 0;
    }
    if (!strncmp(s, "wav:", 4)) {
        if (!s[4]) return fail(err, errlen, is_input, s, "missing file name after 'wav:'");
        o->kind = HC_SPEC_WAV;
        if (copy_arg(o, s + 4)) return fail(err, errlen, is_input, s, "file name too long");
        return 0;
    }
    if (!strncmp(s, "tone:", 5) || !strcmp(s, "tone")) {
        if (!is_input) return fail(err, errlen, is_input, s, "a tone is an input, not an output");
        const char *a = s[4] == ':' ? s + 5 : "";
        char *end;
        errno = 0;
        double hz = strtod(a, &end);
        if (!*a || *end || errno || !isfinite(hz))
            return fail(err, errlen, is_input, s, "the tone needs a frequency in Hz, e.g. tone:440");
        if (hz <= 0 || hz >= 20000) return fail(err, errlen, is_input, s, "tone frequency must be between 0 and 20000 Hz");
        o->kind = HC_SPEC_TONE;
        o->tone_hz = hz;
        return 0;
    }
    if (!strcmp(s, "silence")) {
        if (!is_input) return fail(err, errlen, is_input, s, "silence is an input; for no output use 'null'");
        o->kind = HC_SPEC_SILENCE;
        return 0;
    }
    if (!strcmp(s, "null")) {
        if (is_input) return fail(err, errlen, is_input, s, "null is an output; for no input use 'silence'");
        o->kind = HC_SPEC_NULL;
        return 0;
    }
    return fail(err, errlen, is_input, s, "unknown kind");
}
