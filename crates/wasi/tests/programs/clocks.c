/* Clocks: realtime (printed in seconds, for the host to compare with its
 * own), monotonic never going back, resolutions, and sleeps of 50 ms that
 * the monotonic clock sees last at least that long. (A clock id outside the
 * witx's enum is not an errno but a trap, under wasmtime too.) */
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>
#include "check.h"

static uint64_t now_ns(clockid_t clock) {
    struct timespec ts;
    CHECK(clock_gettime(clock, &ts) == 0);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(void) {
    printf("realtime %llu\n", (unsigned long long)(now_ns(CLOCK_REALTIME) / 1000000000u));

    uint64_t last = now_ns(CLOCK_MONOTONIC);
    for (int i = 0; i < 10000; i++) {
        uint64_t t = now_ns(CLOCK_MONOTONIC);
        CHECK(t >= last);
        last = t;
    }

    struct timespec res;
    CHECK(clock_getres(CLOCK_MONOTONIC, &res) == 0);
    CHECK(res.tv_sec == 0 && res.tv_nsec > 0);
    CHECK(clock_getres(CLOCK_REALTIME, &res) == 0);
    CHECK(res.tv_sec == 0 && res.tv_nsec > 0);

    __wasi_timestamp_t stamp;
    CHECK(__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &stamp) == 0);

    uint64_t before = now_ns(CLOCK_MONOTONIC);
    struct timespec nap = {0, 50000000};
    CHECK(nanosleep(&nap, NULL) == 0);
    uint64_t slept = now_ns(CLOCK_MONOTONIC) - before;
    CHECK(slept >= 50000000u);

    before = now_ns(CLOCK_MONOTONIC);
    CHECK(usleep(50000) == 0);
    CHECK(now_ns(CLOCK_MONOTONIC) - before >= 50000000u);

    printf("clocks ok\n");
    return 0;
}
