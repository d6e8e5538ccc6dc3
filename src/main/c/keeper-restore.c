/*
 * A job restored from a checkpoint taken on another node (CRIU), and one that moved away: the
 * keeper's R and M requests (see the top of keeper.c). The restorer is CRIU's restore, run as the
 * keeper's direct child with the job's new descriptors at fixed numbers, so that the init it
 * restores (its sibling) is the keeper's child as a started one is.
 */
#define _GNU_SOURCE
#include "keeper-jobs.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "job.h"

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
 * IMAGES/terminal, the terminal of a job that had one, as its node's daemon found it while the
 * job was frozen: "ROWS COLS MODES", MODES as `stty -g` prints them (4 flags, then NCCS control
 * characters, in hex, separated by ':'). 0, or -1 when it is missing or malformed.
 */
static int read_terminal(const char *images, int *rows, int *cols, struct termios *t) {
    char path[4096], buf[1024];
    snprintf(path, sizeof path, "%s/terminal", images);
    if (read_small_file(path, O_NOFOLLOW, buf, sizeof buf) < 0) {
        return -1;
    }
    char *p = buf, *end;
    long r = strtol(p, &end, 10), c = end > p ? strtol(end, &p, 10) : -1;
    if (p == end || r < 0 || r > 65535 || c < 0 || c > 65535 || *p != ' ') {
        return -1;
    }
    *rows = (int) r, *cols = (int) c;
    memset(t, 0, sizeof *t);
    p++;
    for (int i = 0; i < 4 + NCCS; i++) {
        unsigned long v = strtoul(p, &end, 16);
        if (end == p || (*end != (i + 1 < 4 + NCCS ? ':' : '\n') && !(i + 1 == 4 + NCCS && *end == 0))) {
            return -1;
        }
        if (i == 0) {
            t->c_iflag = (tcflag_t) v;
        } else if (i == 1) {
            t->c_oflag = (tcflag_t) v;
        } else if (i == 2) {
            t->c_cflag = (tcflag_t) v;
        } else if (i == 3) {
            t->c_lflag = (tcflag_t) v;
        } else if (v > 255) {
            return -1;
        } else {
            t->c_cc[i - 4] = (cc_t) v;
        }
        p = end + 1;
    }
    return 0;
}

/*
 * A terminal job's new terminal: sized and set as the one it had (see read_terminal), owned by its
 * user, relayed as a started one's; *slave is the job's end, which CRIU gives it in place of the
 * old one.
 */
static int restore_terminal(struct job *j, const char *images, int detached, int *slave, char *why, size_t whylen) {
    int rows, cols;
    struct termios t;
    if (read_terminal(images, &rows, &cols, &t) < 0) {
        snprintf(why, whylen, "the checkpoint has no valid terminal settings");
        return -1;
    }
    if (job_open_terminal(j, rows, cols, j->uid, slave, why, whylen) < 0) {
        return -1;
    }
    if (tcsetattr(*slave, TCSANOW, &t) < 0) {
        snprintf(why, whylen, "cannot set the terminal's modes: %s", strerror(errno));
        return -1;
    }
    return job_terminal_relays(j, detached, why, whylen);
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
    if (!job_name_free(name)) {
        return;
    }
    int argc = nf > 7 ? atoi(f[6]) : -1;
    if (argc < 1 || 7 + argc != nf || f[5][0] != '/') {
        job_refuse_start(name, "malformed request");
        return;
    }
    int tty = strchr(f[2], 't') != NULL, detached = strchr(f[2], 'd') != NULL;
    struct job *j = job_claim(name);
    if (!j) {
        snprintf(why, sizeof why, "the node's keeper holds %d jobs, its limit", MAX_JOBS);
        job_refuse_start(name, why);
        return;
    }
    j->uid = (uid_t) atol(f[3]);
    j->gid = (gid_t) atol(f[4]);
    j->flags = F_PIDNS | (detached ? F_DETACHED : 0) | (tty ? F_TTY : 0);
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, status[2] = {-1, -1};
    pid_t pid = -1;
    if (tty) { /* one terminal: CRIU gives its slave (as stdin's) wherever the old one was */
        if (detached && (job_open_logs(j) < 0 || copy_log(f[5], "stdout", j->log_out) < 0)) {
            snprintf(why, sizeof why, "cannot create the log files of %s: %s", j->name, strerror(errno));
        } else {
            restore_terminal(j, f[5], detached, &in[0], why, sizeof why);
        }
    } else if (detached) {
        if (job_open_logs(j) < 0 || copy_log(f[5], "stdout", j->log_out) < 0 || copy_log(f[5], "stderr", j->log_err) < 0) {
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
    set_nonblocking(j->status);
    j->state = RESTORING;
}

/* The restored init's pid, as CRIU wrote it to IMAGES/restored.pid (never 1: a host pid). */
static pid_t restored_pid(const char *images) {
    char path[4096];
    snprintf(path, sizeof path, "%s/restored.pid", images);
    return pid_in_file(path, O_NOFOLLOW, 2);
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
    j->flags |= F_UNCOMMITTED; /* stopped (criu restore --leave-stopped) until the daemon's C */
    j->program = j->reaped ? -1 : job_program_of(root);
    int fd0 = j->flags & F_TTY ? j->in_relay[1] : j->in_w;
    int fd1 = j->flags & F_TTY ? j->out_relay[0] : j->out_r;
    reply(7, "S", j->name, num(j->root), num(j->program), num(fd0), num(fd1), num(j->err_r));
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
