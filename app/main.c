/* hushcall: end-to-end encrypted meetings in the terminal. Subcommand dispatch. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sodium.h>

#include "app/commands.h"
#include "app/version.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"host", hc_cmd_host, "create a meeting and join it as its leader"},
    {"join", hc_cmd_join, "join a meeting by its id"},
    {"relay", hc_cmd_relay, "run the relay server that meetings go through (untrusted)"},
    {"id", hc_cmd_id, "show this device's identity fingerprint (creates it on first use)"},
    {"devices", hc_cmd_devices, "list audio devices"},
    {"demo", hc_cmd_demo, "a local demo call: embedded relay, two bots, and you"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: hushcall COMMAND [OPTIONS]\n\n"
               "End-to-end encrypted meetings in the terminal.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'hushcall COMMAND --help' describes each command's options; 'hushcall --version'\n"
               "(or -V) prints the version. The manual page hushcall(1) has everything in one place.\n\n"
               "exit status:\n"
               "  0  success (for host/join: left the meeting normally)\n"
               "  1  runtime error (network, audio device, identity store)\n"
               "  2  bad command line or config file\n"
               "  3  left because of a security failure (substituted key, forged or missing heartbeats)\n"
               "  4  removed from the meeting (kicked, denied, ended by the leader, locked)\n"
               "  5  the relay could not be reached or refused the meeting (no such meeting, full)\n");
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? HC_EXIT_USAGE : HC_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        printf("hushcall %s (protocol %d)\n", HC_VERSION, HC_PROTOCOL_VERSION);
        return HC_EXIT_OK;
    }
    /* A peer or a reader going away must be an error we handle, never a silent death. */
    signal(SIGPIPE, SIG_IGN);
    /* So must a file-size limit (ulimit -f): a recording that reaches it fails with EFBIG and
     * stops, as on a full disk, instead of the signal ending the whole call. */
    signal(SIGXFSZ, SIG_IGN);
    if (sodium_init() < 0) {
        fprintf(stderr, "hushcall: libsodium failed to initialise\n");
        return HC_EXIT_ERROR;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "hushcall: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return HC_EXIT_USAGE;
}
