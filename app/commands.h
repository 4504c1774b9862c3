/* Subcommands of the hushcall binary. Each returns the process exit status. */
#ifndef HC_COMMANDS_H
#define HC_COMMANDS_H

/* Exit statuses shared by all subcommands (documented in --help and the README). */
enum {
    HC_EXIT_OK = 0,          /* success; for host/join: left the meeting normally */
    HC_EXIT_ERROR = 1,       /* runtime error (network, audio device, identity store) */
    HC_EXIT_USAGE = 2,       /* bad command line or config file */
    HC_EXIT_SECURITY = 3,    /* left because of a security failure (substituted key, forged or missing heartbeats) */
    HC_EXIT_REMOVED = 4,     /* removed by the meeting: kicked, denied, meeting ended or locked */
    HC_EXIT_RELAY = 5,       /* could not reach the relay, or it refused us (no such meeting, full) */
};

int hc_cmd_id(int argc, char **argv);
int hc_cmd_relay(int argc, char **argv);
int hc_cmd_host(int argc, char **argv);
int hc_cmd_join(int argc, char **argv);
int hc_cmd_demo(int argc, char **argv);
int hc_cmd_devices(int argc, char **argv);

#endif
