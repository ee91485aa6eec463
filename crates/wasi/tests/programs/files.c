/* Files and directories inside the directory argv[1] (a preopen, empty at
 * the start): create, seek, pread/pwrite, append, truncate, rename, hard and
 * symbolic links, directories, readdir over 300 entries with cookies, stat
 * and times, descriptor reuse and renumbering, rights. One line per step. */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>
#include "check.h"

static const char *dir;
static char path_buf[4][512];

static const char *at(int slot, const char *name) {
    snprintf(path_buf[slot], sizeof path_buf[slot], "%s/%s", dir, name);
    return path_buf[slot];
}

static void write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    CHECK(close(fd) == 0);
}

static void expect_file(const char *path, const char *text) {
    char buf[256] = {0};
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    CHECK(n == (ssize_t)strlen(text));
    CHECK(!memcmp(buf, text, n));
    CHECK(close(fd) == 0);
}

int main(int argc, char **argv) {
    CHECK(argc == 2);
    dir = argv[1];

    write_file(at(0, "a.txt"), "hello, world");
    expect_file(at(0, "a.txt"), "hello, world");
    printf("ok create, write, read back\n");

    int fd = open(at(0, "a.txt"), O_RDWR);
    CHECK(fd >= 0);
    CHECK(lseek(fd, 7, SEEK_SET) == 7);
    char buf[64] = {0};
    CHECK(read(fd, buf, 5) == 5 && !memcmp(buf, "world", 5));
    CHECK(lseek(fd, -5, SEEK_CUR) == 7);
    CHECK(lseek(fd, 0, SEEK_END) == 12);
    CHECK(lseek(fd, -1, SEEK_SET) == -1 && errno == EINVAL);
    printf("ok seek\n");

    CHECK(lseek(fd, 2, SEEK_SET) == 2);
    CHECK(pwrite(fd, "W", 1, 7) == 1);
    memset(buf, 0, sizeof buf);
    CHECK(pread(fd, buf, 5, 7) == 5 && !memcmp(buf, "World", 5));
    CHECK(lseek(fd, 0, SEEK_CUR) == 2);
    CHECK(pwrite(fd, "!", 1, 20) == 1);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && st.st_size == 21);
    CHECK(close(fd) == 0);
    printf("ok pread, pwrite, holes\n");

    write_file(at(0, "log.txt"), "one\n");
    fd = open(at(0, "log.txt"), O_WRONLY | O_APPEND);
    CHECK(fd >= 0);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    CHECK(write(fd, "two\n", 4) == 4);
    CHECK((fcntl(fd, F_GETFL) & O_APPEND) != 0);
    CHECK(close(fd) == 0);
    expect_file(at(0, "log.txt"), "one\ntwo\n");
    printf("ok append\n");

    fd = open(at(0, "log.txt"), O_RDWR);
    CHECK(fd >= 0);
    CHECK(ftruncate(fd, 3) == 0);
    CHECK(fstat(fd, &st) == 0 && st.st_size == 3);
    CHECK(ftruncate(fd, 10) == 0);
    CHECK(pread(fd, buf, 10, 0) == 10 && !memcmp(buf, "one\0\0\0\0\0\0\0", 10));
    CHECK(close(fd) == 0);
    CHECK(truncate(at(0, "log.txt"), 1) == 0);
    CHECK(stat(at(0, "log.txt"), &st) == 0 && st.st_size == 1);
    printf("ok truncate\n");

    CHECK(rename(at(0, "log.txt"), at(1, "renamed.txt")) == 0);
    CHECK(access(at(0, "log.txt"), F_OK) == -1 && errno == ENOENT);
    expect_file(at(1, "renamed.txt"), "o");
    CHECK(mkdir(at(0, "d1"), 0755) == 0);
    write_file(at(0, "d1/inner"), "in");
    CHECK(rename(at(0, "d1"), at(1, "d2")) == 0);
    expect_file(at(0, "d2/inner"), "in");
    printf("ok rename files and directories\n");

    CHECK(link(at(0, "a.txt"), at(1, "hard.txt")) == 0);
    struct stat st2;
    CHECK(stat(at(0, "a.txt"), &st) == 0 && stat(at(1, "hard.txt"), &st2) == 0);
    CHECK(st.st_ino == st2.st_ino && st.st_nlink == 2);
    CHECK(unlink(at(0, "a.txt")) == 0);
    CHECK(stat(at(1, "hard.txt"), &st2) == 0 && st2.st_nlink == 1 && st2.st_size == 21);
    printf("ok hard links\n");

    CHECK(symlink("hard.txt", at(0, "sym")) == 0);
    memset(buf, 0, sizeof buf);
    CHECK(readlink(at(0, "sym"), buf, sizeof buf) == 8 && !memcmp(buf, "hard.txt", 8));
    CHECK(lstat(at(0, "sym"), &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(stat(at(0, "sym"), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 21);
    fd = open(at(0, "sym"), O_RDONLY);
    CHECK(fd >= 0 && close(fd) == 0);
    CHECK(open(at(0, "sym"), O_RDONLY | O_NOFOLLOW) == -1);
    CHECK(symlink("hard.txt", at(0, "sym")) == -1 && errno == EEXIST);
    printf("ok symbolic links\n");

    CHECK(mkdir(at(0, "d3"), 0755) == 0);
    CHECK(mkdir(at(0, "d3"), 0755) == -1 && errno == EEXIST);
    write_file(at(0, "d3/f"), "x");
    CHECK(rmdir(at(0, "d3")) == -1 && errno == ENOTEMPTY);
    CHECK(unlink(at(0, "d3")) == -1);
    CHECK(unlink(at(0, "d3/f")) == 0 && rmdir(at(0, "d3")) == 0);
    CHECK(open(at(0, "renamed.txt"), O_CREAT | O_EXCL | O_WRONLY, 0644) == -1 && errno == EEXIST);
    CHECK(open(at(0, "renamed.txt"), O_RDONLY | O_DIRECTORY) == -1 && errno == ENOTDIR);
    CHECK(open(at(0, "missing"), O_RDONLY) == -1 && errno == ENOENT);
    printf("ok directories\n");

    CHECK(mkdir(at(0, "many"), 0755) == 0);
    for (int i = 0; i < 300; i++) {
        char name[32];
        snprintf(name, sizeof name, "many/f%03d", i);
        write_file(at(0, name), "");
    }
    DIR *d = opendir(at(0, "many"));
    CHECK(d != NULL);
    static char seen[300];
    int count = 0, dots = 0;
    long cookie = -1;
    char after_cookie[32] = {0};
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) {
            dots++;
            continue;
        }
        int i = atoi(e->d_name + 1);
        CHECK(e->d_name[0] == 'f' && i >= 0 && i < 300 && !seen[i]);
        seen[i] = 1;
        count++;
        if (count == 150)
            cookie = telldir(d);
        else if (count == 151)
            snprintf(after_cookie, sizeof after_cookie, "%s", e->d_name);
    }
    CHECK(count == 300 && dots == 2 && cookie >= 0);
    seekdir(d, cookie);
    e = readdir(d);
    CHECK(e != NULL && !strcmp(e->d_name, after_cookie));
    rewinddir(d);
    int again = 0;
    while (readdir(d) != NULL)
        again++;
    CHECK(again == 302);
    CHECK(closedir(d) == 0);
    printf("ok readdir of 300 entries, cookies\n");

    struct timespec times[2] = {{1000000000, 5}, {1200000000, 7}};
    CHECK(utimensat(AT_FDCWD, at(0, "renamed.txt"), times, 0) == 0);
    CHECK(stat(at(0, "renamed.txt"), &st) == 0);
    CHECK(st.st_atim.tv_sec == 1000000000 && st.st_mtim.tv_sec == 1200000000);
    fd = open(at(0, "renamed.txt"), O_RDWR);
    CHECK(fd >= 0);
    struct timespec later[2] = {{1300000000, 0}, {1250000000, 0}};
    CHECK(futimens(fd, later) == 0);
    CHECK(fstat(fd, &st) == 0 && st.st_atim.tv_sec == 1300000000 && st.st_mtim.tv_sec == 1250000000);
    CHECK(fsync(fd) == 0 && fdatasync(fd) == 0);
    CHECK(close(fd) == 0);
    printf("ok stat and times\n");

    int first = open(at(0, "renamed.txt"), O_RDONLY);
    CHECK(first >= 0 && close(first) == 0);
    int second = open(at(1, "hard.txt"), O_RDONLY);
    CHECK(second == first);
    int third = open(at(0, "renamed.txt"), O_RDONLY);
    CHECK(third == second + 1);
    CHECK(__wasi_fd_renumber(second, third) == 0);
    memset(buf, 0, sizeof buf);
    CHECK(read(third, buf, 5) == 5 && !memcmp(buf, "hello", 5));
    CHECK(read(second, buf, 1) == -1 && errno == EBADF);
    CHECK(__wasi_fd_renumber(third, 200) == __WASI_ERRNO_BADF);
    int fourth = open(at(0, "renamed.txt"), O_RDONLY);
    CHECK(fourth == second);
    CHECK(close(third) == 0 && close(fourth) == 0);
    CHECK(close(fourth) == -1 && errno == EBADF);
    printf("ok descriptor reuse and renumbering\n");

    fd = open(at(0, "renamed.txt"), O_RDONLY);
    CHECK(fd >= 0);
    CHECK(write(fd, "x", 1) == -1 && errno == EBADF);
    CHECK(close(fd) == 0);
    fd = open(at(0, "renamed.txt"), O_WRONLY);
    CHECK(fd >= 0);
    CHECK(read(fd, buf, 1) == -1 && errno == EBADF);
    CHECK(close(fd) == 0);
    __wasi_fdstat_t fdstat;
    CHECK(__wasi_fd_fdstat_get(3, &fdstat) == 0);
    CHECK(fdstat.fs_filetype == __WASI_FILETYPE_DIRECTORY);
    CHECK(__wasi_fd_fdstat_set_rights(3, 0, 0) == __WASI_ERRNO_NOTSUP);
    CHECK(__wasi_fd_allocate(0, 0, 1) == __WASI_ERRNO_NOTSUP || __wasi_fd_allocate(0, 0, 1) == __WASI_ERRNO_BADF);
    printf("ok rights\n");
    return 0;
}
