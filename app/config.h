/* The config file: $HUSHCALL_HOME/config (the caller passes the path). Plain text, one setting
 * per line:
 *
 *   # comment (a line whose first non-blank character is '#')
 *   name      = Alice Smith         display name others see (1-64 bytes of UTF-8, no controls)
 *   relay     = relay.example:7400  default relay, "host:port" ("[v6addr]:port" for IPv6)
 *   audio_in  = default             capture device name (as `hushcall devices` lists it)
 *   audio_out = default             playback device name
 *   admit     = ask                 auto | ask | known: who the leader lets in (see --admit)
 *   ascii     = no                  yes: draw the screen with ASCII only (as --ascii)
 *
 * Blanks around keys and values are ignored; a value may be wrapped in double quotes to keep
 * leading or trailing blanks. '#' after a value is part of the value (names may contain it).
 * A key given twice: the last one wins. A missing file is not an error: everything keeps its
 * default; a path that leads to anything but a regular file (FIFO, directory, device, socket)
 * is, named with what it is. Unknown keys, lines without '=', lines over HC_CONFIG_LINE_MAX bytes and invalid
 * values are errors reported with their line number, e.g. "config:7: unknown key 'nmae'".
 * Command-line options override the file; the caller applies them after loading. */
#ifndef HC_CONFIG_H
#define HC_CONFIG_H

#include <stddef.h>

#include "app/meeting.h"
#include "crypto/binding.h"

#define HC_CONFIG_LINE_MAX 1024
#define HC_CONFIG_RELAY_MAX 255
#define HC_CONFIG_DEVICE_MAX 127

/* Bits of hc_config.set: which keys the file gave. */
enum {
    HC_CFG_NAME = 1u << 0,
    HC_CFG_RELAY = 1u << 1,
    HC_CFG_AUDIO_IN = 1u << 2,
    HC_CFG_AUDIO_OUT = 1u << 3,
    HC_CFG_ADMIT = 1u << 4,
    HC_CFG_ASCII = 1u << 5,
};

typedef struct {
    char name[HC_NAME_MAX + 1];                 /* "": not set (the caller picks one) */
    char relay[HC_CONFIG_RELAY_MAX + 1];        /* "": not set */
    char audio_in[HC_CONFIG_DEVICE_MAX + 1];    /* "": the system default */
    char audio_out[HC_CONFIG_DEVICE_MAX + 1];
    hc_admit_policy admit;                      /* default HC_ADMIT_AUTO, as hc_meeting_config */
    int ascii;                                  /* default 0 */
    unsigned set;                               /* HC_CFG_* bits of the keys present */
} hc_config;

void hc_config_defaults(hc_config *c);
/* Loads path into c (defaults first). Returns 0 (also when the file does not exist), -2 with a
 * message in err when it cannot be read at all (permissions, a path component is not a
 * directory: the home is unusable, exit status 1), or -1 with
 * a message in err, naming the file's path and the line ("/home/a/.config/hushcall/config:7: ..."). On error c holds
 * the defaults plus the lines before the bad one; callers should not use it. */
int hc_config_load(hc_config *c, const char *path, char *err, size_t errlen);
/* Parses a whole file's text (for tests and for load). label names the source in messages. */
int hc_config_parse(hc_config *c, const char *text, size_t len, const char *label, char *err, size_t errlen);
/* Sets one key from its text value, validating it. Returns 0, or -1 with a message (without a
 * location) in err. */
int hc_config_set(hc_config *c, const char *key, const char *value, char *err, size_t errlen);

/* Where the participant's log (hushcall.log) goes. With HUSHCALL_HOME or --home (cli_home) set,
 * everything stays under that directory: <home>/hushcall.log. Otherwise the log is state, not
 * data the user must keep (XDG Base Directory spec): $XDG_STATE_HOME/hushcall/hushcall.log, by
 * default ~/.local/state/hushcall/hushcall.log; the directory is created (0700). home is the
 * resolved home (hc_home_resolve), the fallback when no state directory can be made. */
void hc_log_path(char *out, size_t cap, const char *cli_home, const char *home);

#endif
