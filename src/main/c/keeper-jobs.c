/* A keeper's jobs: see keeper-jobs.h, and the top of keeper.c for what the keeper does with them. */
#define _GNU_SOURCE
#include "keeper-jobs.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "job.h"

struct job jobs[MAX_JOBS];
int logs_dir = -1;

struct job *job_find(const char *name) {
    for (int i = 0; i < MAX_JOBS; i++) {
        if (jobs[i].state != FREE && strcmp(jobs[i].name, name) == 0) {
            return &jobs[i];
        }
    }
    return NULL;
}

struct job *job_by_root(pid_t pid) {
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

void job_close_all(struct job *j) {
    pump_stop(&j->pumps[0]);
    pump_stop(&j->pumps[1]);
    close_fd(&j->report);
    close_fd(&j->status);
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

void job_release(struct job *j) {
    job_close_all(j);
    free(j->images);
    memset(j, 0, sizeof *j);
}

struct job *job_claim(const char *name) {
    for (int i = 0; i < MAX_JOBS; i++) {
        if (jobs[i].state == FREE) {
            struct job *j = &jobs[i];
            memset(j, 0, sizeof *j);
            snprintf(j->name, sizeof j->name, "%s", name);
            j->report = j->status = j->in_w = j->out_r = j->err_r = j->master = -1;
            j->program_code = -1;
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
void job_signal(struct job *j, int sig) {
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

/* A signal for the program's process group only, as a terminal's hang-up sends it. */
static void job_signal_group(struct job *j, int sig) {
    if (!j->reaped && j->root > 0) {
        union sigval v = {.sival_int = sig | KEEPER_GROUP};
        sigqueue(j->root, keeper_signal(), v);
    }
}

/* The job's log folder and files, owned by its user (see the top of the file). */
int job_open_logs(struct job *j) {
    if (mkdirat(logs_dir, j->name, 0700) < 0) {
        return -1;
    }
    int dir = openat(logs_dir, j->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dir < 0) {
        return -1;
    }
    /* O_EXCL: never through a link (the folder is opened O_NOFOLLOW); no O_NOFOLLOW on the file
       itself, which would stay on it: CRIU reopens it through /proc/PID/fd when the job moves */
    int flags = O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC;
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

void set_nonblocking(int fd) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* The client of an attached job is gone: SIGHUP, and its further output to its log files. */
void job_hang_up(struct job *j, int quiet) {
    if (j->state != RUNNING || (j->flags & F_DETACHED)) {
        return;
    }
    j->flags |= F_DETACHED;
    if (!quiet) {
        job_signal_group(j, SIGHUP);
        job_signal_group(j, SIGCONT);
    }
    if (job_open_logs(j) < 0) {
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
        set_nonblocking(j->out_r);
        set_nonblocking(j->err_r);
        pump_start(&j->pumps[0], j->out_r, j->log_out, 1);
        pump_start(&j->pumps[1], j->err_r, j->log_err, 1);
    }
}

ssize_t read_small_file(const char *path, int flags, char *buf, size_t size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC | flags);
    if (fd < 0) {
        return -1;
    }
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n <= 0) {
        return -1;
    }
    buf[n] = 0;
    return n;
}

/* The first number in a small file (a pid), or -1; min is the smallest pid that makes sense. */
pid_t pid_in_file(const char *path, int flags, pid_t min) {
    char buf[64];
    if (read_small_file(path, flags, buf, sizeof buf) < 0) {
        return -1;
    }
    long pid = strtol(buf, NULL, 10);
    return pid >= min ? (pid_t) pid : -1;
}

/* The program's pid: the init's one child right after the program's execve. */
pid_t job_program_of(pid_t root) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int) root, (int) root);
    return pid_in_file(path, 0, 1);
}

/*
 * An attached terminal's program ended: the terminal goes, as sshd closes a session's pty when its
 * shell exits (what is left of the job gets EIO from it). What the program wrote before it ended
 * is copied first: the pump closes the terminal once it has nothing more to read (see pump_step).
 */
static void give_up_terminal(struct job *j) {
    if ((j->flags & F_TTY) && !(j->flags & F_DETACHED)) {
        j->flags |= F_CLOSING;
        pump_stop(&j->pumps[1]); /* no more input for it */
        if (j->pumps[0].from < 0) {
            /* its output ended (EIO) in an earlier round than the status came (seen under load):
               all of it is copied already, so the terminal goes now, or the daemon's reader
               would wait for an end of its output until the job's last process ended */
            log_line("job %s: its terminal's output ended before its program's status came", j->name);
            close_fd(&j->master);
            close_fd(&j->out_relay[1]);
        }
    }
}

void job_read_status(struct job *j) {
    char line[16];
    ssize_t n;
    do {
        n = read(j->status, line, sizeof line - 1);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EAGAIN && !j->reaped) {
        return;
    }
    close_fd(&j->status);
    if (n <= 0) {
        return; /* the init ended without a word (killed): X says how */
    }
    line[n] = 0;
    j->program_code = atoi(line);
    reply(3, "P", j->name, num(j->program_code));
    give_up_terminal(j);
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
void job_check_done(struct job *j) {
    if (j->state != RUNNING || !done(j)) {
        return;
    }
    pump_stop(&j->pumps[0]);
    pump_stop(&j->pumps[1]);
    close_fd(&j->out_relay[1]); /* the daemon's reader of a terminal sees its end */
    close_fd(&j->log_out);
    close_fd(&j->log_err);
    if (j->flags & F_MOVED) {
        reply(2, "G", j->name); /* it runs on elsewhere */
        job_release(j);
        return;
    }
    j->state = ENDED;
    reply(3, "X", j->name, num(j->code));
    if (!daemon_connected()) {
        job_close_all(j);
    }
}

/* The start report pipe is readable, or the init was reaped: started, or failed with a message. */
void job_finish_start(struct job *j) {
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
            job_release(j);
        }
        return;
    }
    j->state = RUNNING;
    j->program = j->reaped ? -1 : job_program_of(j->root);
    int fd0 = j->flags & F_TTY ? j->in_relay[1] : j->in_w;
    int fd1 = j->flags & F_TTY ? j->out_relay[0] : j->out_r;
    reply(7, "S", j->name, num(j->root), num(j->program), num(fd0), num(fd1), num(j->err_r));
    if (j->reaped && j->status >= 0) {
        job_read_status(j);
    }
    job_check_done(j);
}

void job_refuse_start(const char *name, const char *why) {
    reply(4, "F", name, "255", why);
}

static int valid_name(const char *n) {
    size_t len = strlen(n);
    if (len == 0 || len > MAX_NAME || strcmp(n, ".") == 0 || strcmp(n, "..") == 0) {
        return 0;
    }
    return strspn(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_:.-") == len;
}

/*
 * The terminal of a job: master (the keeper's, non-blocking), slave (the job's), sized, and owned
 * by owner (-1: the keeper's).
 */
int job_open_terminal(struct job *j, int rows, int cols, uid_t owner, int *slave, char *why, size_t whylen) {
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
    struct winsize ws = {.ws_row = (unsigned short) rows, .ws_col = (unsigned short) cols};
    ioctl(j->master, TIOCSWINSZ, &ws);
    if (owner != (uid_t) -1 && (fchown(*slave, owner, (gid_t) -1) < 0 || fchmod(*slave, 0620) < 0)) {
        snprintf(why, whylen, "cannot give %s to uid %d: %s", name, (int) owner, strerror(errno));
        return -1;
    }
    set_nonblocking(j->master);
    return 0;
}

/*
 * The relays of a job's terminal (j->master open): its input from a pipe the daemon writes; its
 * output to a pipe the daemon reads, or to its log file when detached (j->log_out open).
 */
int job_terminal_relays(struct job *j, int detached, char *why, size_t whylen) {
    if (pipe2(j->in_relay, O_CLOEXEC) < 0 || (!detached && pipe2(j->out_relay, O_CLOEXEC) < 0)) {
        snprintf(why, whylen, "pipe: %s", strerror(errno));
        return -1;
    }
    set_nonblocking(j->in_relay[0]);
    if (!detached) {
        set_nonblocking(j->out_relay[1]);
    } else {
        close_fd(&j->log_err); /* a terminal has one output: stderr's log stays empty */
    }
    pump_start(&j->pumps[0], j->master, detached ? j->log_out : j->out_relay[1], 1);
    pump_start(&j->pumps[1], j->in_relay[0], j->master, 0);
    return 0;
}

/*
 * The job's stdio: child[] gets the job's ends (which the keeper closes once the job has them), the
 * job the keeper's (see the top of the file). -1 with a reason when something cannot be opened.
 */
static int open_stdio(struct job *j, const struct job_spec *s, int child[3], char *why, size_t whylen) {
    if (s->detached && job_open_logs(j) < 0) {
        snprintf(why, whylen, "cannot create the log files of %s: %s", j->name, strerror(errno));
        return -1;
    }
    if (s->tty) {
        if (job_open_terminal(j, s->rows, s->cols, s->switch_ids ? s->uid : (uid_t) -1, &child[0], why, whylen) < 0) {
            return -1;
        }
        child[1] = child[2] = child[0];
        return job_terminal_relays(j, s->detached, why, whylen);
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

int job_name_free(const char *name) {
    if (!valid_name(name)) {
        job_refuse_start(name, "bad job name");
        return 0;
    }
    if (job_find(name)) {
        job_refuse_start(name, "the keeper holds a job of that name already");
        return 0;
    }
    return 1;
}

static void close_child_ends(int child[3]) {
    for (int i = 0; i < 3; i++) {
        if (child[i] >= 0 && (i == 0 || child[i] != child[i - 1])) {
            close(child[i]);
        }
        child[i] = -1;
    }
}

void job_start(char **f, int nf) {
    /* f: "S" GPID ARGC ARG... ENVC ENV... (then the NULL slot that fields() adds) */
    const char *name = f[1];
    char why[512] = "";
    if (!job_name_free(name)) {
        return;
    }
    int argc = nf > 3 ? atoi(f[2]) : -1;
    if (argc < 1 || 3 + argc >= nf || atoi(f[3 + argc]) != nf - 4 - argc) {
        job_refuse_start(name, "malformed request");
        return;
    }
    struct job_spec s;
    if (job_parse(argc, f + 3, &s, why, sizeof why) < 0) {
        job_refuse_start(name, why);
        return;
    }
    f[3 + argc] = NULL; /* the command ends where the ENVC field was */
    s.envp = f + 4 + argc;
    struct job *j = job_claim(name);
    if (!j) {
        snprintf(why, sizeof why, "the node's keeper holds %d jobs, its limit: start this one when some have ended", MAX_JOBS);
        job_refuse_start(name, why);
        return;
    }
    j->uid = s.switch_ids ? s.uid : geteuid();
    j->gid = s.switch_ids ? s.gid : getegid();
    j->flags = (s.tty ? F_TTY : 0) | (s.detached ? F_DETACHED : 0) | (s.pidns ? F_PIDNS : 0);
    int child[3] = {-1, -1, -1}, report[2] = {-1, -1}, status[2] = {-1, -1};
    pid_t pid = -1;
    if (open_stdio(j, &s, child, why, sizeof why) == 0) {
        if (pipe2(report, O_CLOEXEC) < 0 || pipe2(status, O_CLOEXEC) < 0) {
            snprintf(why, sizeof why, "pipe: %s", strerror(errno));
        } else if ((pid = job_fork(&s)) == 0) {
            job_child(&s, child[0], child[1], child[2], report[1], status[1]);
        } else if (pid < 0) {
            snprintf(why, sizeof why, "fork: %s", strerror(errno));
        }
    }
    close_child_ends(child);
    close_fd(&report[1]);
    close_fd(&status[1]);
    if (pid < 0) {
        close_fd(&report[0]);
        close_fd(&status[0]);
        if (s.detached) {
            unlinkat(logs_dir, j->name, AT_REMOVEDIR); /* fails while files are in it: left for the daemon's pruning */
        }
        job_release(j);
        job_refuse_start(name, why);
        return;
    }
    j->root = pid;
    j->report = report[0];
    j->status = status[0];
    set_nonblocking(j->report);
    set_nonblocking(j->status);
    j->state = STARTING;
}

static void pump_ended(struct job *j, struct pump *p) {
    int output = p->output;
    pump_stop(p);
    if (output && (j->flags & F_TTY)) {
        pump_stop(&j->pumps[1]); /* the terminal is gone: no more input for it either */
        if (j->flags & F_CLOSING) {
            close_fd(&j->master);
            close_fd(&j->out_relay[1]); /* the daemon's reader sees the end of the session's output */
        }
    }
    job_check_done(j);
}

/* Moves bytes: reads when the buffer is empty, writes what it holds (a full sink waits for POLLOUT). */
void job_pump_step(struct job *j, struct pump *p) {
    if (!p->buf && !(p->buf = malloc(PUMP_BUFFER))) {
        return; /* no memory now: try again at the next round */
    }
    if (p->len == 0) {
        ssize_t n = read(p->from, p->buf, PUMP_BUFFER);
        if (n < 0 && errno == EAGAIN && (j->flags & F_CLOSING) && p == &j->pumps[0]) {
            pump_ended(j, p); /* all the program wrote is copied: the terminal goes */
            return;
        }
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
