/* Randomness: getentropy and random_get. With `dump N` prints the first N
 * bytes in hex (the host may have made the source deterministic). */
#include <stdint.h>
#include <unistd.h>
#include <wasi/api.h>
#include "check.h"

int main(int argc, char **argv) {
    if (argc > 2 && !strcmp(argv[1], "dump")) {
        size_t n = (size_t)atoi(argv[2]);
        uint8_t buf[256];
        CHECK(n <= sizeof buf);
        CHECK(__wasi_random_get(buf, n) == 0);
        for (size_t i = 0; i < n; i++)
            printf("%02x", buf[i]);
        printf("\n");
        return 0;
    }
    uint8_t a[256], b[256];
    CHECK(getentropy(a, sizeof a) == 0);
    CHECK(getentropy(b, sizeof b) == 0);
    CHECK(memcmp(a, b, sizeof a) != 0);
    int zeros = 0;
    for (size_t i = 0; i < sizeof a; i++)
        zeros += a[i] == 0;
    CHECK(zeros < 32);
    /* A large request in one call. */
    size_t big = 1u << 20;
    uint8_t *p = calloc(big, 1);
    CHECK(p != NULL);
    CHECK(__wasi_random_get(p, big) == 0);
    size_t nonzero = 0;
    for (size_t i = 0; i < big; i++)
        nonzero += p[i] != 0;
    CHECK(nonzero > big / 2);
    printf("random ok\n");
    return 0;
}
