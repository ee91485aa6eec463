/* Sandbox escapes: argv[1] is the preopened directory (descriptor 3). The
 * host put there file.txt, a directory sub/, and symlinks pointing out:
 * out_abs (absolute, to a file beside the preopen), out_rel (../secret.txt),
 * out_dir (absolute, to the preopen's parent), chain (through sub/ to
 * out_rel). Every attempt to read, write, create, list or stat anything
 * outside must fail; each prints `blocked WHAT: ERRNO`. Raw WASI calls are
 * used beside libc so that libc's own path handling cannot hide a hole. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>
#include "check.h"

#define PREOPEN 3

static void raw(const char *what, __wasi_errno_t err) {
    if (err == 0) {
        printf("ESCAPED %s\n", what);
        exit(1);
    }
    printf("blocked %s: %s\n", what, errno_name(err));
}

static __wasi_errno_t open_at(__wasi_fd_t dir, const char *path, __wasi_lookupflags_t follow,
                              __wasi_oflags_t oflags, __wasi_rights_t rights) {
    __wasi_fd_t fd;
    __wasi_errno_t err = __wasi_path_open(dir, follow, path, oflags, rights, rights, 0, &fd);
    if (err == 0)
        (void)__wasi_fd_close(fd);
    return err;
}

static __wasi_errno_t stat_at(__wasi_fd_t dir, const char *path, __wasi_lookupflags_t follow) {
    __wasi_filestat_t st;
    return __wasi_path_filestat_get(dir, follow, path, &st);
}

int main(int argc, char **argv) {
    CHECK(argc == 2);
    char p[512];
    const __wasi_lookupflags_t FOLLOW = __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW;
    const __wasi_rights_t READ = __WASI_RIGHTS_FD_READ, WRITE = __WASI_RIGHTS_FD_WRITE;

    /* Sanity: the sandbox itself works. */
    snprintf(p, sizeof p, "%s/file.txt", argv[1]);
    int fd = open(p, O_RDONLY);
    CHECK(fd >= 0 && close(fd) == 0);
    CHECK(open_at(PREOPEN, "sub/../file.txt", 0, 0, READ) == 0);

    /* Through libc, as a program would. */
    snprintf(p, sizeof p, "%s/../secret.txt", argv[1]);
    BLOCKED("libc open of ../secret.txt", open(p, O_RDONLY));
    BLOCKED("libc open of /secret.txt", open("/secret.txt", O_RDONLY));
    BLOCKED("libc open of /etc/passwd", open("/etc/passwd", O_RDONLY));
    snprintf(p, sizeof p, "%s/out_abs", argv[1]);
    BLOCKED("libc open through an absolute symlink", open(p, O_RDONLY));
    snprintf(p, sizeof p, "%s/out_rel", argv[1]);
    BLOCKED("libc open through a relative symlink", open(p, O_RDONLY));
    snprintf(p, sizeof p, "%s/..", argv[1]);
    DIR *parent = opendir(p);
    if (parent) {
        printf("ESCAPED libc opendir of ..\n");
        return 1;
    }
    printf("blocked libc opendir of ..: %s\n", errno_name(errno));
    struct stat st;
    snprintf(p, sizeof p, "%s/../secret.txt", argv[1]);
    BLOCKED("libc stat of ../secret.txt", stat(p, &st));

    /* Opening, raw. */
    raw("open ..", open_at(PREOPEN, "..", 0, __WASI_OFLAGS_DIRECTORY, READ));
    raw("open ../secret.txt", open_at(PREOPEN, "../secret.txt", 0, 0, READ));
    raw("open /secret.txt", open_at(PREOPEN, "/secret.txt", 0, 0, READ));
    raw("open sub/../../secret.txt", open_at(PREOPEN, "sub/../../secret.txt", 0, 0, READ));
    raw("open sub/../sub/../../secret.txt", open_at(PREOPEN, "sub/../sub/../../secret.txt", 0, 0, READ));
    raw("open through out_abs", open_at(PREOPEN, "out_abs", FOLLOW, 0, READ));
    raw("open through out_rel", open_at(PREOPEN, "out_rel", FOLLOW, 0, READ));
    raw("open through chain", open_at(PREOPEN, "chain", FOLLOW, 0, READ));
    raw("open through out_dir", open_at(PREOPEN, "out_dir/secret.txt", FOLLOW, 0, READ));
    raw("open through out_dir without following", open_at(PREOPEN, "out_dir/secret.txt", 0, 0, READ));
    raw("write through out_abs", open_at(PREOPEN, "out_abs", FOLLOW, __WASI_OFLAGS_TRUNC, WRITE));

    /* From a subdirectory's descriptor, and from a file's. */
    __wasi_fd_t sub;
    CHECK(__wasi_path_open(PREOPEN, 0, "sub", __WASI_OFLAGS_DIRECTORY, READ, READ, 0, &sub) == 0);
    CHECK(open_at(sub, ".", 0, __WASI_OFLAGS_DIRECTORY, READ) == 0);
    /* A directory descriptor is a capability of its own: even a `..` that
     * would stay inside the preopen is refused from it. */
    raw("open ../file.txt from sub", open_at(sub, "../file.txt", 0, 0, READ));
    raw("open ../../secret.txt from sub", open_at(sub, "../../secret.txt", 0, 0, READ));
    raw("open ../out_rel from sub", open_at(sub, "../out_rel", FOLLOW, 0, READ));
    __wasi_fd_t file;
    CHECK(__wasi_path_open(PREOPEN, 0, "file.txt", 0, READ, READ, 0, &file) == 0);
    raw("open ../secret.txt from a file", open_at(file, "../secret.txt", 0, 0, READ));
    raw("open from a descriptor never given", open_at(77, "secret.txt", 0, 0, READ));

    /* Stat. */
    raw("stat ..", stat_at(PREOPEN, "..", 0));
    raw("stat ../secret.txt", stat_at(PREOPEN, "../secret.txt", 0));
    raw("stat through out_abs", stat_at(PREOPEN, "out_abs", FOLLOW));
    raw("stat through out_rel", stat_at(PREOPEN, "out_rel", FOLLOW));
    raw("stat through out_dir", stat_at(PREOPEN, "out_dir/secret.txt", FOLLOW));
    raw("set times of ../secret.txt",
        __wasi_path_filestat_set_times(PREOPEN, 0, "../secret.txt", 0, 0, __WASI_FSTFLAGS_MTIM_NOW));
    raw("set times through out_abs",
        __wasi_path_filestat_set_times(PREOPEN, FOLLOW, "out_abs", 0, 0, __WASI_FSTFLAGS_MTIM_NOW));

    /* Creating, moving and linking out. */
    raw("create ../created", open_at(PREOPEN, "../created", 0, __WASI_OFLAGS_CREAT, WRITE));
    raw("create through out_dir", open_at(PREOPEN, "out_dir/created", FOLLOW, __WASI_OFLAGS_CREAT, WRITE));
    raw("mkdir ../newdir", __wasi_path_create_directory(PREOPEN, "../newdir"));
    raw("mkdir through out_dir", __wasi_path_create_directory(PREOPEN, "out_dir/newdir"));
    raw("rename file.txt to ../moved", __wasi_path_rename(PREOPEN, "file.txt", PREOPEN, "../moved"));
    raw("rename ../secret.txt in", __wasi_path_rename(PREOPEN, "../secret.txt", PREOPEN, "stolen"));
    raw("rename into out_dir", __wasi_path_rename(PREOPEN, "file.txt", PREOPEN, "out_dir/moved"));
    raw("link file.txt to ../linked", __wasi_path_link(PREOPEN, 0, "file.txt", PREOPEN, "../linked"));
    raw("link ../secret.txt in", __wasi_path_link(PREOPEN, 0, "../secret.txt", PREOPEN, "stolen"));
    raw("link through out_abs", __wasi_path_link(PREOPEN, FOLLOW, "out_abs", PREOPEN, "stolen"));
    raw("symlink at ../sym", __wasi_path_symlink("file.txt", PREOPEN, "../sym"));
    raw("symlink through out_dir", __wasi_path_symlink("file.txt", PREOPEN, "out_dir/sym"));

    /* A link made inside that points out is never followed out. */
    __wasi_errno_t made = __wasi_path_symlink("/secret.txt", PREOPEN, "made_abs");
    printf("symlink to /secret.txt: %s\n", made ? errno_name(made) : "created");
    raw("open through made_abs", open_at(PREOPEN, "made_abs", FOLLOW, 0, READ));
    CHECK(__wasi_path_symlink("../secret.txt", PREOPEN, "made_rel") == 0);
    raw("open through made_rel", open_at(PREOPEN, "made_rel", FOLLOW, 0, READ));
    __wasi_errno_t hard = __wasi_path_link(PREOPEN, 0, "out_rel", PREOPEN, "hard_to_out_rel");
    printf("hard link to out_rel: %s\n", hard ? errno_name(hard) : "created");
    if (hard == 0)
        raw("open through hard_to_out_rel", open_at(PREOPEN, "hard_to_out_rel", FOLLOW, 0, READ));

    /* Removing outside. */
    raw("unlink ../secret.txt", __wasi_path_unlink_file(PREOPEN, "../secret.txt"));
    raw("unlink through out_dir", __wasi_path_unlink_file(PREOPEN, "out_dir/secret.txt"));
    raw("rmdir ..", __wasi_path_remove_directory(PREOPEN, ".."));
    raw("rmdir ../sandbox", __wasi_path_remove_directory(PREOPEN, "../sandbox"));

    /* Reading links outside. */
    char target[64];
    __wasi_size_t len;
    raw("readlink ../x", __wasi_path_readlink(PREOPEN, "../x", (uint8_t *)target, sizeof target, &len));

    printf("all escapes blocked\n");
    return 0;
}
