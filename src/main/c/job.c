/*
 * A job's first two processes: its init and its program.
 *
 *   init     (the keeper's child; PID 1 of its own namespace with -p)
 *     - a new session (without a terminal: the program's session has it)
 *     - its own working directory is /
 *     - the job's umask and resource limits, then the caller's groups, gid and uid (-G -g -u):
 *       from here on nothing runs with more privilege than the caller has; -i clears the
 *       inheritable and ambient capabilities
 *     - parent-death signal SIGKILL: a job dies with its keeper (a PID 1 takes its namespace)
 *     - without -p: a child subreaper, so the job's orphans are reaped here
 *     - forks the program, then lets go of the job's stdio (/dev/null instead; a terminal only
 *       once the program has ended): the job's output reaches its end of file when the program
 *       and whatever it started have closed it, as `CMD | cat` and ssh see it
 *     - forwards every signal it receives, and what the keeper queues to it (keeper_signal(),
 *       the signal in its value: any signal, SIGKILL and SIGSTOP included), to the program's
 *       process group while the program runs (as a terminal's Ctrl-C or the shell's `kill %1`),
 *       and to every process left in the job after it ended; SIGKILL ends every process of the job
 *     - when the program ends: its status as a shell gives it to STATUS_FD (the keeper tells the
 *       daemon: `run` and `wait` return with it); with a terminal, lets go of it (the kernel
 *       hung it up as the program, its session's leader, ended: SIGHUP and SIGCONT to its
 *       foreground group, as when a login's shell exits)
 *     - reaps every child, and the orphans that come to it (PID 1, or a subreaper); exits, with
 *       the program's status, once the program and every other process of the job have ended:
 *       what a job started in the background outlives its program, as in a shell
 *   program  (PID 2 of the namespace)
 *     - its own process group; with a terminal, its own session, the terminal its controlling
 *       terminal (as sshd starts a shell)
 *     - every signal at its default action and none blocked (as a login gives)
 *     - enters the working directory, as the caller: "cd: DIR: REASON", exit 1, as bash
 *     - finds the command in the PATH of the job's environment (bash's search and messages:
 *       127 "NAME: command not found", 126 "NAME: Permission denied" or "Is a directory")
 *     - execve with exactly the job's environment: nothing before it reads that environment
 *
 * Why an init in front of the program, in a PID namespace: see CRIU-NOTES (a job must be its
 * namespace's init and a session leader to be checkpointed; the user's program must not be PID 1).
 * Signals reach a job only through its init, which is the keeper's child: the keeper never
 * signals a pid it has reaped, and the init never one it has reaped, so no signal can reach a
 * recycled pid.
 */
#define _GNU_SOURCE
#include "job.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* capget/capset's structures (<linux/capability.h>), spelled out: the file also builds against
   musl, whose sysroot has no kernel headers */
#define CAPABILITY_VERSION_3 0x20080522
struct cap_header { uint32_t version; int pid; };
struct cap_data { uint32_t effective, permitted, inheritable; };

/* bash's PATH when the environment has none */
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

int keeper_signal(void) {
    return SIGRTMIN + 3;
}

int shell_status(int status) {
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

/* ---- options ---- */

static int number(const char *s, long min, long max, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

static int limit_value(const char *s, rlim_t *out) {
    if (strcmp(s, "-1") == 0) {
        *out = RLIM_INFINITY;
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || *s == '-') {
        return -1;
    }
    *out = (rlim_t) v;
    return 0;
}

#define REFUSE(...) do { snprintf(why, whylen, __VA_ARGS__); return -1; } while (0)

static int parse_limit(const char *v, struct job_spec *s, char *why, size_t whylen) {
    char spec[128];
    if (s->nlimits == MAX_LIMITS) {
        REFUSE("too many limits");
    }
    if (strlen(v) >= sizeof spec) {
        REFUSE("bad limit");
    }
    strcpy(spec, v);
    char *eq = strchr(spec, '='), *colon = eq ? strchr(eq, ':') : NULL;
    long res;
    if (!eq || !colon) {
        REFUSE("-r takes RES=SOFT:HARD");
    }
    *eq = *colon = 0;
    if (number(spec, 0, RLIM_NLIMITS - 1, &res) < 0) {
        REFUSE("bad resource");
    }
    s->limits[s->nlimits].resource = (int) res;
    if (limit_value(eq + 1, &s->limits[s->nlimits].value.rlim_cur) < 0
            || limit_value(colon + 1, &s->limits[s->nlimits].value.rlim_max) < 0) {
        REFUSE("bad limit value");
    }
    s->nlimits++;
    return 0;
}

static int parse_groups(const char *v, struct job_spec *s, char *why, size_t whylen) {
    s->ngroups = 0;
    if (strcmp(v, "-") == 0) {
        return 0;
    }
    for (const char *p = v; *p;) {
        char item[16];
        size_t n = strcspn(p, ",");
        long g;
        if (n == 0 || n >= sizeof item || s->ngroups == MAX_GROUPS) {
            REFUSE("bad group list");
        }
        memcpy(item, p, n);
        item[n] = 0;
        if (number(item, 0, INT_MAX, &g) < 0) {
            REFUSE("bad group");
        }
        s->groups[s->ngroups++] = (gid_t) g;
        p += n + (p[n] == ',');
    }
    return 0;
}

int job_parse(int n, char **args, struct job_spec *s, char *why, size_t whylen) {
    memset(s, 0, sizeof *s);
    s->ngroups = -1;
    s->umask = 022;
    long uid = -1, gid = -1, v;
    int i = 0;
    for (; i < n && strcmp(args[i], "--") != 0; i++) {
        const char *a = args[i];
        const char *val = i + 1 < n ? args[i + 1] : NULL;
        if (strcmp(a, "-p") == 0) {
            s->pidns = 1;
            continue;
        }
        if (strcmp(a, "-d") == 0) {
            s->detached = 1;
            continue;
        }
        if (strcmp(a, "-i") == 0) {
            s->clear_caps = 1;
            continue;
        }
        if (!strchr("trGgumC", a[0] == '-' && a[1] && !a[2] ? a[1] : '?')) {
            REFUSE("unknown option %s", a);
        }
        if (val == NULL) {
            REFUSE("option %s needs a value", a);
        }
        i++;
        switch (a[1]) {
        case 't': {
            const char *comma = strchr(val, ',');
            char rows[16];
            size_t len = comma ? (size_t) (comma - val) : 0;
            long r, c;
            if (!comma || len == 0 || len >= sizeof rows) {
                REFUSE("-t takes ROWS,COLS");
            }
            memcpy(rows, val, len);
            rows[len] = 0;
            if (number(rows, 0, 65535, &r) < 0 || number(comma + 1, 0, 65535, &c) < 0) {
                REFUSE("-t takes ROWS,COLS");
            }
            s->tty = 1;
            s->rows = (int) r;
            s->cols = (int) c;
            break;
        }
        case 'r':
            if (parse_limit(val, s, why, whylen) < 0) {
                return -1;
            }
            break;
        case 'G':
            if (parse_groups(val, s, why, whylen) < 0) {
                return -1;
            }
            s->switch_ids = 1;
            break;
        case 'g':
        case 'u':
            if (number(val, 0, INT_MAX, &v) < 0) {
                REFUSE("bad %s", a[1] == 'u' ? "uid" : "gid");
            }
            *(a[1] == 'u' ? &uid : &gid) = v;
            s->switch_ids = 1;
            break;
        case 'm': {
            char *end;
            errno = 0;
            unsigned long m = strtoul(val, &end, 8);
            if (errno || end == val || *end || m > 0777) {
                REFUSE("bad umask");
            }
            s->umask = (mode_t) m;
            break;
        }
        case 'C':
            if (*val != '/') {
                REFUSE("-C takes an absolute path");
            }
            s->cwd = val;
            break;
        }
    }
    if (i >= n - 1) {
        REFUSE("no command");
    }
    if (s->switch_ids && (uid < 0 || gid < 0 || s->ngroups < 0)) {
        REFUSE("-u, -g and -G go together");
    }
    s->uid = (uid_t) uid;
    s->gid = (gid_t) gid;
    s->argv = args + i + 1;
    s->args = args;
    s->nargs = n;
    return 0;
}

/* ---- A /proc of the job's own ----
 *
 * With -p a job has a PID namespace (for CRIU: its PIDs restore on any node) and a mount namespace
 * of its own in which only /proc differs, a proc of the job's PID namespace: the program's getpid()
 * and /proc/<getpid()> agree (issue 11). Inside, ps, top and pgrep see the job's processes only.
 * The recipe, and why each step (measured with CRIU 4.2: /work/notes/PROC-DESIGN.md, CRIU-NOTES):
 *   1. mounts become slaves of the node's: later mounts of the node still reach the job, nothing
 *      of the job's propagates out;
 *   2. the node's namespace files (ip netns's /run/netns/NAME, nsfs) are detached: a job has no use
 *      for them, and CRIU would need each one to exist on the target;
 *   3. the init executes itself again, by path: its code was mapped from the node's mounts, which
 *      CRIU cannot name in the job's namespace (with no environment: the program's goes along in a
 *      memfd, ENV_FD, never in the init's own environment or command line);
 *   4. the re-executed init replaces /proc (detached, then a new proc mounted);
 *   5. after it dropped to the caller's ids, it opens again, by path, its stdio that are a terminal
 *      or an append-only file (CRIU cannot name the node's mounts of those either), and only when
 *      the path still names the same file: nothing is opened as root on the user's behalf.
 * Should the re-exec fail (the binary replaced by an upgrade), the job runs with the node's /proc.
 */

static void unescape(char *s) {
    char *d = s;
    for (; *s; s++) {
        if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] && s[3]) {
            *d++ = (char) ((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
            s += 3;
        } else {
            *d++ = *s;
        }
    }
    *d = 0;
}

/* Step 2. A namespace file can sit on a mount another one covers (ip netns stacks bind mounts of
   /run/netns): umount by path cannot reach it (EINVAL). Then the mount it sits on goes, when that
   holds nothing but namespace files and is not the root. Again until nothing changes. */
static void drop_nsfs_mounts(void) {
    enum { MAX = 4096 };
    static int id[MAX], parent[MAX], nsfs[MAX];
    static char mp[MAX][256];
    for (int pass = 0; pass < 16; pass++) {
        FILE *f = fopen("/proc/self/mountinfo", "re");
        if (!f) {
            return;
        }
        char line[8192];
        int n = 0;
        while (n < MAX && fgets(line, sizeof line, f)) {
            char m[4096], fstype[256];
            char *sep = strstr(line, " - ");
            if (!sep || sscanf(line, "%d %d %*s %*s %4095s", &id[n], &parent[n], m) != 3
                    || sscanf(sep + 3, "%255s", fstype) != 1) {
                continue;
            }
            unescape(m);
            if (strlen(m) >= sizeof mp[0]) {
                continue;
            }
            strcpy(mp[n], m);
            nsfs[n] = strcmp(fstype, "nsfs") == 0;
            n++;
        }
        fclose(f);
        int changed = 0;
        for (int i = 0; i < n && !changed; i++) {
            if (!nsfs[i]) {
                continue;
            }
            if (umount2(mp[i], MNT_DETACH) == 0) {
                changed++;
                continue;
            }
            for (int p = 0; p < n; p++) {
                if (id[p] != parent[i] || strcmp(mp[p], "/") == 0) {
                    continue;
                }
                size_t len = strlen(mp[p]);
                int only_nsfs = 1;
                for (int c = 0; c < n; c++) {
                    int below = strncmp(mp[c], mp[p], len) == 0 && (mp[c][len] == '/' || mp[c][len] == 0);
                    if (below && !nsfs[c] && strcmp(mp[c], mp[p]) != 0) {
                        only_nsfs = 0;
                    }
                }
                while (only_nsfs && umount2(mp[p], MNT_DETACH) == 0) {
                    changed++;
                }
            }
        }
        if (!changed) {
            return;
        }
    }
}

/* Whether the node's mount table holds namespace files (step 2 has work to do), as the keeper
   saw it at the job's fork: read again only when the kernel says the table changed (poll on
   mountinfo), instead of a scan in every job (~0.15 ms of each job's start here). */
static int nsfs_mounted = 1;

static void check_nsfs_mounts(void) {
    static int fd = -1;
    if (fd < 0) {
        fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            nsfs_mounted = 1;
            return;
        }
    } else {
        struct pollfd p = {.fd = fd, .events = POLLPRI};
        if (poll(&p, 1, 0) <= 0 || !(p.revents & (POLLPRI | POLLERR))) {
            return; /* unchanged */
        }
    }
    /* a mount point's own name cannot hold " - nsfs ": mountinfo escapes its spaces */
    char buf[16384 + 8] = "";
    size_t keep = 0;
    ssize_t n;
    int found = 0;
    lseek(fd, 0, SEEK_SET);
    while (!found && (n = read(fd, buf + keep, sizeof buf - 1 - keep)) > 0) {
        buf[keep + (size_t) n] = 0;
        found = strstr(buf, " - nsfs ") != NULL;
        size_t len = keep + (size_t) n;
        keep = len < 8 ? len : 8; /* a match split across two reads */
        memmove(buf, buf + len - keep, keep);
    }
    nsfs_mounted = found || n < 0;
}

#define ENV_FD 5

/* The program's environment into a memfd at ENV_FD, NUL-terminated strings; -1 on failure. */
static int env_to_memfd(char **envp) {
    int fd = (int) syscall(SYS_memfd_create, "gestalt-env", 0);
    if (fd < 0) {
        return -1;
    }
    for (char **e = envp; *e; e++) {
        const char *p = *e;
        size_t left = strlen(p) + 1;
        while (left > 0) {
            ssize_t w = write(fd, p, left);
            if (w <= 0) {
                close(fd);
                return -1;
            }
            p += w, left -= (size_t) w;
        }
    }
    if (dup2(fd, ENV_FD) < 0) {
        close(fd);
        return -1;
    }
    if (fd != ENV_FD) {
        close(fd);
    }
    lseek(ENV_FD, 0, SEEK_SET);
    return 0;
}

/* The program's environment back from ENV_FD (closed); NULL on failure. */
static char **env_from_memfd(void) {
    struct stat st;
    if (fstat(ENV_FD, &st) < 0) {
        return NULL;
    }
    size_t size = (size_t) st.st_size, n = 0;
    char *buf = malloc(size + 1);
    if (!buf) {
        return NULL;
    }
    for (size_t off = 0; off < size;) {
        ssize_t r = read(ENV_FD, buf + off, size - off);
        if (r <= 0) {
            free(buf);
            return NULL;
        }
        off += (size_t) r;
    }
    close(ENV_FD);
    buf[size] = 0;
    for (size_t i = 0; i < size; i++) {
        n += buf[i] == 0;
    }
    char **envp = calloc(n + 1, sizeof *envp);
    if (!envp) {
        return NULL;
    }
    for (size_t i = 0, k = 0; i < size && k < n; k++) {
        envp[k] = buf + i;
        i += strlen(buf + i) + 1;
    }
    return envp;
}

/* Steps 1-3, in the child of job_fork (PID 1 of the new namespaces, still root); returns only when
   the re-exec failed. */
static void enter_own_mounts(const struct job_spec *s) {
    if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) {
        return;
    }
    if (nsfs_mounted) {
        drop_nsfs_mounts();
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    char **argv = calloc((size_t) s->nargs + 2, sizeof *argv);
    if (n <= 0 || !argv) {
        free(argv);
        return;
    }
    self[n] = 0;
    argv[0] = (char *) INIT_NAME;
    memcpy(argv + 1, s->args, (size_t) s->nargs * sizeof *argv);
    char *none[] = {NULL};
    if (env_to_memfd(s->envp) < 0) {
        free(argv);
        return;
    }
    fcntl(REPORT_FD, F_SETFD, 0); /* the re-executed init needs both; it closes them on exec again */
    fcntl(STATUS_FD, F_SETFD, 0);
    execve(self, argv, none);
    fcntl(REPORT_FD, F_SETFD, FD_CLOEXEC);
    fcntl(STATUS_FD, F_SETFD, FD_CLOEXEC);
    close(ENV_FD);
    free(argv);
}

/* Step 4, in the re-executed init (root). */
static int own_proc(void) {
    if (umount2("/proc", MNT_DETACH) < 0 && errno != EINVAL) {
        return -1;
    }
    return mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

/* Step 5, in the init as the caller: descriptors that were one open file stay one (kcmp). */
static void reopen_stdio(void) {
    int done[3] = {-1, -1, -1};
    for (int fd = 0; fd <= 2; fd++) {
        struct stat st, now;
        if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISCHR(st.st_mode))) {
            continue; /* pipes need nothing */
        }
        int flags = fcntl(fd, F_GETFL);
        if (S_ISREG(st.st_mode) && !(flags & O_APPEND)) {
            continue; /* a second open file would not share the offset */
        }
        int same = -1;
        for (int j = 0; j < fd; j++) {
            if (done[j] >= 0 && syscall(SYS_kcmp, getpid(), getpid(), 0 /* KCMP_FILE */, j, fd) == 0) {
                same = j;
            }
        }
        if (same >= 0) {
            dup2(same, fd);
            done[fd] = fd;
            continue;
        }
        char link[64], path[PATH_MAX];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, path, sizeof path - 1);
        if (n <= 0 || path[0] != '/') {
            continue;
        }
        path[n] = 0;
        /* no O_NOFOLLOW: the check of dev and inode below refuses any other file, and the flag would
           stay on the open file, which CRIU reopens through /proc/PID/fd when the job moves */
        int nfd = open(path, (flags & (O_ACCMODE | O_APPEND | O_NONBLOCK)) | O_NOCTTY | O_CLOEXEC);
        if (nfd < 0) {
            continue; /* unreachable as the caller: the job keeps the node's (not migratable) */
        }
        if (fstat(nfd, &now) == 0 && now.st_dev == st.st_dev && now.st_ino == st.st_ino && now.st_rdev == st.st_rdev) {
            dup2(nfd, fd);
            done[fd] = fd;
        }
        close(nfd);
    }
}

/* ---- starting ---- */

pid_t job_fork(const struct job_spec *s) {
    if (!s->pidns) {
        return fork();
    }
    check_nsfs_mounts();
    /* A fork into a new PID namespace, the child its PID 1, and a mount namespace of the job's own,
       where only /proc will differ (see "A /proc of the job's own" below). (unshare would move every
       later child of the keeper there too.) The keeper is single-threaded, so a raw clone is a fork. */
    return (pid_t) syscall(SYS_clone, CLONE_NEWPID | CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0);
}

/* A failure to start: "CODE MESSAGE" to the report pipe, and exit with CODE. */
static void refuse(int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
static void refuse(int code, const char *fmt, ...) {
    char line[PATH_MAX + 256];
    int n = snprintf(line, sizeof line, "%d ", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t) n, fmt, ap);
    va_end(ap);
    ssize_t ignored = write(REPORT_FD, line, strlen(line));
    (void) ignored;
    _exit(code);
}

/* Every signal at its default action, through the raw system call: libc's sigaction refuses the
   signals it reserves, and an ignored signal is inherited across exec (the keeper ignores some). */
static void default_signals(void) {
    struct { void *handler; unsigned long flags; void *restorer; unsigned long mask; } dfl = {SIG_DFL, 0, NULL, 0};
    for (int s = 1; s <= 64; s++) {
        if (s != SIGKILL && s != SIGSTOP) {
            syscall(SYS_rt_sigaction, s, &dfl, NULL, sizeof dfl.mask);
        }
    }
}

static void unblock_all(void) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Whether path names a regular file this process may execute (it runs as the caller by now). */
static int executable(const char *path, int *exists) {
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
        return 0;
    }
    *exists = 1;
    return access(path, X_OK) == 0;
}

static void exec_failed(const char *name, int err) __attribute__((noreturn));
static void exec_failed(const char *name, int err) {
    refuse(err == ENOENT ? 127 : 126, "%s: %s", name, strerror(err));
}

/* bash's command search: a name with a slash as it is; else the first executable regular file in
   PATH; else the first one found that is not executable (Permission denied); else not found. */
static void exec_command(const struct job_spec *s) {
    const char *name = s->argv[0];
    if (strchr(name, '/')) {
        struct stat st;
        if (stat(name, &st) == 0 && S_ISDIR(st.st_mode)) {
            refuse(126, "%s: Is a directory", name);
        }
        execve(name, s->argv, s->envp);
        exec_failed(name, errno);
    }
    const char *path = DEFAULT_PATH;
    for (char **e = s->envp; *e; e++) {
        if (strncmp(*e, "PATH=", 5) == 0) {
            path = *e + 5;
        }
    }
    char candidate[PATH_MAX], forbidden[PATH_MAX] = "";
    size_t namelen = strlen(name);
    for (const char *dir = path; *name && dir;) {
        const char *colon = strchr(dir, ':');
        size_t len = colon ? (size_t) (colon - dir) : strlen(dir);
        if (len == 0) {
            dir = ".", len = 1; /* an empty entry is the working directory */
        }
        if (len + 1 + namelen < sizeof candidate) {
            memcpy(candidate, dir, len);
            candidate[len] = '/';
            memcpy(candidate + len + 1, name, namelen + 1);
            int exists = 0;
            if (executable(candidate, &exists)) {
                execve(candidate, s->argv, s->envp);
                exec_failed(name, errno);
            }
            if (exists && !*forbidden) {
                strcpy(forbidden, candidate);
            }
        }
        dir = colon ? colon + 1 : NULL;
    }
    if (*forbidden) {
        refuse(126, "%s: Permission denied", name);
    }
    refuse(127, "%s: command not found", name);
}

/* In the program's process, forked by the init (which runs as the caller already). */
static void run_program(const struct job_spec *s) {
    if (s->tty) {
        /* A session of its own, the terminal its controlling terminal (so in its foreground), as
           sshd starts a login's shell. Moved by CRIU, the session's leader gets its terminal back;
           were the init the leader, the program would come back without one (no job control). */
        int fd = -1;
        if (setsid() < 0 || (fd = open("/proc/self/fd/0", O_RDWR | O_NOCTTY)) < 0 || ioctl(fd, TIOCSCTTY, 0) < 0) {
            refuse(FAILED, "cannot take the terminal: %s", strerror(errno));
        }
        /* opened anew, not shared with the init: CRIU reads a terminal's session through the
           first process it finds holding it, which must be the session's */
        for (int i = 0; i < 3; i++) {
            if (dup2(fd, i) < 0) {
                refuse(FAILED, "dup2: %s", strerror(errno));
            }
        }
        if (fd > 2) {
            close(fd);
        }
    } else if (setpgid(0, 0) < 0) {
        refuse(FAILED, "setpgid: %s", strerror(errno));
    }
    if (!s->pidns) {
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); /* without a namespace, the init's death alone would leave it */
    }
    default_signals();
    unblock_all();
    if (s->cwd && chdir(s->cwd) < 0) {
        refuse(1, "cd: %s: %s", s->cwd, strerror(errno));
    }
    exec_command(s);
}

/* Drops to the caller's groups, gid and uid; from here on the job can do only what the caller can. */
static void become_caller(const struct job_spec *s) {
    if (!s->switch_ids) {
        return;
    }
    if (setgroups((size_t) s->ngroups, s->groups) < 0) {
        refuse(FAILED, "setgroups: %s", strerror(errno));
    }
    if (setresgid(s->gid, s->gid, s->gid) < 0) {
        refuse(FAILED, "setresgid: %s", strerror(errno));
    }
    if (setresuid(s->uid, s->uid, s->uid) < 0) {
        refuse(FAILED, "setresuid: %s", strerror(errno));
    }
    if (s->clear_caps) {
        struct cap_header h = {CAPABILITY_VERSION_3, 0};
        struct cap_data d[2];
        if (syscall(SYS_capget, &h, d) < 0) {
            refuse(FAILED, "capget: %s", strerror(errno));
        }
        d[0].inheritable = d[1].inheritable = 0;
        if (syscall(SYS_capset, &h, d) < 0) {
            refuse(FAILED, "capset: %s", strerror(errno));
        }
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    }
}

/* Signals the init's children (it is single-threaded: its own task lists them all); how many. */
static int signal_children(int sig) {
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/self/task/%d/children", (int) getpid());
    int fd = open(path, O_RDONLY | O_CLOEXEC), n = 0;
    if (fd < 0) {
        return 0;
    }
    ssize_t len = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[len > 0 ? len : 0] = 0;
    for (char *p = buf, *end; *p; p = end) {
        long pid = strtol(p, &end, 10);
        if (end == p) {
            break;
        }
        if (pid > 0) {
            kill((pid_t) pid, sig);
            n++;
        }
    }
    return n;
}

static void forward(pid_t program, int sig) {
    if (kill(-program, sig) < 0 && errno == ESRCH) {
        kill(program, sig); /* before the program has its own group */
    }
}

/* A signal for every process of the job but the init: in a namespace all of it; else the program's
   group (it keeps its number while any member lives; without a namespace the init runs as the user,
   so a number taken again since can only be one of the user's own groups) and the init's children. */
static void signal_all(pid_t program, int sig) {
    if (getpid() == 1) {
        kill(-1, sig);
        return;
    }
    kill(-program, sig);
    signal_children(sig);
}

/* The descriptors 0-2 become /dev/null: the init holds none of the job's stdio from here on. */
static void let_go_of_stdio(void) {
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int fd = 0; fd < 3; fd++) {
        if (null >= 0) {
            dup2(null, fd);
        } else {
            close(fd);
        }
    }
    if (null > 2) {
        close(null);
    }
}

/* The program ended: its status to the keeper; a terminal given up as a login's shell leaves it. */
static void program_ended(const struct job_spec *s, int status) {
    char line[16];
    int n = snprintf(line, sizeof line, "%d\n", shell_status(status));
    ssize_t ignored = write(STATUS_FD, line, (size_t) n);
    (void) ignored;
    close(STATUS_FD);
    if (s->tty) {
        let_go_of_stdio(); /* the program led the terminal's session: its end hung the terminal up */
    }
}

/* The init: forks the program, forwards signals, reaps, exits once the job's last process ended. */
static void init(const struct job_spec *s) __attribute__((noreturn));
static void init(const struct job_spec *s) {
    if (setsid() < 0) {
        refuse(FAILED, "setsid: %s", strerror(errno));
    }
    if (chdir("/") < 0) {
        refuse(FAILED, "chdir /: %s", strerror(errno));
    }
    umask(s->umask);
    for (int i = 0; i < s->nlimits; i++) {
        if (setrlimit(s->limits[i].resource, &s->limits[i].value) < 0) {
            /* above the keeper's own hard limit without CAP_SYS_RESOURCE: the most it may give */
            struct rlimit own;
            if (errno != EPERM || getrlimit(s->limits[i].resource, &own) < 0) {
                refuse(FAILED, "setrlimit: %s", strerror(errno));
            }
            struct rlimit capped = s->limits[i].value;
            if (capped.rlim_max > own.rlim_max) {
                capped.rlim_max = own.rlim_max;
            }
            if (capped.rlim_cur > capped.rlim_max) {
                capped.rlim_cur = capped.rlim_max;
            }
            if (setrlimit(s->limits[i].resource, &capped) < 0) {
                refuse(FAILED, "setrlimit: %s", strerror(errno));
            }
        }
    }
    become_caller(s);
    if (s->own_proc) {
        reopen_stdio();
    }
    /* after the change of ids, which clears it */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (getpid() != 1) {
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
    /* Every signal waits in sigtimedwait below, except those that mean a fault of this code. */
    sigset_t all;
    sigfillset(&all);
    int own[] = {SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGABRT, SIGTRAP, SIGSYS, SIGTTIN, SIGTTOU};
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
        sigdelset(&all, own[i]);
    }
    sigprocmask(SIG_SETMASK, &all, NULL);
    pid_t program = fork();
    if (program < 0) {
        refuse(FAILED, "fork: %s", strerror(errno));
    }
    if (program == 0) {
        close(STATUS_FD);
        run_program(s);
    }
    close(REPORT_FD); /* the program's copy closes at its execve */
    if (!s->tty) {
        let_go_of_stdio(); /* a terminal stays open here until the program ends */
    }
    int killing = 0, status = 0, ended = 0;
    for (;;) {
        siginfo_t info;
        struct timespec tick = {1, 0};
        int sig = sigtimedwait(&all, &info, &tick);
        int group = 0;
        if (sig == keeper_signal() && info.si_code == SI_QUEUE) {
            sig = info.si_value.sival_int;
            group = sig & KEEPER_GROUP;
            sig &= ~KEEPER_GROUP;
            if (sig == SIGKILL && !group) {
                killing = 1;
                sig = 0;
            }
        } else if (sig == SIGCHLD) {
            sig = 0;
        }
        if (sig > 0 && sig < 65) {
            if (ended && !group) {
                signal_all(program, sig);
            } else {
                forward(program, sig);
            }
        }
        if (killing) {
            /* every process of the job: in a namespace all but this one; else each child, and each
               orphan that comes to this subreaper when its parent dies, until none is left */
            signal_all(program, SIGKILL);
        }
        int st;
        pid_t pid;
        while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
            if (pid == program) {
                ended = 1;
                status = st;
                program_ended(s, st);
            }
        }
        if (pid < 0 && errno == ECHILD && ended) {
            _exit(shell_status(status));
        }
    }
}

/* Moves fd to at least 10, so that the dup2s below never overwrite a descriptor still needed. */
static int lift(int fd) {
    if (fd < 0) {
        return fd;
    }
    int high = fcntl(fd, F_DUPFD, 10);
    if (high < 0) {
        _exit(FAILED);
    }
    return high;
}

void job_child(const struct job_spec *s, int in, int out, int err, int report, int status) {
    int fds[5] = {lift(in), lift(out), lift(err), lift(report), lift(status)};
    for (int i = 0; i < 5; i++) {
        if (dup2(fds[i], i) < 0) {
            _exit(FAILED);
        }
    }
    fcntl(REPORT_FD, F_SETFD, FD_CLOEXEC); /* closes at the program's execve: the sign it started */
    if (syscall(SYS_close_range, 5, ~0U, 0) < 0) {
        for (int fd = 5; fd < 65536; fd++) {
            close(fd);
        }
    }
    default_signals(); /* the init blocks them all, and an ignored signal would never reach it */
    unblock_all();
    if (s->pidns) {
        enter_own_mounts(s);
    }
    init(s);
}

void job_init_main(int argc, char **argv) {
    struct job_spec s;
    char why[256];
    if (job_parse(argc - 1, argv + 1, &s, why, sizeof why) < 0 || !s.pidns || getpid() != 1) {
        refuse(FAILED, "%s: %s", INIT_NAME, s.pidns && getpid() == 1 ? why : "not a job's init");
    }
    if (!(s.envp = env_from_memfd())) {
        refuse(FAILED, "%s: cannot read the program's environment", INIT_NAME);
    }
    fcntl(REPORT_FD, F_SETFD, FD_CLOEXEC);
    fcntl(STATUS_FD, F_SETFD, FD_CLOEXEC);
    if (own_proc() < 0) {
        refuse(FAILED, "cannot mount the job's /proc: %s", strerror(errno));
    }
    s.own_proc = 1;
    /* signals: job_child set every one to its default and unblocked them all before the execve,
       which keeps both */
    init(&s);
}
