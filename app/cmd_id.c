/* `hushcall id`: show this device's identity fingerprint, creating the identity on first use. */
#include <stdio.h>
#include <string.h>

#include "app/commands.h"
#include "crypto/identity.h"

static void id_usage(void) {
    printf(
            "usage: hushcall id [--home DIR]\n"
            "\n"
            "Prints this device's identity fingerprint: the first 10 bytes of SHA-256 of its Ed25519\n"
            "public key, as 20 hex digits in groups of 4. Others see it when you join a meeting and\n"
            "can compare it with you. The first run creates the identity (a new random key pair);\n"
            "every later run prints the same fingerprint.\n"
            "\n"
            "The identity is the file 'identity' in the first of:\n"
            "  $HUSHCALL_HOME, --home DIR, $XDG_CONFIG_HOME/hushcall, ~/.config/hushcall\n"
            "The directory is created with mode 0700 and the file with mode 0600. A file that group\n"
            "or others can read or write, a directory they can write, or a file that is truncated\n"
            "or corrupt is refused and left as it is; the message says how to fix it.\n"
            "\n"
            "options:\n"
            "  --home DIR   keep the identity in DIR (ignored when $HUSHCALL_HOME is set)\n"
            "  -h, --help   show this help\n"
            "\n"
            "output:\n"
            "  fingerprint: xxxx xxxx xxxx xxxx xxxx\n"
            "  identity: PATH\n"
            "  created: a new identity   (only on the run that created it)\n"
            "\n"
            "exit status: 0 success, 1 identity store problem, 2 bad command line\n");
}

int hc_cmd_id(int argc, char **argv) {
    const char *home = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            id_usage();
            return HC_EXIT_OK;
        } else if (!strcmp(a, "--home")) {
            if (i + 1 >= argc || !argv[i + 1][0]) {
                fprintf(stderr, "hushcall id: --home needs a directory (see 'hushcall id --help')\n");
                return HC_EXIT_USAGE;
            }
            home = argv[++i];
        } else if (!strncmp(a, "--home=", 7) && a[7]) {
            home = a + 7;
        } else {
            fprintf(stderr, "hushcall id: unknown option '%s' (see 'hushcall id --help')\n", a);
            return HC_EXIT_USAGE;
        }
    }

    char dir[HC_PATH_MAX], err[2 * HC_PATH_MAX + 512];
    if (hc_home_resolve(dir, home) < 0) {
        fprintf(stderr, "hushcall id: cannot find a place for the identity: set HUSHCALL_HOME or HOME, "
                        "or pass --home DIR\n");
        return HC_EXIT_USAGE;  /* as host/join/demo: a setting is missing, not a failure */
    }
    hc_identity id;
    hc_id_status st = hc_identity_load_or_create(dir, &id, err, sizeof err);
    if (st != HC_ID_LOADED && st != HC_ID_CREATED) {
        fprintf(stderr, "hushcall id: %s\n", err);
        return HC_EXIT_ERROR;
    }
    char fpr[HC_FPR_LEN + 1];
    hc_fingerprint(fpr, id.ivk);
    hc_identity_wipe(&id);
    printf("fingerprint: %s\n", fpr);
    printf("identity: %s/identity\n", dir);
    if (st == HC_ID_CREATED) printf("created: a new identity (first use of this store)\n");
    return fflush(stdout) == 0 ? HC_EXIT_OK : HC_EXIT_ERROR;
}
