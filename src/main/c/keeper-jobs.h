/*
 * The keeper's jobs (keeper-jobs.c): the table, a job's start (its stdio, terminal, log files),
 * its signals, its hang-up, the pumps that copy a terminal's or a hung-up job's output, its end.
 * keeper.c speaks to the daemon and runs the loop; see its top for what the keeper is.
 */
#ifndef GESTALT_KEEPER_JOBS_H
#define GESTALT_KEEPER_JOBS_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "keeper.h"

#define MAX_JOBS 4096
#define PUMP_BUFFER 16384

enum { FREE = 0, STARTING, RUNNING, ENDED, RESTORING };
/* F_CLOSING: an attached terminal whose program ended, closed once its output is copied */
/* F_MOVED: restored on another node; its end here is no end of the job (G, not X) */
/* F_UNCOMMITTED: restored here, stopped, and not yet committed by the daemon (C): killed if the daemon goes */
enum { F_TTY = 1, F_DETACHED = 2, F_PIDNS = 4, F_ABANDONED = 8, F_CLOSING = 16, F_MOVED = 32, F_UNCOMMITTED = 64 };

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
    int status;                  /* read end of the status pipe: the program's end (see job.c) */
    int program_code;            /* the program's shell status once it ended, else -1 */
    char message[512];
    size_t message_len;
    int in_w, out_r, err_r;      /* pipes: the daemon's ends, which the keeper keeps a copy of */
    int master, in_relay[2], out_relay[2];  /* terminals */
    int log_out, log_err;
    struct pump pumps[2];
    char *images;                /* while RESTORING: the image folder (root is the restorer's pid) */
};

extern struct job jobs[MAX_JOBS];
extern int logs_dir;             /* STATE_DIR/logs, opened at start-up */

/* keeper-jobs.c, and keeper-restore.c for R and M */
struct job *job_find(const char *name);
struct job *job_by_root(pid_t pid);
/* "S GPID ARGC ARG... ENVC ENV..." (f ends with a NULL slot): start it, or refuse with F */
void job_start(char **f, int nf);
void job_refuse_start(const char *name, const char *why);
/* a valid name no job has: 1, else 0 after refusing the start with the reason */
int job_name_free(const char *name);
/* a free slot named so (NULL: the table is full); its descriptors -1 */
struct job *job_claim(const char *name);
/* the log folder and files of a detached job, owned by its user (see keeper.c) */
int job_open_logs(struct job *j);
/* the program's pid: the init's one child after the program's execve */
pid_t job_program_of(pid_t root);
/* a small file's text, NUL-terminated, into buf (at most size - 1 bytes; opened with these extra flags); its length, or -1 */
ssize_t read_small_file(const char *path, int flags, char *buf, size_t size);
/* the first number in a small file (opened with these extra flags) when at least min, else -1 */
pid_t pid_in_file(const char *path, int flags, pid_t min);
void set_nonblocking(int fd);
/* a terminal for j: j->master the keeper's, *slave the job's, sized, owned by owner ((uid_t) -1: as is) */
int job_open_terminal(struct job *j, int rows, int cols, uid_t owner, int *slave, char *why, size_t whylen);
/* the pipes and pumps between j's terminal and the daemon (or its log file, detached) */
int job_terminal_relays(struct job *j, int detached, char *why, size_t whylen);
/* "R GPID FLAGS UID GID IMAGES ARGC ARG...": restore a job checkpointed elsewhere (see keeper.c) */
void job_restore(char **f, int nf);
/* the restorer (CRIU) ended with this wait status: the job runs (S), or could not be restored (F) */
void job_restorer_ended(struct job *j, int status);
/* the job was restored on another node: kill it here, and say G (not X) once it is gone */
void job_moved(struct job *j);
/* a child that was no job's when reaped (a restored init can end before its restorer is reaped) */
void job_note_orphan(pid_t pid, int status);
/* the start report pipe is readable, or the init was reaped */
void job_finish_start(struct job *j);
/* reports the end (X) once the init is reaped (the job's last process ended) and the output copied */
void job_check_done(struct job *j);
void job_signal(struct job *j, int sig);
/* the status pipe is readable (or the init was reaped): the program ended, P to the daemon */
void job_read_status(struct job *j);
/* quiet: no SIGHUP (the client let go after an interrupt, not a hang-up): only the detaching */
void job_hang_up(struct job *j, int quiet);
void job_close_all(struct job *j);
void job_release(struct job *j);
void job_pump_step(struct job *j, struct pump *p);

/* keeper.c */
void reply(int n, ...);
const char *num(long v);
void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int daemon_connected(void);
void close_fd(int *fd);

#endif
