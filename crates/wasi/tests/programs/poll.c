/* poll_oneoff: two timers (the earlier fires alone), an absolute timer,
 * stdin readable with its byte count, stdout writable, a bad descriptor,
 * and libc's poll() on stdin. Stdin must hold "ready\n". */
#include <poll.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>
#include "check.h"

static __wasi_subscription_t timer(uint64_t userdata, uint64_t ns, int abstime) {
    __wasi_subscription_t s;
    memset(&s, 0, sizeof s);
    s.userdata = userdata;
    s.u.tag = __WASI_EVENTTYPE_CLOCK;
    s.u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    s.u.u.clock.timeout = ns;
    s.u.u.clock.precision = 1000;
    s.u.u.clock.flags = abstime ? __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME : 0;
    return s;
}

static __wasi_subscription_t on_fd(uint64_t userdata, uint8_t tag, int fd) {
    __wasi_subscription_t s;
    memset(&s, 0, sizeof s);
    s.userdata = userdata;
    s.u.tag = tag;
    s.u.u.fd_read.file_descriptor = fd;
    return s;
}

int main(void) {
    __wasi_event_t events[4];
    __wasi_size_t n = 0;

    __wasi_subscription_t two[2] = {timer(1, 2000000000u, 0), timer(2, 20000000u, 0)};
    CHECK(__wasi_poll_oneoff(two, events, 2, &n) == 0);
    CHECK(n == 1 && events[0].userdata == 2 && events[0].error == 0);
    CHECK(events[0].type == __WASI_EVENTTYPE_CLOCK);
    printf("earlier timer fired\n");

    __wasi_timestamp_t now;
    CHECK(__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &now) == 0);
    __wasi_subscription_t abs_timer[1] = {timer(3, now + 20000000u, 1)};
    CHECK(__wasi_poll_oneoff(abs_timer, events, 1, &n) == 0);
    CHECK(n == 1 && events[0].userdata == 3);
    __wasi_timestamp_t later;
    CHECK(__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &later) == 0);
    CHECK(later >= now + 20000000u);
    printf("absolute timer fired\n");

    __wasi_subscription_t io[3] = {
        on_fd(4, __WASI_EVENTTYPE_FD_READ, 0),
        on_fd(5, __WASI_EVENTTYPE_FD_WRITE, 1),
        timer(6, 5000000000u, 0),
    };
    CHECK(__wasi_poll_oneoff(io, events, 3, &n) == 0);
    int readable = 0, writable = 0;
    for (__wasi_size_t i = 0; i < n; i++) {
        CHECK(events[i].error == 0);
        if (events[i].userdata == 4) {
            CHECK(events[i].type == __WASI_EVENTTYPE_FD_READ);
            CHECK(events[i].fd_readwrite.nbytes >= 1);
            readable = 1;
        }
        if (events[i].userdata == 5)
            writable = 1;
        CHECK(events[i].userdata != 6);
    }
    CHECK(readable && writable);
    printf("stdin readable, stdout writable\n");

    __wasi_subscription_t bad[1] = {on_fd(7, __WASI_EVENTTYPE_FD_READ, 77)};
    CHECK(__wasi_poll_oneoff(bad, events, 1, &n) == __WASI_ERRNO_BADF);
    CHECK(__wasi_poll_oneoff(bad, events, 0, &n) == __WASI_ERRNO_INVAL);
    printf("bad descriptor: EBADF\n");

    struct pollfd pfd = {.fd = 0, .events = POLLIN};
    CHECK(poll(&pfd, 1, 1000) == 1 && (pfd.revents & POLLIN));
    char line[16] = {0};
    CHECK(read(0, line, sizeof line - 1) == 6);
    CHECK(!strcmp(line, "ready\n"));
    printf("poll: read %s", line);
    return 0;
}
