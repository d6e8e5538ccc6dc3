/*
 * One job as gestalt-exec starts it: its spec (parsed from the options the daemon sends), and the
 * code that runs in the job's first process, its init, and in the program below it (job.c). The
 * keeper (keeper.c) and the foreground mode of gestalt-exec.c both start jobs through here.
 */
#ifndef GESTALT_JOB_H
#define GESTALT_JOB_H

#include <sys/resource.h>
#include <sys/types.h>

#define MAX_LIMITS 16
#define MAX_GROUPS 1024
#define FAILED 255      /* gestalt-exec's own failure, as the daemon reports it */
#define REPORT_FD 3     /* in a job's init and program: where a failure to start is reported */
#define STATUS_FD 4     /* in a job's init: where the program's end is reported ("CODE\n") */

extern const char *me;

/* What the options say about a job (see the usage in gestalt-exec.c). */
struct job_spec {
    int pidns;           /* -p: a new PID namespace, the init its PID 1 */
    int tty;             /* -t ROWS,COLS: a terminal of that size (the keeper opens it) */
    int rows, cols;
    int detached;        /* -d: output to the job's log files, input from /dev/null */
    int nlimits;         /* -r RES=SOFT:HARD... */
    struct { int resource; struct rlimit value; } limits[MAX_LIMITS];
    int switch_ids;      /* -G LIST -g GID -u UID */
    uid_t uid;
    gid_t gid;
    int ngroups;
    gid_t groups[MAX_GROUPS];
    int clear_caps;      /* -i */
    mode_t umask;        /* -m OCTAL */
    const char *cwd;     /* -C DIR (entered by the program, as the user) */
    char **argv;         /* after "--" */
    char **args;         /* every option, "--" and the command, as parsed (for the init's re-exec) */
    int nargs;
    int own_proc;        /* the init runs re-executed in the job's mount namespace, with its own /proc */
    char **envp;         /* the program's environment, applied at its execve only */
};

/*
 * Parses options, "--" and the command from args[0..n). Returns 0, or -1 with a one-line reason
 * in why. The spec points into args; cwd defaults to NULL and umask to 022.
 */
int job_parse(int n, char **args, struct job_spec *s, char *why, size_t whylen);

/* The exit status as a shell gives it: N, or 128+N when killed by signal N. */
int shell_status(int wait_status);

/* fork(), or a fork into a new PID and mount namespace (clone with CLONE_NEWPID|CLONE_NEWNS) when
   the spec asks. */
pid_t job_fork(const struct job_spec *s);

/*
 * In the child of job_fork: makes in, out, err its stdio, report its REPORT_FD and status its
 * STATUS_FD, closes every other descriptor, and becomes the job's init. Never returns. A failure
 * before the program's execve is written to the report pipe as "CODE MESSAGE" (then the process
 * exits with CODE); at a successful execve the pipe closes (close-on-exec) without a word. When the
 * program ends, its shell status goes to the status pipe, and the init stays while any other
 * process of the job lives (see job.c).
 */
void job_child(const struct job_spec *s, int in, int out, int err, int report, int status) __attribute__((noreturn));

/* argv[0] of a job's init re-executed in the job's mount namespace (see job.c). */
#define INIT_NAME "gestalt-exec:init"

/*
 * main() of the re-executed init: argv as job_child passed it, environ the program's environment,
 * descriptors 0-4 as job_child left them. Never returns.
 */
void job_init_main(int argc, char **argv) __attribute__((noreturn));

/*
 * The real-time signal the keeper queues to a job's init, with the signal to deliver as its value;
 * with KEEPER_GROUP in it, for the program's process group only even after the program ended (a
 * hang-up reaches what a terminal's would, not what left the session).
 */
int keeper_signal(void);
#define KEEPER_GROUP 0x100

#endif
