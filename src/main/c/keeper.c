/*
 * The keeper: `gestalt-exec --keeper STATE_DIR`, one per node. It starts every job of the node,
 * is the parent of each job's init (and a child subreaper, so that process trees handed to it
 * later, as CRIU restores them, are reaped here too), records their exit statuses, and outlives
 * the node daemon: it runs in a session of its own, with no parent-death signal, and the daemon
 * talks to it over a Unix socket, STATE_DIR/keeper/keeper.sock, in a folder only the daemon's
 * user may enter (0700). A restarted daemon connects again and re-adopts the jobs (L below).
 *
 * What a job gets (the daemon opens the keeper's descriptors through /proc/KEEPER/fd/N):
 *   pipes      stdin, stdout, stderr are pipes; the keeper keeps its own copy of the daemon's ends,
 *              so nothing gets SIGPIPE or EOF while the daemon is away
 *   terminal   the keeper opens the pty (posix_openpt) and relays between its master and two pipes
 *              the daemon opens (input, output); a pty master cannot be reopened through /proc
 *   detached   stdin /dev/null; stdout and stderr are the job's log files, which the keeper opens
 *              (STATE_DIR/logs/GPID/{stdout,stderr}: folder 0700, files 0600, owned by the job's
 *              user, created with O_EXCL|O_NOFOLLOW in the root-owned logs folder); a detached
 *              terminal's output is copied there by the keeper
 * When the daemon goes away (its connection ends without Q), or says the client of a job is gone
 * (D), an attached job is hung up as after a dropped ssh session: SIGHUP and SIGCONT to its
 * group; its input is closed, and its further output goes to its log files, as a detached job's.
 *
 * Messages both ways: a 4-byte big-endian length, then NUL-terminated fields.
 * Requests:
 *   S GPID ARGC ARG... ENVC ENV...  start a job; the ARGs are gestalt-exec's options, "--", the command
 *   E GPID                          end of input: the keeper closes its copy of stdin's write end
 *   K GPID SIG                      signal the job (through its init; any signal)
 *   W GPID ROWS COLS                window size of a terminal job
 *   D GPID                          the client is gone: hang the job up, then detached (see above)
 *   F GPID                          forget an ended job (the daemon has recorded its end)
 *   L                               list the jobs held (J lines, then L)
 *   Q                               stop: SIGTERM to every job, SIGKILL 2 s later, then exit
 * Replies:
 *   H PID VERSION                   on connecting
 *   S GPID ROOT PROGRAM FD0 FD1 FD2 started (the keeper's descriptors for stdin, stdout, stderr, -1 none)
 *   F GPID CODE MESSAGE             could not start: bash's code and message, or 255 for Gestalt's
 *   X GPID CODE                     ended (shell status; after its output is in its log files)
 *   J GPID ROOT PROGRAM FLAGS FD0 STATE CODE UID GID   one job of a list: FLAGS t (terminal)
 *                                   d (detached), STATE R running, E ended; the job's user
 *   N REASON                        refused (another daemon is connected)
 * Bounds: MAX_JOBS jobs, requests of MAX_REQUEST bytes; replies pending to a daemon that does
 * not read are dropped with the connection past MAX_OUTPUT. The keeper exits when no daemon is
 * connected and it holds no job, or only ended ones for LINGER_SECONDS. The starter (the process
 * the daemon runs) exits 0 once the keeper listens, else 255 with the reason on its stdout.
 */
#define _GNU_SOURCE
#include "job.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "keeper.h"

#define MAX_JOBS 4096
#define MAX_REQUEST (16u << 20)
#define MAX_OUTPUT (64u << 20)
#define LINGER_SECONDS 3600
#define QUIT_GRACE_SECONDS 2
#define PUMP_BUFFER 16384

enum { FREE = 0, STARTING, RUNNING, ENDED };
enum { F_TTY = 1, F_DETACHED = 2, F_PIDNS = 4, F_ABANDONED = 8 };

/* Bytes from one descriptor to another: a terminal's output or input, or output to a log file. */
struct pump {
    int from, to;       /* from < 0: not running */
    int output;         /* the job's output: the job is not done before this pump */
    char *buf;
    size_t len, off;
};

struct job {
    int state;
    char name[MAX_NAME + 1];
    int flags;
    pid_t root, program;
    int reaped, code;
    uid_t uid;
    gid_t gid;
    int report;                  /* read end of the start report pipe, while STARTING */
    char message[512];
    size_t message_len;
    int in_w, out_r, err_r;      /* pipes: the daemon's ends, which the keeper keeps a copy of */
    int master, in_relay[2], out_relay[2];  /* terminals */
    int log_out, log_err;
    struct pump pumps[2];
};

static struct job jobs[MAX_JOBS];
static int logs_dir = -1, listener = -1, sigfd = -1;
static struct { int fd; char *in, *out; size_t in_len, in_cap, out_len, out_cap; } daemon_conn = {.fd = -1};
static time_t linger_until, quit_deadline;
static time_t first_connection_by; /* the daemon that started the keeper connects by then */
static int connected_once;
static int quitting, quit_killed;

static void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void log_line(const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s keeper: %s\n", me, line);
}

static time_t now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec;
}

static void close_fd(int *fd) {
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/* ---- replies ---- */

static void drop_daemon(void);

static void flush_daemon(void) {
    while (daemon_conn.fd >= 0 && daemon_conn.out_len > 0) {
        ssize_t w = write(daemon_conn.fd, daemon_conn.out, daemon_conn.out_len);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0 && errno == EAGAIN) {
            return;
        }
        if (w <= 0) {
            drop_daemon();
            return;
        }
        memmove(daemon_conn.out, daemon_conn.out + w, daemon_conn.out_len - (size_t) w);
        daemon_conn.out_len -= (size_t) w;
    }
}

/* One message of NUL-terminated fields to the daemon (nothing when none is connected). */
static void reply(int n, ...) {
    if (daemon_conn.fd < 0) {
        return;
    }
    va_list ap;
    va_start(ap, n);
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        len += strlen(va_arg(ap, const char *)) + 1;
    }
    va_end(ap);
    if (daemon_conn.out_len + len + 4 > MAX_OUTPUT) {
        log_line("the daemon does not read its replies: dropping its connection");
        drop_daemon();
        return;
    }
    while (daemon_conn.out_cap < daemon_conn.out_len + len + 4) {
        daemon_conn.out_cap = daemon_conn.out_cap ? daemon_conn.out_cap * 2 : 65536;
        daemon_conn.out = realloc(daemon_conn.out, daemon_conn.out_cap);
        if (!daemon_conn.out) {
            log_line("out of memory");
            _exit(FAILED);
        }
    }
    unsigned char *p = (unsigned char *) daemon_conn.out + daemon_conn.out_len;
    p[0] = (unsigned char) (len >> 24), p[1] = (unsigned char) (len >> 16);
    p[2] = (unsigned char) (len >> 8), p[3] = (unsigned char) len;
    p += 4;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        const char *f = va_arg(ap, const char *);
        size_t fl = strlen(f) + 1;
        memcpy(p, f, fl);
        p += fl;
    }
    va_end(ap);
    daemon_conn.out_len += len + 4;
    flush_daemon();
}

/* A number as a field (each call has its own buffer, up to 8 per message). */
static const char *num(long v) {
    static char bufs[8][24];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%ld", v);
    return b;
}

/* ---- jobs ---- */

static struct job *find(const char *name) {
    for (int i = 0; i < MAX_JOBS; i++) {
        if (jobs[i].state != FREE && strcmp(jobs[i].name, name) == 0) {
            return &jobs[i];
        }
    }
    return NULL;
}

static struct job *by_root(pid_t pid) {
    for (int i = 0; i < MAX_JOBS; i++) {
        if (jobs[i].state != FREE && jobs[i].root == pid && !jobs[i].reaped) {
            return &jobs[i];
        }
    }
    return NULL;
}

static void pump_stop(struct pump *p) {
    p->from = p->to = -1;
    free(p->buf);
    p->buf = NULL;
    p->len = p->off = 0;
}

static void pump_start(struct pump *p, int from, int to, int output) {
    pump_stop(p);
    p->from = from;
    p->to = to;
    p->output = output;
}

static void close_all(struct job *j) {
    pump_stop(&j->pumps[0]);
    pump_stop(&j->pumps[1]);
    close_fd(&j->report);
    close_fd(&j->in_w);
    close_fd(&j->out_r);
    close_fd(&j->err_r);
    close_fd(&j->master);
    close_fd(&j->in_relay[0]);
    close_fd(&j->in_relay[1]);
    close_fd(&j->out_relay[0]);
    close_fd(&j->out_relay[1]);
    close_fd(&j->log_out);
    close_fd(&j->log_err);
}

static void release(struct job *j) {
    close_all(j);
    memset(j, 0, sizeof *j);
}

static struct job *claim(const char *name) {
    for (int i = 0; i < MAX_JOBS; i++) {
        if (jobs[i].state == FREE) {
            struct job *j = &jobs[i];
            memset(j, 0, sizeof *j);
            snprintf(j->name, sizeof j->name, "%s", name);
            j->report = j->in_w = j->out_r = j->err_r = j->master = -1;
            j->in_relay[0] = j->in_relay[1] = j->out_relay[0] = j->out_relay[1] = -1;
            j->log_out = j->log_err = -1;
            j->pumps[0].from = j->pumps[0].to = j->pumps[1].from = j->pumps[1].to = -1;
            j->program = -1;
            return j;
        }
    }
    return NULL;
}

/* A signal for the job, through its init (see job.c); SIGKILL of a namespace's init ends it all. */
static void signal_job(struct job *j, int sig) {
    if (j->reaped || j->root <= 0) {
        return;
    }
    if (sig == SIGKILL && (j->flags & F_PIDNS)) {
        kill(j->root, SIGKILL);
        return;
    }
    union sigval v = {.sival_int = sig};
    sigqueue(j->root, keeper_signal(), v);
}

/* The job's log folder and files, owned by its user (see the top of the file). */
static int open_logs(struct job *j) {
    if (mkdirat(logs_dir, j->name, 0700) < 0) {
        return -1;
    }
    int dir = openat(logs_dir, j->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dir < 0) {
        return -1;
    }
    int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_APPEND | O_CLOEXEC;
    j->log_out = openat(dir, "stdout", flags, 0600);
    j->log_err = openat(dir, "stderr", flags, 0600);
    int ok = j->log_out >= 0 && j->log_err >= 0
        && fchown(j->log_out, j->uid, j->gid) == 0 && fchown(j->log_err, j->uid, j->gid) == 0
        && fchown(dir, j->uid, j->gid) == 0;
    close(dir);
    if (!ok) {
        int e = errno;
        close_fd(&j->log_out);
        close_fd(&j->log_err);
        errno = e;
        return -1;
    }
    return 0;
}

static void nonblocking(int fd) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* The client of an attached job is gone: SIGHUP, and its further output to its log files. */
static void hang_up(struct job *j) {
    if (j->state != RUNNING || (j->flags & F_DETACHED)) {
        return;
    }
    j->flags |= F_DETACHED;
    signal_job(j, SIGHUP);
    signal_job(j, SIGCONT);
    if (open_logs(j) < 0) {
        log_line("job %s: cannot create its log files (%s): its output is dropped", j->name, strerror(errno));
        j->log_out = open("/dev/null", O_WRONLY | O_CLOEXEC);
        j->log_err = open("/dev/null", O_WRONLY | O_CLOEXEC);
    }
    if (j->flags & F_TTY) {
        close_fd(&j->out_relay[0]);
        close_fd(&j->out_relay[1]);
        pump_start(&j->pumps[0], j->master, j->log_out, 1);
    } else {
        close_fd(&j->in_w);
        nonblocking(j->out_r);
        nonblocking(j->err_r);
        pump_start(&j->pumps[0], j->out_r, j->log_out, 1);
        pump_start(&j->pumps[1], j->err_r, j->log_err, 1);
    }
}

/* The program's pid: the init's one child right after the program's execve. */
static pid_t program_of(pid_t root) {
    char path[64], buf[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int) root, (int) root);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) {
        return -1;
    }
    buf[n] = 0;
    long pid = strtol(buf, NULL, 10);
    return pid > 0 ? (pid_t) pid : -1;
}

static int done(const struct job *j) {
    for (int i = 0; i < 2; i++) {
        if (j->pumps[i].from >= 0 && j->pumps[i].output) {
            return 0;
        }
    }
    return j->reaped;
}

/* Reports the end once the init is reaped and the output copied; frees what the job no longer needs. */
static void check_done(struct job *j) {
    if (j->state != RUNNING || !done(j)) {
        return;
    }
    pump_stop(&j->pumps[0]);
    pump_stop(&j->pumps[1]);
    close_fd(&j->out_relay[1]); /* the daemon's reader of a terminal sees its end */
    close_fd(&j->log_out);
    close_fd(&j->log_err);
    j->state = ENDED;
    reply(3, "X", j->name, num(j->code));
    if (daemon_conn.fd < 0) {
        close_all(j);
    }
}

/* The start report pipe is readable, or the init was reaped: started, or failed with a message. */
static void finish_start(struct job *j) {
    for (;;) {
        ssize_t n = read(j->report, j->message + j->message_len, sizeof j->message - 1 - j->message_len);
        if (n > 0) {
            j->message_len += (size_t) n;
            if (j->message_len < sizeof j->message - 1) {
                continue;
            }
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno == EAGAIN && !j->reaped) {
            return; /* more to come */
        }
        break;
    }
    close_fd(&j->report);
    j->message[j->message_len] = 0;
    if (j->message_len > 0 || (j->flags & F_ABANDONED)) {
        char *space = strchr(j->message, ' ');
        if (j->message_len > 0) {
            reply(4, "F", j->name, space ? (*space = 0, j->message) : "255", space ? space + 1 : j->message);
        }
        j->state = ENDED;
        j->flags |= F_ABANDONED;
        if (j->reaped) {
            release(j);
        }
        return;
    }
    j->state = RUNNING;
    j->program = j->reaped ? -1 : program_of(j->root);
    int fd0 = j->flags & F_TTY ? j->in_relay[1] : j->in_w;
    int fd1 = j->flags & F_TTY ? j->out_relay[0] : j->out_r;
    reply(7, "S", j->name, num(j->root), num(j->program), num(fd0), num(fd1), num(j->err_r));
    check_done(j);
}

static void refuse_start(const char *name, const char *why) {
    reply(4, "F", name, "255", why);
}

static int valid_name(const char *n) {
    size_t len = strlen(n);
    if (len == 0 || len > MAX_NAME || strcmp(n, ".") == 0 || strcmp(n, "..") == 0) {
        return 0;
    }
    return strspn(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_:.-") == len;
}

/* The terminal of a job: master (the keeper's, non-blocking), slave (the job's), sized and owned. */
static int open_terminal(struct job *j, const struct job_spec *s, int *slave, char *why, size_t whylen) {
    char name[128];
    j->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (j->master < 0 || grantpt(j->master) < 0 || unlockpt(j->master) < 0
            || ptsname_r(j->master, name, sizeof name) != 0) {
        snprintf(why, whylen, "cannot open a terminal: %s", strerror(errno));
        return -1;
    }
    *slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (*slave < 0) {
        snprintf(why, whylen, "cannot open %s: %s", name, strerror(errno));
        return -1;
    }
    struct winsize ws = {.ws_row = (unsigned short) s->rows, .ws_col = (unsigned short) s->cols};
    ioctl(j->master, TIOCSWINSZ, &ws);
    if (s->switch_ids && (fchown(*slave, s->uid, (gid_t) -1) < 0 || fchmod(*slave, 0620) < 0)) {
        snprintf(why, whylen, "cannot give %s to uid %d: %s", name, (int) s->uid, strerror(errno));
        return -1;
    }
    nonblocking(j->master);
    return 0;
}

/*
 * The job's stdio: child[] gets the job's ends (which the keeper closes once the job has them), the
 * job the keeper's (see the top of the file). -1 with a reason when something cannot be opened.
 */
static int open_stdio(struct job *j, const struct job_spec *s, int child[3], char *why, size_t whylen) {
    if (s->detached && open_logs(j) < 0) {
        snprintf(why, whylen, "cannot create the log files of %s: %s", j->name, strerror(errno));
        return -1;
    }
    if (s->tty) {
        if (open_terminal(j, s, &child[0], why, whylen) < 0) {
            return -1;
        }
        child[1] = child[2] = child[0];
        if (pipe2(j->in_relay, O_CLOEXEC) < 0 || (!s->detached && pipe2(j->out_relay, O_CLOEXEC) < 0)) {
            snprintf(why, whylen, "pipe: %s", strerror(errno));
            return -1;
        }
        nonblocking(j->in_relay[0]);
        if (!s->detached) {
            nonblocking(j->out_relay[1]);
        } else {
            close_fd(&j->log_err); /* a terminal has one output: stderr's log stays empty */
        }
        pump_start(&j->pumps[0], j->master, s->detached ? j->log_out : j->out_relay[1], 1);
        pump_start(&j->pumps[1], j->in_relay[0], j->master, 0);
        return 0;
    }
    if (s->detached) {
        child[1] = j->log_out, child[2] = j->log_err;
        j->log_out = j->log_err = -1; /* the job writes them; the keeper has nothing to copy */
        if ((child[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
            snprintf(why, whylen, "/dev/null: %s", strerror(errno));
            return -1;
        }
        return 0;
    }
    int in[2], out[2], err[2];
    if (pipe2(in, O_CLOEXEC) < 0) {
        snprintf(why, whylen, "pipe: %s", strerror(errno));
        return -1;
    }
    child[0] = in[0], j->in_w = in[1];
    if (pipe2(out, O_CLOEXEC) < 0) {
        snprintf(why, whylen, "pipe: %s", strerror(errno));
        return -1;
    }
    child[1] = out[1], j->out_r = out[0];
    if (pipe2(err, O_CLOEXEC) < 0) {
        snprintf(why, whylen, "pipe: %s", strerror(errno));
        return -1;
    }
    child[2] = err[1], j->err_r = err[0];
    return 0;
}

static void close_child_ends(int child[3]) {
    for (int i = 0; i < 3; i++) {
        if (child[i] >= 0 && (i == 0 || child[i] != child[i - 1])) {
            close(child[i]);
        }
        child[i] = -1;
    }
}

static void start(char **f, int nf) {
    /* f: "S" GPID ARGC ARG... ENVC ENV... (then the NULL slot that fields() adds) */
    const char *name = f[1];
    char why[512] = "";
    if (!valid_name(name)) {
        refuse_start(name, "bad job name");
        return;
    }
    if (find(name)) {
        refuse_start(name, "the keeper holds a job of that name already");
        return;
    }
    int argc = nf > 3 ? atoi(f[2]) : -1;
    if (argc < 1 || 3 + argc >= nf || atoi(f[3 + argc]) != nf - 4 - argc) {
        refuse_start(name, "malformed request");
        return;
    }
    struct job_spec s;
    if (job_parse(argc, f + 3, &s, why, sizeof why) < 0) {
        refuse_start(name, why);
        return;
    }
    f[3 + argc] = NULL; /* the command ends where the ENVC field was */
    s.envp = f + 4 + argc;
    struct job *j = claim(name);
    if (!j) {
        snprintf(why, sizeof why, "the node's keeper holds %d jobs, its limit: start this one when some have ended", MAX_JOBS);
        refuse_start(name, why);
        return;
    }
    j->uid = s.switch_ids ? s.uid : geteuid();
    j->gid = s.switch_ids ? s.gid : getegid();
    j->flags = (s.tty ? F_TTY : 0) | (s.detached ? F_DETACHED : 0) | (s.pidns ? F_PIDNS : 0);
    int child[3] = {-1, -1, -1}, report[2] = {-1, -1};
    pid_t pid = -1;
    if (open_stdio(j, &s, child, why, sizeof why) == 0) {
        if (pipe2(report, O_CLOEXEC) < 0) {
            snprintf(why, sizeof why, "pipe: %s", strerror(errno));
        } else if ((pid = job_fork(&s)) == 0) {
            job_child(&s, child[0], child[1], child[2], report[1]);
        } else if (pid < 0) {
            snprintf(why, sizeof why, "fork: %s", strerror(errno));
        }
    }
    close_child_ends(child);
    close_fd(&report[1]);
    if (pid < 0) {
        close_fd(&report[0]);
        if (s.detached) {
            unlinkat(logs_dir, j->name, AT_REMOVEDIR); /* fails while files are in it: left for the daemon's pruning */
        }
        release(j);
        refuse_start(name, why);
        return;
    }
    j->root = pid;
    j->report = report[0];
    nonblocking(j->report);
    j->state = STARTING;
}

static void list(void) {
    for (int i = 0; i < MAX_JOBS; i++) {
        struct job *j = &jobs[i];
        if (j->state != RUNNING && !(j->state == ENDED && !(j->flags & F_ABANDONED))) {
            continue;
        }
        char flags[3] = "", *p = flags;
        if (j->flags & F_TTY) {
            *p++ = 't';
        }
        if (j->flags & F_DETACHED) {
            *p++ = 'd';
        }
        *p = 0;
        reply(10, "J", j->name, num(j->root), num(j->program), flags,
              num(j->flags & F_TTY ? j->in_relay[1] : -1), j->state == RUNNING ? "R" : "E", num(j->code),
              num((long) j->uid), num((long) j->gid));
    }
    reply(1, "L");
}

static void quit(void) {
    if (quitting) {
        return;
    }
    quitting = 1;
    quit_deadline = now() + QUIT_GRACE_SECONDS;
    for (int i = 0; i < MAX_JOBS; i++) {
        if (jobs[i].state == STARTING || jobs[i].state == RUNNING) {
            signal_job(&jobs[i], SIGTERM);
            signal_job(&jobs[i], SIGCONT);
        }
    }
}

static void request(char **f, int nf) {
    struct job *j = nf >= 2 ? find(f[1]) : NULL;
    switch (f[0][0]) {
    case 'S':
        if (nf >= 2 && !quitting) {
            start(f, nf);
        } else if (nf >= 2) {
            refuse_start(f[1], "the node is stopping");
        }
        break;
    case 'E':
        if (j) {
            close_fd(&j->in_w);
        }
        break;
    case 'K':
        if (j && nf >= 3) {
            signal_job(j, atoi(f[2]));
        }
        break;
    case 'W':
        if (j && nf >= 4 && j->master >= 0) {
            struct winsize ws = {.ws_row = (unsigned short) atoi(f[2]), .ws_col = (unsigned short) atoi(f[3])};
            ioctl(j->master, TIOCSWINSZ, &ws);
        }
        break;
    case 'D':
        if (j) {
            hang_up(j);
        }
        break;
    case 'F':
        if (j && j->state == ENDED) {
            release(j);
        }
        break;
    case 'L':
        list();
        break;
    case 'Q':
        quit();
        break;
    default:
        log_line("unknown request '%s'", f[0]);
    }
}

/* ---- the daemon's connection ---- */

static void drop_daemon(void) {
    if (daemon_conn.fd < 0) {
        return;
    }
    close_fd(&daemon_conn.fd);
    daemon_conn.in_len = daemon_conn.out_len = 0;
    if (quitting) {
        return;
    }
    /* the daemon is gone: nobody receives the starts under way, nobody relays the attached jobs */
    for (int i = 0; i < MAX_JOBS; i++) {
        struct job *j = &jobs[i];
        if (j->state == STARTING) {
            j->flags |= F_ABANDONED;
            signal_job(j, SIGKILL);
        } else if (j->state == RUNNING) {
            hang_up(j);
        } else if (j->state == ENDED) {
            close_all(j);
        }
    }
    linger_until = now() + LINGER_SECONDS;
}

static void accept_daemon(void) {
    int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
        return;
    }
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != geteuid()) {
        close(fd);
        return;
    }
    if (daemon_conn.fd >= 0) {
        static const char refusal[] = "N\0another daemon is connected to this keeper";
        unsigned char frame[4 + sizeof refusal] = {0, 0, 0, sizeof refusal};
        memcpy(frame + 4, refusal, sizeof refusal);
        ssize_t ignored = write(fd, frame, sizeof frame);
        (void) ignored;
        close(fd);
        return;
    }
    daemon_conn.fd = fd;
    connected_once = 1;
    reply(3, "H", num(getpid()), KEEPER_VERSION);
}

/* The fields of one message; false when malformed. out has room for max+1 pointers. */
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
    out[n] = NULL;
    *count = n;
    return start == len;
}

static void read_daemon(void) {
    if (daemon_conn.in_cap - daemon_conn.in_len < 65536) {
        size_t cap = daemon_conn.in_cap ? daemon_conn.in_cap * 2 : 1 << 17;
        char *b = realloc(daemon_conn.in, cap);
        if (!b) {
            log_line("out of memory");
            _exit(FAILED);
        }
        daemon_conn.in = b, daemon_conn.in_cap = cap;
    }
    ssize_t n = read(daemon_conn.fd, daemon_conn.in + daemon_conn.in_len, daemon_conn.in_cap - daemon_conn.in_len);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        return;
    }
    if (n <= 0) {
        drop_daemon();
        return;
    }
    daemon_conn.in_len += (size_t) n;
    size_t off = 0;
    while (daemon_conn.fd >= 0 && daemon_conn.in_len - off >= 4) {
        unsigned char *h = (unsigned char *) daemon_conn.in + off;
        size_t len = (size_t) h[0] << 24 | (size_t) h[1] << 16 | (size_t) h[2] << 8 | h[3];
        if (len == 0 || len > MAX_REQUEST) {
            log_line("a request of %zu bytes: dropping the daemon's connection", len);
            drop_daemon();
            return;
        }
        if (daemon_conn.in_len - off - 4 < len) {
            while (daemon_conn.in_cap < off + 4 + len) {
                daemon_conn.in_cap *= 2;
                if (!(daemon_conn.in = realloc(daemon_conn.in, daemon_conn.in_cap))) {
                    log_line("out of memory");
                    _exit(FAILED);
                }
            }
            break;
        }
        char *msg = daemon_conn.in + off + 4;
        int max = 4 + (int) len, nf;
        char **f = malloc(sizeof *f * (size_t) (max + 1));
        if (!f) {
            log_line("out of memory");
            _exit(FAILED);
        }
        if (fields(msg, len, f, max, &nf) && nf >= 1) {
            request(f, nf);
        } else {
            log_line("a malformed request: ignored");
        }
        free(f);
        off += 4 + len;
    }
    if (daemon_conn.fd >= 0) {
        memmove(daemon_conn.in, daemon_conn.in + off, daemon_conn.in_len - off);
        daemon_conn.in_len -= off;
    }
}

/* ---- pumps ---- */

static void pump_ended(struct job *j, struct pump *p) {
    int output = p->output;
    pump_stop(p);
    if (output && (j->flags & F_TTY)) {
        pump_stop(&j->pumps[1]); /* the terminal is gone: no more input for it either */
    }
    check_done(j);
}

/* Moves bytes: reads when the buffer is empty, writes what it holds (a full sink waits for POLLOUT). */
static void pump_step(struct job *j, struct pump *p) {
    if (!p->buf && !(p->buf = malloc(PUMP_BUFFER))) {
        return; /* no memory now: try again at the next round */
    }
    if (p->len == 0) {
        ssize_t n = read(p->from, p->buf, PUMP_BUFFER);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            return;
        }
        if (n <= 0) {
            pump_ended(j, p); /* EOF, or EIO: a terminal's last process closed it */
            return;
        }
        p->len = (size_t) n, p->off = 0;
    }
    while (p->off < p->len) {
        ssize_t w = write(p->to, p->buf + p->off, p->len - p->off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0 && errno == EAGAIN) {
            return;
        }
        if (w <= 0) {
            p->len = p->off = 0; /* the sink is gone (a full disk, a closed terminal): drop */
            if (!p->output) {
                pump_ended(j, p);
            }
            return;
        }
        p->off += (size_t) w;
    }
    p->len = p->off = 0;
}

/* ---- the loop ---- */

static void reap(void) {
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        struct job *j = by_root(pid);
        if (!j) {
            continue; /* an orphan that came to this subreaper */
        }
        j->reaped = 1;
        j->code = shell_status(status);
        if (j->state == STARTING) {
            finish_start(j);
        } else if (j->state == ENDED && (j->flags & F_ABANDONED)) {
            release(j);
        } else {
            check_done(j);
        }
    }
}

static int held(int include_ended) {
    int n = 0;
    for (int i = 0; i < MAX_JOBS; i++) {
        n += jobs[i].state == STARTING || jobs[i].state == RUNNING
            || (include_ended && jobs[i].state == ENDED && !(jobs[i].flags & F_ABANDONED));
    }
    return n;
}

static void timers(void) {
    if (quitting) {
        if (!held(0) || now() > quit_deadline + 3) {
            reply(1, "Q");
            flush_daemon();
            _exit(0);
        }
        if (now() >= quit_deadline && !quit_killed) {
            quit_killed = 1;
            for (int i = 0; i < MAX_JOBS; i++) {
                signal_job(&jobs[i], SIGKILL);
            }
        }
    } else if (daemon_conn.fd < 0 && (connected_once || now() > first_connection_by)
               && (!held(1) || (!held(0) && now() > linger_until))) {
        _exit(0);
    }
}

static void serve(void) {
    static struct pollfd p[3 + MAX_JOBS * 3];
    static struct pump *owner[3 + MAX_JOBS * 3];
    static struct job *owner_job[3 + MAX_JOBS * 3];
    for (;;) {
        timers();
        int n = 0;
        p[n++] = (struct pollfd) {listener, POLLIN, 0};
        p[n++] = (struct pollfd) {sigfd, POLLIN, 0};
        int conn = daemon_conn.fd >= 0 ? n : -1;
        if (conn >= 0) {
            p[n++] = (struct pollfd) {daemon_conn.fd, (short) (POLLIN | (daemon_conn.out_len ? POLLOUT : 0)), 0};
        }
        int first_job = n;
        for (int i = 0; i < MAX_JOBS; i++) {
            struct job *j = &jobs[i];
            if (j->state == FREE) {
                continue;
            }
            if (j->state == STARTING && j->report >= 0) {
                owner[n] = NULL, owner_job[n] = j;
                p[n++] = (struct pollfd) {j->report, POLLIN, 0};
            }
            for (int k = 0; k < 2; k++) {
                struct pump *q = &j->pumps[k];
                if (q->from >= 0) {
                    owner[n] = q, owner_job[n] = j;
                    p[n++] = q->len ? (struct pollfd) {q->to, POLLOUT, 0} : (struct pollfd) {q->from, POLLIN, 0};
                }
            }
        }
        int timeout = quitting || daemon_conn.fd < 0 ? 500 : -1;
        if (poll(p, (nfds_t) n, timeout) < 0) {
            if (errno == EINTR) {
                continue;
            }
            log_line("poll: %s", strerror(errno));
            _exit(FAILED);
        }
        if (p[1].revents) {
            struct signalfd_siginfo si;
            while (read(sigfd, &si, sizeof si) > 0) {
                if (si.ssi_signo == SIGTERM) {
                    quit();
                }
            }
            reap();
        }
        for (int i = first_job; i < n; i++) {
            struct job *j = owner_job[i];
            if (!p[i].revents || j->state == FREE) {
                continue;
            }
            if (!owner[i]) {
                if (j->state == STARTING && j->report == p[i].fd) {
                    finish_start(j);
                }
            } else if (owner[i]->from >= 0) {
                pump_step(j, owner[i]);
            }
        }
        if (conn >= 0 && daemon_conn.fd >= 0) {
            if (p[conn].revents & POLLOUT) {
                flush_daemon();
            }
            if (p[conn].revents & (POLLIN | POLLHUP | POLLERR)) {
                read_daemon();
            }
        }
        if (p[0].revents) {
            accept_daemon();
        }
    }
}

/* ---- start-up ---- */

/* A folder of the keeper's user with exactly this mode, created if missing; never through a link. */
static int own_dir(const char *path, mode_t mode, char *why, size_t whylen) {
    if (mkdir(path, mode) < 0 && errno != EEXIST) {
        snprintf(why, whylen, "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        snprintf(why, whylen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (st.st_uid != geteuid()) {
        snprintf(why, whylen, "%s belongs to uid %d, not to the keeper's (%d)", path, (int) st.st_uid, (int) geteuid());
        close(fd);
        return -1;
    }
    if ((st.st_mode & 07777) != mode && fchmod(fd, mode) < 0) {
        snprintf(why, whylen, "cannot chmod %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int setup(const char *state, char *why, size_t whylen) {
    char path[4096];
    if (snprintf(path, sizeof path, "%s/keeper/keeper.sock", state) >= (int) sizeof path - 1
            || strlen(path) >= sizeof ((struct sockaddr_un *) 0)->sun_path) {
        snprintf(why, whylen, "the state folder's path is too long for a socket: %s", state);
        return -1;
    }
    snprintf(path, sizeof path, "%s/keeper", state);
    int dir = own_dir(path, 0700, why, whylen);
    if (dir < 0) {
        return -1;
    }
    int lock = openat(dir, "keeper.lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) < 0) {
        snprintf(why, whylen, "another keeper holds %s/keeper.lock", path);
        return -1;
    }
    close(dir); /* the lock stays: its descriptor is never closed */
    snprintf(path, sizeof path, "%s/logs", state);
    if ((logs_dir = own_dir(path, 0711, why, whylen)) < 0) {
        return -1;
    }
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s/keeper/keeper.sock", state);
    unlink(addr.sun_path);
    listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (listener < 0 || bind(listener, (struct sockaddr *) &addr, sizeof addr) < 0 || listen(listener, 8) < 0) {
        snprintf(why, whylen, "cannot listen on %s: %s", addr.sun_path, strerror(errno));
        return -1;
    }
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max; /* each job holds up to 6 of its descriptors */
        setrlimit(RLIMIT_NOFILE, &nofile);
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    if ((sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
        snprintf(why, whylen, "signalfd: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int keeper_main(const char *state) {
    if (*state != '/') {
        printf("--keeper takes the state folder's absolute path\n");
        return FAILED;
    }
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) < 0) {
        printf("pipe: %s\n", strerror(errno));
        return FAILED;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        printf("fork: %s\n", strerror(errno));
        return FAILED;
    }
    if (pid > 0) {
        /* the starter: says whether the keeper is listening, and leaves it to run on its own */
        close(ready[1]);
        char why[512];
        ssize_t n = read(ready[0], why, sizeof why - 1);
        if (n == 1 && why[0] == '+') {
            return 0;
        }
        why[n > 0 ? n : 0] = 0;
        /* on stdout: the keeper's stderr is the daemon's log, held open by the keeper, so the daemon
           reads the starter's stdout to its end instead */
        printf("the keeper did not start: %s\n", n > 0 ? why : "it ended");
        return FAILED;
    }
    close(ready[0]);
    setsid();
    umask(077);
    if (chdir("/") < 0) {
        _exit(FAILED);
    }
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        close(null);
    }
    char why[512];
    if (setup(state, why, sizeof why) < 0) {
        ssize_t ignored = write(ready[1], why, strlen(why));
        (void) ignored;
        _exit(FAILED);
    }
    first_connection_by = now() + 60;
    ssize_t ignored = write(ready[1], "+", 1);
    (void) ignored;
    close(ready[1]);
    serve();
    return 0;
}
