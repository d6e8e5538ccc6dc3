/*
 * gestalt-exec: how every job of a node starts, in one small static program.
 *
 *   gestalt-exec --keeper STATE_DIR
 *       the node's keeper (keeper.c): starts, holds and reaps the node's jobs, and outlives the
 *       daemon that asks it to; the daemon starts it once and talks to it over a Unix socket
 *   gestalt-exec [OPTIONS] -- CMD [ARG...]
 *       one job in the foreground, on this process's stdio (for tests and by hand): the init and
 *       the program exactly as the keeper starts them, with this process waiting for the init
 *   gestalt-exec:init [OPTIONS] -- CMD [ARG...]   (argv[0])
 *       a job's init, executed again inside the job's mount namespace (-p; see job.c)
 *
 * A job (job.c) is an init and below it the program; the options say how:
 *   -p                a PID namespace of its own, the init its PID 1, and a mount namespace
 *                     where /proc is the job's (needs root)
 *   -t ROWS,COLS      a terminal of that size (keeper only: it opens the pty)
 *   -d                detached: output to the job's log files (keeper only)
 *   -m UMASK          the file mode creation mask (octal; default 022)
 *   -r RES=SOFT:HARD  a resource limit (RLIMIT_* number; -1 unlimited), up to 16
 *   -G LIST -g GID -u UID   run as this user: groups ("-" for none), gid, uid (needs root)
 *   -i                clear the inheritable and ambient capabilities
 *   -C DIR            the program's working directory, entered as the user
 * Exit: the job's status as a shell gives it; 255 and one line on stderr for gestalt-exec's own
 * failures; 1, 126 or 127 and bash's message when the program cannot be started.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "job.h"
#include "keeper.h"

const char *me = "gestalt-exec";

static int usage(const char *why) {
    fprintf(stderr, "%s: %s\nUsage: %s --keeper STATE_DIR\n       %s [-p] [-m UMASK] [-r RES=SOFT:HARD]... "
            "[-G LIST -g GID -u UID] [-i] [-C DIR] -- CMD [ARG...]\n", me, why, me, me);
    return FAILED;
}

extern char **environ;

/* One job on this process's own stdio, waited for here. */
static int foreground(int argc, char **argv) {
    struct job_spec s;
    char why[256], cwd[PATH_MAX];
    if (job_parse(argc - 1, argv + 1, &s, why, sizeof why) < 0) {
        return usage(why);
    }
    if (s.tty || s.detached) {
        return usage("-t and -d are the keeper's");
    }
    if (!s.cwd) {
        if (!getcwd(cwd, sizeof cwd)) {
            fprintf(stderr, "%s: getcwd: %s\n", me, strerror(errno));
            return FAILED;
        }
        s.cwd = cwd;
    }
    s.envp = environ;
    int report[2];
    if (pipe2(report, O_CLOEXEC) < 0) {
        fprintf(stderr, "%s: pipe: %s\n", me, strerror(errno));
        return FAILED;
    }
    pid_t init = job_fork(&s);
    if (init < 0) {
        fprintf(stderr, "%s: fork: %s\n", me, strerror(errno));
        return FAILED;
    }
    if (init == 0) {
        /* the program's end is not reported on its own here: this process waits for the init */
        job_child(&s, STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO, report[1], open("/dev/null", O_WRONLY | O_CLOEXEC));
    }
    close(report[1]);
    /* signals are for the job (its init forwards them), not for this waiter */
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    char message[PATH_MAX + 256];
    ssize_t n, len = 0;
    while ((n = read(report[0], message + len, sizeof message - 1 - (size_t) len)) > 0
           || (n < 0 && errno == EINTR)) {
        len += n > 0 ? n : 0;
    }
    message[len] = 0;
    char *space = strchr(message, ' ');
    if (len > 0) {
        fprintf(stderr, "%s: %s\n", me, space ? space + 1 : message);
    }
    int status;
    while (waitpid(init, &status, 0) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "%s: waitpid: %s\n", me, strerror(errno));
            return FAILED;
        }
    }
    return shell_status(status);
}

int main(int argc, char **argv) {
    if (argc >= 1 && strcmp(argv[0], INIT_NAME) == 0) {
        job_init_main(argc, argv); /* a job's init, executed again in the job's mount namespace (job.c) */
    }
    if (argc >= 2 && strcmp(argv[1], "--keeper") == 0) {
        /* --late-status: a fault for the tests (an attached terminal's output ends before its
           program's status is read, as it happens now and then under load; see keeper-jobs.c) */
        int late = argc == 4 && strcmp(argv[3], "--late-status") == 0;
        return argc == 3 || late ? keeper_main(argv[2], late) : usage("--keeper takes the state folder");
    }
    return foreground(argc, argv);
}
