/* Shared by the WASI test programs: a failed CHECK prints where and why on
 * stdout (so the test sees it beside the program's other output) and exits
 * with status 1. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            printf("FAILED %s:%d: %s (errno %d: %s)\n", __FILE__, __LINE__,  \
                   #cond, errno, strerror(errno));                           \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

/* The call must fail; prints `blocked WHAT: ERRNO-NAME`. */
#define BLOCKED(what, call)                                                  \
    do {                                                                     \
        errno = 0;                                                           \
        if ((call) >= 0) {                                                   \
            printf("ESCAPED %s\n", what);                                    \
            exit(1);                                                         \
        }                                                                    \
        printf("blocked %s: %s\n", what, errno_name(errno));                 \
    } while (0)

static inline const char *errno_name(int e) {
    switch (e) {
    case EACCES: return "EACCES";
    case EBADF: return "EBADF";
    case EEXIST: return "EEXIST";
    case EFAULT: return "EFAULT";
    case EINVAL: return "EINVAL";
    case EISDIR: return "EISDIR";
    case ELOOP: return "ELOOP";
    case ENOENT: return "ENOENT";
    case ENOTCAPABLE: return "ENOTCAPABLE";
    case ENOTDIR: return "ENOTDIR";
    case ENOTEMPTY: return "ENOTEMPTY";
    case ENOTSUP: return "ENOTSUP";
    case EPERM: return "EPERM";
    case EXDEV: return "EXDEV";
    default: return "other";
    }
}
