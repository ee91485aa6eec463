/* A stdin-to-stdout filter: `cat` copies bytes unchanged, `upper`
 * upper-cases ASCII letters; both binary-safe, in 4 KiB reads. */
#include <string.h>
#include <unistd.h>
#include "check.h"

int main(int argc, char **argv) {
    int upper = argc > 1 && !strcmp(argv[1], "upper");
    char buf[4096];
    for (;;) {
        ssize_t n = read(0, buf, sizeof buf);
        CHECK(n >= 0);
        if (n == 0)
            break;
        if (upper)
            for (ssize_t i = 0; i < n; i++)
                if (buf[i] >= 'a' && buf[i] <= 'z')
                    buf[i] -= 'a' - 'A';
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(1, buf + done, n - done);
            CHECK(w > 0);
            done += w;
        }
    }
    return 0;
}
