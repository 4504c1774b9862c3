/* Temporary: subcommands whose implementation has not landed yet. Removed as each lands. */
#include <stdio.h>
#include "app/commands.h"

static int pending(const char *name) {
    fprintf(stderr, "hushcall %s: not in this build yet\n", name);
    return HC_EXIT_ERROR;
}
int hc_cmd_host(int argc, char **argv) { (void)argc; (void)argv; return pending("host"); }
int hc_cmd_join(int argc, char **argv) { (void)argc; (void)argv; return pending("join"); }
int hc_cmd_demo(int argc, char **argv) { (void)argc; (void)argv; return pending("demo"); }
