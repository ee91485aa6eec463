/* Args and env: prints every argument and environment variable it was
 * given, and whether a variable the host surely has (PATH) leaked in. */
#include <stdio.h>
#include <stdlib.h>

extern char **environ;

int main(int argc, char **argv) {
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);
    for (char **e = environ; *e; e++)
        printf("env %s\n", *e);
    const char *path = getenv("PATH");
    printf("PATH=%s\n", path ? path : "(unset)");
    return 0;
}
