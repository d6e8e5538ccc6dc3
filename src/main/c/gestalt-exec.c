/*
 * gestalt-exec: starts one job the way the supervisor needs it, in a single exec.
 *
 * It replaces a chain of six programs (setpriv --pdeathsig, unshare --pid --fork --kill-child,
 * setsid [--ctty], tini -s -g, prlimit, setpriv --reuid/--regid/--groups) that cost ~4.5 ms of
 * exec and dynamic linking per job. What it does, in order:
 *
 *   outer  (the process the daemon spawned)
 *     - parent-death signal SIGKILL: the job dies with the daemon's spawner thread
 *     - [-w R,C] window size of the terminal on stdin, before anything can ask for it
 *     - [-p] a new PID namespace; fork the init below and wait for it, with the parent-death
 *       signal SIGKILL on the init (unshare --kill-child); exit with the init's status
 *   init   (PID 1 of the namespace with -p; the outer process itself without -p)
 *     - [-s] a new session; [-c] stdin, a terminal, as its controlling terminal
 *     - without -p: a child subreaper, so the job's orphans are reaped here
 *     - fork the program; forward every signal it receives to the program's process group;
 *       reap every child; exit when the program ends, with its status as a shell gives it:
 *       N, or 128+N when killed by signal N (tini's convention)
 *   program (PID 2 of the namespace)
 *     - its own process group, in the terminal's foreground if it has one
 *     - [-r RES=SOFT:HARD]... resource limits (RLIMIT_* numbers, -1 for unlimited)
 *     - [-G LIST -g GID -u UID] supplementary groups ("-" for none), gid, uid; [-i] clear the
 *       inheritable and ambient capabilities
 *     - no signal blocked, every signal at its default action (as a login gives); exec CMD (PATH search);
 *       127 when not found, 126 otherwise, with one line on stderr
 *
 * Why a PID namespace with an init in front: see CRIU-NOTES (a job must be its namespace's init
 * and a session leader to be checkpointed; the user's program must not be PID 1).
 *
 * Usage: gestalt-exec [-p] [-s] [-c] [-w ROWS,COLS] [-r RES=SOFT:HARD]... [-G LIST] [-g GID]
 *                     [-u UID] [-i] -- CMD [ARG...]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <stdint.h>

/* capget/capset's structures (<linux/capability.h>), spelled out: the file also builds against
   musl, whose sysroot has no kernel headers */
#define CAPABILITY_VERSION_3 0x20080522
struct cap_header { uint32_t version; int pid; };
struct cap_data { uint32_t effective, permitted, inheritable; };

#define MAX_LIMITS 16
#define MAX_GROUPS 1024
#define FAILED 255 /* the wrapper's own failure, as the daemon reports it */

static const char *me = "gestalt-exec";

struct options {
    int pidns, session, ctty;
    int rows, cols;
    int nlimits;
    struct { int resource; struct rlimit value; } limits[MAX_LIMITS];
    int switch_ids, uid, gid, ngroups;
    gid_t groups[MAX_GROUPS];
    int clear_caps;
    char **argv;
};

static void die(const char *what) {
    fprintf(stderr, "%s: %s: %s\n", me, what, strerror(errno));
    _exit(FAILED);
}

static void usage(const char *why) {
    fprintf(stderr, "%s: %s\nUsage: %s [-p] [-s] [-c] [-w ROWS,COLS] [-r RES=SOFT:HARD]... "
            "[-G LIST] [-g GID] [-u UID] [-i] -- CMD [ARG...]\n", me, why, me);
    _exit(FAILED);
}

static long number(const char *s, long min, long max, const char *what) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        usage(what);
    }
    return v;
}

static rlim_t limit_value(const char *s) {
    if (strcmp(s, "-1") == 0) {
        return RLIM_INFINITY;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || *s == '-') {
        usage("bad limit value");
    }
    return (rlim_t) v;
}

static void parse(int argc, char **argv, struct options *o) {
    memset(o, 0, sizeof *o);
    o->uid = o->gid = -1;
    o->ngroups = -1;
    int i = 1;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-p") == 0) {
            o->pidns = 1;
        } else if (strcmp(a, "-s") == 0) {
            o->session = 1;
        } else if (strcmp(a, "-c") == 0) {
            o->session = o->ctty = 1;
        } else if (strcmp(a, "-i") == 0) {
            o->clear_caps = 1;
        } else if (strcmp(a, "-w") && strcmp(a, "-r") && strcmp(a, "-u") && strcmp(a, "-g") && strcmp(a, "-G")) {
            usage("unknown option");
        } else if (v == NULL) {
            usage("option needs a value");
        } else if (strcmp(a, "-w") == 0) {
            const char *comma = strchr(v, ',');
            if (!comma) {
                usage("-w takes ROWS,COLS");
            }
            char rows[16];
            size_t n = (size_t) (comma - v);
            if (n == 0 || n >= sizeof rows) {
                usage("-w takes ROWS,COLS");
            }
            memcpy(rows, v, n);
            rows[n] = 0;
            o->rows = (int) number(rows, 0, 65535, "bad rows");
            o->cols = (int) number(comma + 1, 0, 65535, "bad columns");
            i++;
        } else if (strcmp(a, "-r") == 0) {
            if (o->nlimits == MAX_LIMITS) {
                usage("too many limits");
            }
            char spec[128];
            if (strlen(v) >= sizeof spec) {
                usage("bad limit");
            }
            strcpy(spec, v);
            char *eq = strchr(spec, '='), *colon = eq ? strchr(eq, ':') : NULL;
            if (!eq || !colon) {
                usage("-r takes RES=SOFT:HARD");
            }
            *eq = *colon = 0;
            o->limits[o->nlimits].resource = (int) number(spec, 0, RLIM_NLIMITS - 1, "bad resource");
            o->limits[o->nlimits].value.rlim_cur = limit_value(eq + 1);
            o->limits[o->nlimits].value.rlim_max = limit_value(colon + 1);
            o->nlimits++;
            i++;
        } else if (strcmp(a, "-u") == 0) {
            o->uid = (int) number(v, 0, INT_MAX, "bad uid");
            o->switch_ids = 1;
            i++;
        } else if (strcmp(a, "-g") == 0) {
            o->gid = (int) number(v, 0, INT_MAX, "bad gid");
            o->switch_ids = 1;
            i++;
        } else if (strcmp(a, "-G") == 0) {
            o->ngroups = 0;
            if (strcmp(v, "-") != 0) {
                char list[8192];
                if (strlen(v) >= sizeof list) {
                    usage("too many groups");
                }
                strcpy(list, v);
                for (char *save, *g = strtok_r(list, ",", &save); g; g = strtok_r(NULL, ",", &save)) {
                    if (o->ngroups == MAX_GROUPS) {
                        usage("too many groups");
                    }
                    o->groups[o->ngroups++] = (gid_t) number(g, 0, INT_MAX, "bad group");
                }
            }
            o->switch_ids = 1;
            i++;
        }
    }
    if (i >= argc - 1) {
        usage("no command");
    }
    if (o->switch_ids && (o->uid < 0 || o->gid < 0 || o->ngroups < 0)) {
        usage("-u, -g and -G go together");
    }
    o->argv = argv + i + 1;
}

/* In the program's process, just before exec: what setpriv and prlimit did. */
static void become_program(const struct options *o) {
    if (setpgid(0, 0) < 0) {
        die("setpgid");
    }
    if (isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) >= 0) {
        /* Take the terminal's foreground, as a shell does for its job; SIGTTOU is blocked. */
        tcsetpgrp(STDIN_FILENO, getpgrp());
    }
    for (int i = 0; i < o->nlimits; i++) {
        if (setrlimit(o->limits[i].resource, &o->limits[i].value) < 0) {
            die("setrlimit");
        }
    }
    if (o->switch_ids) {
        if (setgroups((size_t) o->ngroups, o->groups) < 0) {
            die("setgroups");
        }
        if (setresgid(o->gid, o->gid, o->gid) < 0) {
            die("setresgid");
        }
        if (setresuid(o->uid, o->uid, o->uid) < 0) {
            die("setresuid");
        }
    }
    if (o->clear_caps) {
        struct cap_header h = {CAPABILITY_VERSION_3, 0};
        struct cap_data d[2];
        if (syscall(SYS_capget, &h, d) < 0) {
            die("capget");
        }
        d[0].inheritable = d[1].inheritable = 0;
        if (syscall(SYS_capset, &h, d) < 0) {
            die("capset");
        }
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    }
    /* A fresh process as a login or ssh session gives it: every signal at its default action and
     * none blocked. Not what the daemon's thread had: a JVM thread blocks SIGQUIT (so Ctrl-\ did
     * nothing in a tty job) and ignores glibc's internal real-time signals. The raw system call,
     * because glibc's sigaction refuses the signals it reserves. */
    struct { void *handler; unsigned long flags; void *restorer; unsigned long mask; } dfl = {SIG_DFL, 0, NULL, 0};
    for (int s = 1; s <= 64; s++) {
        if (s != SIGKILL && s != SIGSTOP) {
            syscall(SYS_rt_sigaction, s, &dfl, NULL, sizeof dfl.mask);
        }
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execvp(o->argv[0], o->argv);
    int err = errno;
    fprintf(stderr, "%s: %s: %s\n", me, o->argv[0], strerror(err));
    _exit(err == ENOENT ? 127 : 126);
}

static int shell_status(int status) {
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

/* The init: forks the program, forwards signals to its group, reaps, exits with its status. */
static void init(const struct options *o) {
    if (o->session && setsid() < 0) {
        die("setsid");
    }
    if (o->ctty && ioctl(STDIN_FILENO, TIOCSCTTY, 1) < 0) {
        die("TIOCSCTTY");
    }
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
    signal(SIGTTOU, SIG_IGN); /* tcsetpgrp from a background group of the terminal */
    signal(SIGCHLD, SIG_DFL); /* an inherited SIG_IGN would reap the program behind our back */
    sigprocmask(SIG_SETMASK, &all, NULL);
    pid_t program = fork();
    if (program < 0) {
        die("fork");
    }
    if (program == 0) {
        become_program(o);
    }
    for (;;) {
        siginfo_t info;
        struct timespec tick = {1, 0};
        int sig = sigtimedwait(&all, &info, &tick);
        if (sig > 0 && sig != SIGCHLD) {
            if (kill(-program, sig) < 0 && errno == ESRCH) {
                kill(program, sig); /* before the program has its own group */
            }
            continue;
        }
        int status;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
            if (pid == program) {
                _exit(shell_status(status));
            }
        }
        if (pid < 0 && errno == ECHILD) {
            _exit(FAILED); /* cannot happen: the program is our child until we reap it */
        }
    }
}

/* One job, from the argv after the program name: what `gestalt-exec OPTIONS -- CMD` does. */
static int run_job(int argc, char **argv) {
    struct options o;
    pid_t daemon = getppid();
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) {
        die("PR_SET_PDEATHSIG");
    }
    if (getppid() != daemon) {
        _exit(FAILED); /* the spawner died before the line above */
    }
    parse(argc, argv, &o);
    if (o.rows > 0 && o.cols > 0) {
        struct winsize ws = {.ws_row = (unsigned short) o.rows, .ws_col = (unsigned short) o.cols};
        ioctl(STDIN_FILENO, TIOCSWINSZ, &ws); /* not a terminal: nothing to size */
    }
    if (!o.pidns) {
        init(&o);
    }
    if (unshare(CLONE_NEWPID) < 0) {
        die("unshare(CLONE_NEWPID)");
    }
    pid_t child = fork();
    if (child < 0) {
        die("fork");
    }
    if (child == 0) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) {
            die("PR_SET_PDEATHSIG");
        }
        init(&o);
    }
    /* As unshare --fork: signals are for the job (the daemon sends them to its group), not for
     * this waiter; SIGKILL of this process kills the init, and with it the namespace. */
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    int status;
    while (waitpid(child, &status, 0) < 0) {
        if (errno != EINTR) {
            die("waitpid");
        }
    }
    return shell_status(status);
}

/* ---- spawn server: `gestalt-exec --server` ----
 *
 * The daemon starts one server and asks it for each job without a terminal, instead of spawning
 * a process per job itself: the JVM spawns through an exec of its jspawnhelper, then of this
 * program, ~1 ms of CPU per job on a small machine; the server forks itself and runs the job's
 * options in the child, no exec until the user's program.
 *
 * Requests on stdin: a 4-byte big-endian length, then NUL-terminated fields:
 *   "S" ID UMASK CWD ARGC ARG... ENVC ENV...   start a job (ARGs: the options, "--", the command)
 *   "A" ID                                     the daemon has opened the job's pipes: close ours
 * Replies on stdout, one line each:
 *   S ID PID FD0 FD1 FD2   started; the daemon opens /proc/SERVER/fd/FDn (stdin's write end,
 *                          stdout's and stderr's read ends), then acknowledges
 *   F ID MESSAGE           could not start (no fork, no pipe)
 *   X PID STATUS           a job ended (waitpid's raw status); always after its S line
 * The server dies with the daemon's spawner thread (parent-death signal) and its jobs die with
 * the server (theirs), as jobs spawned by the daemon itself do. At EOF on stdin it exits. */

#include <poll.h>
#include <sys/signalfd.h>

extern char **environ;

#define MAX_PENDING 4096

static struct { long id; int fds[3]; } pending[MAX_PENDING];
static int npending;

static void reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void reply(const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t) n >= sizeof line) {
        n = (int) sizeof line - 1;
        line[n - 1] = '\n';
    }
    for (int off = 0; off < n;) {
        ssize_t w = write(STDOUT_FILENO, line + off, (size_t) (n - off));
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            _exit(0); /* the daemon is gone */
        }
        off += (int) w;
    }
}

/* The fields of one request; false when malformed. */
static int fields(char *p, size_t len, char **out, int max, int *count) {
    int n = 0;
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '\0') {
            if (n == max) {
                return 0;
            }
            out[n++] = p + start;
            start = i + 1;
        }
    }
    *count = n;
    return start == len;
}

static void start_job(char **f, int nf) {
    /* f: "S" ID UMASK CWD ARGC ARG... ENVC ENV... */
    long id = atol(f[1]);
    if (nf < 6) {
        reply("F %ld malformed request\n", id);
        return;
    }
    int argc = atoi(f[4]);
    if (argc < 1 || 5 + argc >= nf) {
        reply("F %ld malformed request\n", id);
        return;
    }
    int envc = atoi(f[5 + argc]);
    if (envc < 0 || 6 + argc + envc != nf) {
        reply("F %ld malformed request\n", id);
        return;
    }
    if (npending == MAX_PENDING) {
        reply("F %ld too many unacknowledged starts\n", id);
        return;
    }
    int in[2], out[2], err[2];
    if (pipe2(in, O_CLOEXEC) < 0) {
        reply("F %ld pipe: %s\n", id, strerror(errno));
        return;
    }
    if (pipe2(out, O_CLOEXEC) < 0) {
        reply("F %ld pipe: %s\n", id, strerror(errno));
        close(in[0]), close(in[1]);
        return;
    }
    if (pipe2(err, O_CLOEXEC) < 0) {
        reply("F %ld pipe: %s\n", id, strerror(errno));
        close(in[0]), close(in[1]), close(out[0]), close(out[1]);
        return;
    }
    pid_t pid = fork();
    if (pid < 0) {
        reply("F %ld fork: %s\n", id, strerror(errno));
        close(in[0]), close(in[1]), close(out[0]), close(out[1]), close(err[0]), close(err[1]);
        return;
    }
    if (pid == 0) {
        if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0) {
            _exit(FAILED);
        }
        if (syscall(SYS_close_range, 3, ~0U, 0) < 0) {
            for (int fd = 3; fd < 1024; fd++) {
                close(fd);
            }
        }
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGCHLD, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        signal(SIGQUIT, SIG_DFL);
        umask((mode_t) strtol(f[2], NULL, 8));
        if (chdir(f[3]) < 0) {
            fprintf(stderr, "%s: %s: %s\n", me, f[3], strerror(errno));
            _exit(FAILED);
        }
        /* argv: the program's name in place of the ARGC field, the ARGs, NULL in place of ENVC;
           the environment ends with the NULL slot after the last field (see serve) */
        char **argv = f + 4;
        argv[0] = (char *) me;
        argv[argc + 1] = NULL;
        f[6 + argc + envc] = NULL;
        environ = f + 6 + argc;
        _exit(run_job(argc + 1, argv));
    }
    close(in[0]), close(out[1]), close(err[1]);
    pending[npending].id = id;
    pending[npending].fds[0] = in[1];
    pending[npending].fds[1] = out[0];
    pending[npending].fds[2] = err[0];
    npending++;
    reply("S %ld %d %d %d %d\n", id, (int) pid, in[1], out[0], err[0]);
}

static void acknowledge(long id) {
    for (int i = 0; i < npending; i++) {
        if (pending[i].id == id) {
            close(pending[i].fds[0]), close(pending[i].fds[1]), close(pending[i].fds[2]);
            pending[i] = pending[--npending];
            return;
        }
    }
}

static int serve(void) {
    pid_t daemon = getppid();
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) {
        die("PR_SET_PDEATHSIG");
    }
    if (getppid() != daemon) {
        _exit(FAILED);
    }
    /* the daemon's signals are the daemon's: it ends this server by closing its stdin */
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) {
        die("signalfd");
    }
    size_t cap = 1 << 16, have = 0;
    char *buf = malloc(cap);
    if (!buf) {
        die("malloc");
    }
    for (;;) {
        struct pollfd p[2] = {{STDIN_FILENO, POLLIN, 0}, {sfd, POLLIN, 0}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            die("poll");
        }
        if (p[1].revents) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) > 0) {
            }
            int status;
            pid_t pid;
            while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
                reply("X %d %d\n", (int) pid, status);
            }
        }
        if (p[0].revents) {
            if (have == cap) {
                cap *= 2;
                buf = realloc(buf, cap);
                if (!buf) {
                    die("realloc");
                }
            }
            ssize_t n = read(STDIN_FILENO, buf + have, cap - have);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                return 0; /* the daemon closed our input: its jobs die with us */
            }
            have += (size_t) n;
            size_t off = 0;
            while (have - off >= 4) {
                unsigned char *h = (unsigned char *) buf + off;
                size_t len = (size_t) h[0] << 24 | (size_t) h[1] << 16 | (size_t) h[2] << 8 | h[3];
                if (len > (64u << 20)) {
                    die("request too large");
                }
                if (have - off - 4 < len) {
                    if (len + 4 > cap) {
                        cap = len + 4;
                        char *nb = realloc(buf, cap);
                        if (!nb) {
                            die("realloc");
                        }
                        buf = nb;
                    }
                    break;
                }
                char *req = buf + off + 4;
                int max = 4 + (int) len; /* at most one field per byte, plus the NULL slot */
                char **f = malloc(sizeof *f * (size_t) (max + 1));
                int nf;
                if (!f) {
                    die("malloc");
                }
                if (len > 0 && fields(req, len, f, max, &nf) && nf >= 2) {
                    if (strcmp(f[0], "S") == 0) {
                        start_job(f, nf);
                    } else if (strcmp(f[0], "A") == 0) {
                        acknowledge(atol(f[1]));
                    }
                }
                free(f);
                off += 4 + len;
            }
            memmove(buf, buf + off, have - off);
            have -= off;
        }
    }
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--server") == 0) {
        return serve();
    }
    return run_job(argc, argv);
}
