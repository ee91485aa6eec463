/* Sockets the host hands in: descriptor 3 listens; accept one connection,
 * receive a line, send it back upper-cased, shut down. Also checks that a
 * socket call on a plain file is refused. */
#include <stdint.h>
#include <wasi/api.h>
#include "check.h"

int main(void) {
    __wasi_fd_t conn;
    CHECK(__wasi_sock_accept(3, 0, &conn) == 0);
    __wasi_fdstat_t stat;
    CHECK(__wasi_fd_fdstat_get(conn, &stat) == 0);
    CHECK(stat.fs_filetype == __WASI_FILETYPE_SOCKET_STREAM);

    char buf[256];
    size_t got = 0;
    while (got == 0 || buf[got - 1] != '\n') {
        __wasi_iovec_t iov = {(uint8_t *)buf + got, sizeof buf - got};
        __wasi_size_t n;
        __wasi_roflags_t flags;
        CHECK(__wasi_sock_recv(conn, &iov, 1, 0, &n, &flags) == 0);
        CHECK(n > 0);
        got += n;
    }
    for (size_t i = 0; i < got; i++)
        if (buf[i] >= 'a' && buf[i] <= 'z')
            buf[i] -= 'a' - 'A';
    __wasi_ciovec_t out = {(const uint8_t *)buf, got};
    __wasi_size_t sent;
    CHECK(__wasi_sock_send(conn, &out, 1, 0, &sent) == 0 && sent == got);
    CHECK(__wasi_sock_shutdown(conn, __WASI_SDFLAGS_WR) == 0);
    CHECK(__wasi_fd_close(conn) == 0);

    __wasi_fd_t none;
    CHECK(__wasi_sock_accept(1, 0, &none) != 0);
    printf("served %zu bytes on descriptor %u\n", got, (unsigned)conn);
    return 0;
}
