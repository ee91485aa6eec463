/* Many small writes: argv[1] times, one `fd_write` of 8 bytes each to
 * stdout (unbuffered), to measure the cost of a WASI call. */
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 100000;
    for (long i = 0; i < n; i++)
        if (write(1, "0123456\n", 8) != 8)
            return 1;
    return 0;
}
