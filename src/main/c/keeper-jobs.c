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

static struct job *claim(const char *name) {
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
static int open_logs(struct job *j) {
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

static void nonblocking(int fd) {
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

/*
 * An attached terminal's program ended: the terminal goes, as sshd closes a session's pty when its
 * shell exits (what is left of the job gets EIO from it). What the program wrote before it ended
 * is copied first: the pump closes the terminal once it has nothing more to read (see pump_step).
 */
static void give_up_terminal(struct job *j) {
    if ((j->flags & F_TTY) && !(j->flags & F_DETACHED)) {
        j->flags |= F_CLOSING;
        pump_stop(&j->pumps[1]); /* no more input for it */
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
    j->program = j->reaped ? -1 : program_of(j->root);
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

void job_start(char **f, int nf) {
    /* f: "S" GPID ARGC ARG... ENVC ENV... (then the NULL slot that fields() adds) */
    const char *name = f[1];
    char why[512] = "";
    if (!valid_name(name)) {
        job_refuse_start(name, "bad job name");
        return;
    }
    if (job_find(name)) {
        job_refuse_start(name, "the keeper holds a job of that name already");
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
    struct job *j = claim(name);
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
    nonblocking(j->report);
    nonblocking(j->status);
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


/* ---- restoring a job checkpointed on another node (CRIU), and letting go of one that moved ---- */

/* Children reaped while no job claimed them: a restored init that ended before its restorer was
   reaped is found here (its pid comes from the restorer's pid file, read only then). */
static struct { pid_t pid; int status; } orphans[64];
static unsigned orphans_next;

void job_note_orphan(pid_t pid, int status) {
    orphans[orphans_next % 64].pid = pid;
    orphans[orphans_next % 64].status = status;
    orphans_next++;
}

static int orphan_status(pid_t pid, int *status) {
    for (int i = 0; i < 64; i++) {
        if (orphans[i].pid == pid && pid > 0) {
            orphans[i].pid = 0;
            *status = orphans[i].status;
            return 1;
        }
    }
    return 0;
}

/* Appends IMAGES/NAME (the job's output on the node it came from) to fd: its log goes on in order. */
static int copy_log(const char *images, const char *name, int fd) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", images, name);
    int from = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (from < 0) {
        return errno == ENOENT ? 0 : -1;
    }
    char buf[65536];
    ssize_t n;
    int ok = 0;
    while ((n = read(from, buf, sizeof buf)) > 0) {
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(fd, buf + off, (size_t) (n - off));
            if (w < 0 && errno == EINTR) {
                continue;
            }
            if (w <= 0) {
                ok = -1;
                break;
            }
            off += w;
        }
        if (ok < 0) {
            break;
        }
    }
    if (n < 0) {
        ok = -1;
    }
    close(from);
    return ok;
}

static void remove_logs(struct job *j) {
    int dir = openat(logs_dir, j->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dir >= 0) {
        unlinkat(dir, "stdout", 0);
        unlinkat(dir, "stderr", 0);
        close(dir);
        unlinkat(logs_dir, j->name, AT_REMOVEDIR);
    }
}

/*
 * The restorer: CRIU, exec'd by this child with the job's new descriptors at fixed numbers (3 the
 * status pipe's write end; 4, 5, 6 the program's stdin, stdout, stderr), the keeper's direct child
 * so that the init it restores (as its sibling, -S) is the keeper's child, as a started one is.
 */
static void exec_restorer(char **args, int status, int in, int out, int err) __attribute__((noreturn));
static void exec_restorer(char **args, int status, int in, int out, int err) {
    int fds[4] = {status, in, out, err};
    for (int i = 0; i < 4; i++) {
        if (fds[i] >= 0 && (fds[i] = fcntl(fds[i], F_DUPFD, 10)) < 0) {
            _exit(FAILED);
        }
    }
    for (int i = 0; i < 4; i++) {
        if (fds[i] >= 0 ? dup2(fds[i], 3 + i) < 0 : (close(3 + i), 0)) { /* none: nothing of the keeper's there */
            _exit(FAILED);
        }
    }
    int null = open("/dev/null", O_RDONLY);
    if (null < 0 || dup2(null, STDIN_FILENO) < 0) {
        _exit(FAILED);
    }
    if (syscall(SYS_close_range, 7, ~0U, 0) < 0) {
        for (int fd = 7; fd < 65536; fd++) {
            close(fd);
        }
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGQUIT, SIG_DFL);
    char *env[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
    execve(args[0], args, env);
    fprintf(stderr, "%s keeper: cannot run %s: %s\n", me, args[0], strerror(errno));
    _exit(FAILED);
}

void job_restore(char **f, int nf) {
    /* f: "R" GPID FLAGS UID GID IMAGES ARGC ARG... (then the NULL slot) */
    const char *name = f[1];
    char why[512] = "";
    if (!valid_name(name)) {
        job_refuse_start(name, "bad job name");
        return;
    }
    if (job_find(name)) {
        job_refuse_start(name, "the keeper holds a job of that name already");
        return;
    }
    int argc = nf > 7 ? atoi(f[6]) : -1;
    if (argc < 1 || 7 + argc != nf || f[5][0] != '/') {
        job_refuse_start(name, "malformed request");
        return;
    }
    int tty = strchr(f[2], 't') != NULL, detached = strchr(f[2], 'd') != NULL;
    if (tty) {
        job_refuse_start(name, "a terminal job cannot be restored yet");
        return;
    }
    struct job *j = claim(name);
    if (!j) {
        snprintf(why, sizeof why, "the node's keeper holds %d jobs, its limit", MAX_JOBS);
        job_refuse_start(name, why);
        return;
    }
    j->uid = (uid_t) atol(f[3]);
    j->gid = (gid_t) atol(f[4]);
    j->flags = F_PIDNS | (detached ? F_DETACHED : 0);
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, status[2] = {-1, -1};
    pid_t pid = -1;
    if (detached) {
        if (open_logs(j) < 0 || copy_log(f[5], "stdout", j->log_out) < 0 || copy_log(f[5], "stderr", j->log_err) < 0) {
            snprintf(why, sizeof why, "cannot create the log files of %s: %s", j->name, strerror(errno));
        }
        out[1] = j->log_out, err[1] = j->log_err;
        j->log_out = j->log_err = -1; /* the job writes them */
    } else if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
        snprintf(why, sizeof why, "pipe: %s", strerror(errno));
    } else {
        j->in_w = in[1], j->out_r = out[0], j->err_r = err[0];
    }
    if (!why[0] && pipe2(status, O_CLOEXEC) < 0) {
        snprintf(why, sizeof why, "pipe: %s", strerror(errno));
    }
    if (!why[0] && !(j->images = strdup(f[5]))) {
        snprintf(why, sizeof why, "out of memory");
    }
    if (!why[0]) {
        f[7 + argc] = NULL;
        if ((pid = fork()) == 0) {
            exec_restorer(f + 7, status[1], in[0], out[1], err[1]);
        } else if (pid < 0) {
            snprintf(why, sizeof why, "fork: %s", strerror(errno));
        }
    }
    close_fd(&in[0]);
    close_fd(&out[1]);
    close_fd(&err[1]);
    close_fd(&status[1]);
    if (pid < 0) {
        close_fd(&status[0]);
        if (detached) {
            remove_logs(j);
        }
        job_release(j);
        job_refuse_start(name, why);
        return;
    }
    j->root = pid;
    j->status = status[0];
    nonblocking(j->status);
    j->state = RESTORING;
}

/* The restored init's pid, as CRIU wrote it to IMAGES/restored.pid. */
static pid_t restored_pid(const char *images) {
    char path[4096], buf[32];
    snprintf(path, sizeof path, "%s/restored.pid", images);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
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
    return pid > 1 ? (pid_t) pid : -1;
}

void job_restorer_ended(struct job *j, int status) {
    pid_t root = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? restored_pid(j->images) : -1;
    if (root < 0 || (j->flags & F_ABANDONED)) {
        if (root > 0) {
            kill(root, SIGKILL); /* nobody waits for it: the copy on the node it came from goes on */
        } else if (!(j->flags & F_ABANDONED)) {
            char why[512];
            snprintf(why, sizeof why, "criu restore %s %d (its log: %s/restore.log)",
                     WIFEXITED(status) ? "exited" : "was killed by signal",
                     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), j->images);
            reply(4, "F", j->name, "255", why);
        }
        if (j->flags & F_DETACHED) {
            remove_logs(j);
        }
        job_release(j);
        return;
    }
    free(j->images);
    j->images = NULL;
    j->root = root;
    j->reaped = 0;
    int st;
    if (orphan_status(root, &st)) {
        j->reaped = 1;
        j->code = shell_status(st);
    }
    j->state = RUNNING;
    j->program = j->reaped ? -1 : program_of(root);
    reply(7, "S", j->name, num(j->root), num(j->program), num(j->in_w), num(j->out_r), num(j->err_r));
    if (j->reaped) {
        job_read_status(j);
    }
    job_check_done(j);
}

void job_moved(struct job *j) {
    if (j->state != RUNNING) {
        return;
    }
    j->flags |= F_MOVED;
    job_signal(j, SIGKILL);
}
