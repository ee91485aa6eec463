/* Stdio and exit codes: writes to stdout and stderr, then ends as argv[1]
 * says: `exit N`, `return N` (from main), `raw N` (proc_exit directly),
 * `abort` (a trap), `raise` (proc_raise must be ENOTSUP). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

/* Dropped from wasi-libc's headers, still in the preview-1 witx. */
__attribute__((import_module("wasi_snapshot_preview1"), import_name("proc_raise")))
extern int32_t proc_raise(int32_t signal);

int main(int argc, char **argv) {
    printf("to stdout\n");
    fprintf(stderr, "to stderr\n");
    if (argc < 2)
        return 0;
    int n = argc > 2 ? atoi(argv[2]) : 0;
    if (!strcmp(argv[1], "exit"))
        exit(n);
    if (!strcmp(argv[1], "return"))
        return n;
    if (!strcmp(argv[1], "raw"))
        __wasi_proc_exit(n);
    if (!strcmp(argv[1], "abort")) {
        fflush(stdout);
        abort();
    }
    if (!strcmp(argv[1], "raise")) {
        printf("proc_raise: %d\n", (int)proc_raise(15 /* SIGTERM */));
        return 0;
    }
    return 2;
}
