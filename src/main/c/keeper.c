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
 *              user, created with O_EXCL, never through a link, in the root-owned logs folder); a detached
 *              terminal's output is copied there by the keeper
 * When the daemon goes away (its connection ends without Q), or says the client of a job is gone
 * (D), an attached job is hung up as after a dropped ssh session: SIGHUP and SIGCONT to its
 * group; its input is closed, and its further output goes to its log files, as a detached job's.
 *
 * Messages both ways: a 4-byte big-endian length, then NUL-terminated fields.
 * Requests:
 *   S GPID ARGC ARG... ENVC ENV...  start a job; the ARGs are gestalt-exec's options, "--", the command
 *   R GPID FLAGS UID GID IMAGES ARGC ARG...
 *                                   restore a job checkpointed on another node: FLAGS d (detached),
 *                                   else its stdio are new pipes; the keeper creates them (or the
 *                                   log files, owned by UID:GID, first filled with IMAGES/stdout and
 *                                   IMAGES/stderr: the output of before the move) and a status pipe,
 *                                   and runs ARG... (CRIU's restore) as its direct child with the
 *                                   status pipe's write end as fd 3 and the program's stdin, stdout,
 *                                   stderr as 4, 5, 6; the restored init (CRIU's sibling, -S) is its
 *                                   child, its pid read from IMAGES/restored.pid: S as for a start,
 *                                   or F when CRIU failed. The restored tree is stopped until C; if
 *                                   the daemon goes before, it is killed (M) with no end reported
 *   C GPID                          commit a restored job: it runs here now (the daemon resumes it)
 *   M GPID                          the job was restored on another node: SIGKILL here, and G, not X
 *   E GPID                          end of input: the keeper closes its copy of stdin's write end
 *   K GPID SIG                      signal the job (through its init; any signal)
 *   W GPID ROWS COLS                window size of a terminal job
 *   D GPID [q]                      the client is gone: hang the job up, then detached (see above);
 *                                   with q no SIGHUP: the client let go of what the program left
 *                                   running after an interrupt (it goes on detached)
 *   F GPID                          forget an ended job (the daemon has recorded its end)
 *   L                               list the jobs held (J lines, then L)
 *   Q                               stop: SIGTERM to every job, SIGKILL 2 s later, then exit
 * Replies:
 *   H PID VERSION                   on connecting
 *   S GPID ROOT PROGRAM FD0 FD1 FD2 started (the keeper's descriptors for stdin, stdout, stderr, -1 none)
 *   F GPID CODE MESSAGE             could not start: bash's code and message, or 255 for Gestalt's
 *   P GPID CODE                     the program ended (its shell status); the job goes on while any
 *                                   other process of it lives (see job.c)
 *   G GPID                          a job that moved (M) is gone from this node
 *   X GPID CODE                     ended: its last process (shell status of the program, or of the
 *                                   init when it was killed; after its output is in its log files)
 *   J GPID ROOT PROGRAM FLAGS FD0 STATE CODE UID GID PCODE   one job of a list: FLAGS t (terminal)
 *                                   d (detached), STATE R running, E ended; the job's user; the
 *                                   program's code once it ended, else -1
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

#include "keeper-jobs.h"
#include "keeper.h"

#define MAX_REQUEST (16u << 20)
#define MAX_OUTPUT (64u << 20)
#define LINGER_SECONDS 3600
#define QUIT_GRACE_SECONDS 2

static int listener = -1, sigfd = -1;
static struct { int fd; char *in, *out; size_t in_len, in_cap, out_len, out_cap; } daemon_conn = {.fd = -1};
static time_t linger_until, quit_deadline;
static time_t first_connection_by; /* the daemon that started the keeper connects by then */
static int connected_once;
static int quitting, quit_killed;
/* --late-status (tests only): an attached terminal's status is read only once its output ended */
static int late_status;

void log_line(const char *fmt, ...) {
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

void close_fd(int *fd) {
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

int daemon_connected(void) {
    return daemon_conn.fd >= 0;
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
void reply(int n, ...) {
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
const char *num(long v) {
    static char bufs[8][24];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%ld", v);
    return b;
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
        reply(11, "J", j->name, num(j->root), num(j->program), flags,
              num(j->flags & F_TTY ? j->in_relay[1] : -1), j->state == RUNNING ? "R" : "E", num(j->code),
              num((long) j->uid), num((long) j->gid), num(j->program_code));
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
            job_signal(&jobs[i], SIGTERM);
            job_signal(&jobs[i], SIGCONT);
        }
    }
}

static void request(char **f, int nf) {
    struct job *j = nf >= 2 ? job_find(f[1]) : NULL;
    switch (f[0][0]) {
    case 'S':
        if (nf >= 2 && !quitting) {
            job_start(f, nf);
        } else if (nf >= 2) {
            job_refuse_start(f[1], "the node is stopping");
        }
        break;
    case 'R':
        if (nf >= 2 && !quitting) {
            job_restore(f, nf);
        } else if (nf >= 2) {
            job_refuse_start(f[1], "the node is stopping");
        }
        break;
    case 'M':
        if (j) {
            job_moved(j);
        }
        break;
    case 'C':
        if (j) {
            j->flags &= ~F_UNCOMMITTED; /* the daemon resumes it next */
        }
        break;
    case 'E':
        if (j) {
            close_fd(&j->in_w);
        }
        break;
    case 'K':
        if (j && nf >= 3) {
            job_signal(j, atoi(f[2]));
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
            job_hang_up(j, nf >= 3 && strcmp(f[2], "q") == 0);
        }
        break;
    case 'F':
        if (j && j->state == ENDED) {
            job_release(j);
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
        if (j->state == RESTORING) {
            j->flags |= F_ABANDONED; /* once restored, it is killed: its source resumes it */
        } else if (j->state == STARTING) {
            j->flags |= F_ABANDONED;
            job_signal(j, SIGKILL);
        } else if (j->state == RUNNING && (j->flags & F_UNCOMMITTED)) {
            job_moved(j); /* restored, stopped, never committed: its source resumes its own copy */
        } else if (j->state == RUNNING) {
            job_hang_up(j, 0);
        } else if (j->state == ENDED) {
            job_close_all(j);
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

/* ---- the loop ---- */

static void reap(void) {
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        struct job *j = job_by_root(pid);
        if (!j) {
            job_note_orphan(pid, status); /* an orphan that came to this subreaper, or a restored init */
            continue;
        }
        if (j->state == RESTORING) {
            job_restorer_ended(j, status);
            continue;
        }
        j->reaped = 1;
        j->code = shell_status(status);
        if (j->state == RUNNING && j->status >= 0) {
            job_read_status(j); /* P before X */
        }
        if (j->state == STARTING) {
            job_finish_start(j);
        } else if (j->state == ENDED && (j->flags & F_ABANDONED)) {
            job_release(j);
        } else {
            job_check_done(j);
        }
    }
}

static int held(int include_ended) {
    int n = 0;
    for (int i = 0; i < MAX_JOBS; i++) {
        n += jobs[i].state == STARTING || jobs[i].state == RUNNING || jobs[i].state == RESTORING
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
                job_signal(&jobs[i], SIGKILL);
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
        int first_job = n, closing = 0;
        for (int i = 0; i < MAX_JOBS; i++) {
            struct job *j = &jobs[i];
            if (j->state == FREE) {
                continue;
            }
            if (j->state == STARTING && j->report >= 0) {
                owner[n] = NULL, owner_job[n] = j;
                p[n++] = (struct pollfd) {j->report, POLLIN, 0};
            }
            int status_waits = late_status && (j->flags & F_TTY) && j->pumps[0].from >= 0;
            if (j->state == RUNNING && j->status >= 0 && !status_waits) {
                owner[n] = NULL, owner_job[n] = j;
                p[n++] = (struct pollfd) {j->status, POLLIN, 0};
            }
            for (int k = 0; k < 2; k++) {
                struct pump *q = &j->pumps[k];
                if (q->from >= 0) {
                    owner[n] = q, owner_job[n] = j;
                    p[n++] = q->len ? (struct pollfd) {q->to, POLLOUT, 0} : (struct pollfd) {q->from, POLLIN, 0};
                    closing |= (j->flags & F_CLOSING) && !q->len; /* read until nothing is left, then close */
                }
            }
        }
        int timeout = closing ? 0 : quitting || daemon_conn.fd < 0 ? 500 : -1;
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
            int closing_pump = owner[i] && (j->flags & F_CLOSING) && !owner[i]->len;
            if ((!p[i].revents && !closing_pump) || j->state == FREE) {
                continue;
            }
            if (!owner[i]) {
                if (j->state == STARTING && j->report == p[i].fd) {
                    job_finish_start(j);
                } else if (j->state == RUNNING && j->status == p[i].fd) {
                    job_read_status(j);
                }
            } else if (owner[i]->from >= 0) {
                job_pump_step(j, owner[i]);
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

int keeper_main(const char *state, int late) {
    late_status = late;
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
