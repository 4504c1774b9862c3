/* The config file (format in config.h). Self-contained on purpose: of app/ it needs only
 * names.c, so the parser can be tested and fuzzed alone. Values are checked with the rules the
 * rest of hushcall applies to them (hc_name_check, hc_parse_hostport); the file is opened with
 * the checks every file of the home directory gets (crypto/storefile.h). */
#include "app/config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/names.h"
#include "crypto/storefile.h"
#include "net/addr.h"

void hc_config_defaults(hc_config *c) {
    memset(c, 0, sizeof *c);
    c->admit = HC_ADMIT_AUTO;
}

/* Valid UTF-8 (no overlongs, surrogates or values past U+10FFFF) without C0/C1 controls or DEL,
 * for device names. Display names follow the stricter rule of app/names.h instead (no bidi
 * controls, invisible characters or stray spaces either). */
static int clean_utf8(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t c = *p;
        size_t n;
        if (c < 0x20 || c == 0x7F) return 0;
        if (c < 0x80) { p++; continue; }
        if (c >= 0xC2 && c <= 0xDF) { n = 1; c &= 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { n = 2; c &= 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { n = 3; c &= 0x07; }
        else return 0;
        for (size_t i = 1; i <= n; i++) {
            if ((p[i] & 0xC0) != 0x80) return 0;
            c = (c << 6) | (p[i] & 0x3F);
        }
        if ((n == 2 && c < 0x800) || (n == 3 && c < 0x10000) || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return 0;
        if (c >= 0x80 && c < 0xA0) return 0;
        p += n + 1;
    }
    return 1;
}

/* What hc_parse_relay_list (the parser --relay uses) accepts, and stricter: printable ASCII
 * without blanks, each port 1..65535 in at most 5 digits, an IPv6 address only in brackets. */
static int valid_relay(const char *s) {
    size_t n = strlen(s);
    if (!n || n > HC_CONFIG_RELAY_MAX) return 0;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7F) return 0;
    hc_relay_list l;
    if (hc_parse_relay_list(s, &l) < 0) return 0;
    char copy[HC_CONFIG_RELAY_MAX + 1];
    memcpy(copy, s, n + 1);
    char *save = NULL;
    for (char *one = strtok_r(copy, ",", &save); one; one = strtok_r(NULL, ",", &save)) {
        char host[HC_CONFIG_RELAY_MAX + 1];
        uint16_t port;
        if (hc_parse_hostport(one, host, sizeof host, &port) < 0) return 0;
        if (one[0] != '[' && strchr(host, ':')) return 0;
        if (strlen(strrchr(one, ':') + 1) > 5) return 0;
    }
    return 1;
}

static int parse_bool(const char *v, int *out) {
    static const char *yes[] = {"yes", "true", "on", "1"}, *no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (!strcmp(v, yes[i])) { *out = 1; return 0; }
        if (!strcmp(v, no[i])) { *out = 0; return 0; }
    }
    return -1;
}

int hc_config_set(hc_config *c, const char *key, const char *v, char *err, size_t errlen) {
    size_t n = strlen(v);
    if (!strcmp(key, "name")) {
        char nmsg[HC_NAME_MSG_MAX];
        if (hc_name_check_msg(v, nmsg, sizeof nmsg) < 0) {   /* app/names.h: the rule for every name */
            snprintf(err, errlen, "%s", nmsg + 4);              /* "name must be ...", as other keys */
            return -1;
        }
        memcpy(c->name, v, n + 1);
        c->set |= HC_CFG_NAME;
    } else if (!strcmp(key, "relay")) {
        if (!valid_relay(v)) {
            snprintf(err, errlen, "relay must be host:port (or [ipv6]:port), or several separated by commas, not '%.64s'", v);
            return -1;
        }
        memcpy(c->relay, v, n + 1);
        c->set |= HC_CFG_RELAY;
    } else if (!strcmp(key, "audio_in") || !strcmp(key, "audio_out")) {
        int in = key[6] == 'i';
        if (!n || n > HC_CONFIG_DEVICE_MAX || !clean_utf8(v)) {
            snprintf(err, errlen, "%s must be a device name of 1 to %d bytes", key, HC_CONFIG_DEVICE_MAX);
            return -1;
        }
        memcpy(in ? c->audio_in : c->audio_out, v, n + 1);
        c->set |= in ? HC_CFG_AUDIO_IN : HC_CFG_AUDIO_OUT;
    } else if (!strcmp(key, "admit")) {
        if (!strcmp(v, "auto")) c->admit = HC_ADMIT_AUTO;
        else if (!strcmp(v, "ask")) c->admit = HC_ADMIT_ASK;
        else if (!strcmp(v, "known")) c->admit = HC_ADMIT_KNOWN;
        else {
            snprintf(err, errlen, "admit must be auto, ask or known, not '%.32s'", v);
            return -1;
        }
        c->set |= HC_CFG_ADMIT;
    } else if (!strcmp(key, "ascii")) {
        if (parse_bool(v, &c->ascii)) {
            snprintf(err, errlen, "ascii must be yes or no, not '%.32s'", v);
            return -1;
        }
        c->set |= HC_CFG_ASCII;
    } else {
        snprintf(err, errlen, "unknown key '%.40s' (known: name, relay, audio_in, audio_out, admit, ascii)", key);
        return -1;
    }
    return 0;
}

static int is_blank(char ch) { return ch == ' ' || ch == '\t'; }

static int parse_line(hc_config *c, char *line, char *err, size_t errlen) {
    char *p = line;
    while (is_blank(*p)) p++;
    if (!*p || *p == '#') return 0;
    char *eq = strchr(p, '=');
    if (!eq) {
        snprintf(err, errlen, "expected 'key = value', got '%.40s'", p);
        return -1;
    }
    char *kend = eq;
    while (kend > p && is_blank(kend[-1])) kend--;
    *kend = 0;
    if (!*p) {
        snprintf(err, errlen, "missing key before '='");
        return -1;
    }
    char *v = eq + 1;
    while (is_blank(*v)) v++;
    char *vend = v + strlen(v);
    while (vend > v && is_blank(vend[-1])) vend--;
    *vend = 0;
    if (vend - v >= 2 && v[0] == '"' && vend[-1] == '"') {
        v++;
        *--vend = 0;
    }
    return hc_config_set(c, p, v, err, errlen);
}

int hc_config_parse(hc_config *c, const char *text, size_t len, const char *label, char *err, size_t errlen) {
    char line[HC_CONFIG_LINE_MAX + 1];
    size_t lineno = 0, pos = 0;
    hc_config_defaults(c);
    while (pos < len) {
        lineno++;
        size_t start = pos;
        while (pos < len && text[pos] != '\n') pos++;
        size_t n = pos - start;
        if (pos < len) pos++;                               /* the newline */
        if (n && text[start + n - 1] == '\r') n--;          /* files edited on Windows */
        char msg[256];
        if (n > HC_CONFIG_LINE_MAX) {
            snprintf(err, errlen, "%s:%zu: line longer than %d bytes", label, lineno, HC_CONFIG_LINE_MAX);
            return -1;
        }
        if (memchr(text + start, 0, n)) {
            snprintf(err, errlen, "%s:%zu: NUL byte in the line", label, lineno);
            return -1;
        }
        memcpy(line, text + start, n);
        line[n] = 0;
        if (parse_line(c, line, msg, sizeof msg)) {
            snprintf(err, errlen, "%s:%zu: %s", label, lineno, msg);
            return -1;
        }
    }
    return 0;
}

#define CONFIG_FILE_MAX (1u << 20)

int hc_config_load(hc_config *c, const char *path, char *err, size_t errlen) {
    hc_config_defaults(c);
    int fd;
    struct stat st;
    /* Symbolic links are followed (dotfile managers link the config in), but whatever the path
     * leads to must be a regular file: a FIFO would hang the start, a device be read forever. */
    hc_store_status so = hc_store_open(path, "config file", 0, &fd, &st, err, errlen);
    if (so == HC_STORE_ABSENT) return 0;                    /* no file: all defaults */
    /* Cannot be read at all (permissions, the home is not a directory): the home directory is
     * unusable, a runtime error; anything else wrong with the file is a bad config (-1). */
    if (so == HC_STORE_ERR_IO) return -2;
    if (so != HC_STORE_OK) return -1;
    if (st.st_size > (off_t)CONFIG_FILE_MAX) {
        snprintf(err, errlen, "config file %s is larger than 1 MiB", path);
        close(fd);
        return -1;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        snprintf(err, errlen, "%s: out of memory", path);
        close(fd);
        return -1;
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    /* The whole path: with --home, $HUSHCALL_HOME and XDG there is more than one config. */
    int rc = hc_config_parse(c, buf, got, path, err, errlen);
    free(buf);
    return rc;
}

/* mkdir -p for the state directory, each new component 0700 (the log says who you met). */
static int mkdir_p(char *path) {
    for (char *q = path + 1; *q; q++) {
        if (*q != '/') continue;
        *q = 0;
        int rc = mkdir(path, 0700);
        *q = '/';
        if (rc < 0 && errno != EEXIST) return -1;
    }
    if (mkdir(path, 0700) < 0 && errno != EEXIST) return -1;
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

void hc_log_path(char *out, size_t cap, const char *cli_home, const char *home) {
    const char *v;
    char dir[4096];
    int n = -1;
    /* HUSHCALL_HOME / --home keep everything in one directory, as before (tests, portable setups). */
    if (!((v = getenv("HUSHCALL_HOME")) && *v) && !(cli_home && *cli_home)) {
        /* A relative XDG_STATE_HOME is invalid per the spec and ignored. */
        if ((v = getenv("XDG_STATE_HOME")) && v[0] == '/') n = snprintf(dir, sizeof dir, "%s/hushcall", v);
        else if ((v = getenv("HOME")) && *v) n = snprintf(dir, sizeof dir, "%s/.local/state/hushcall", v);
    }
    if (n > 0 && (size_t)n < sizeof dir && mkdir_p(dir) == 0) {
        snprintf(out, cap, "%s/hushcall.log", dir);
        return;
    }
    snprintf(out, cap, "%s/hushcall.log", home);
}
