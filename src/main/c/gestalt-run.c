/*
 * gestalt-run: the native client of `gestalt run`, for sessions without a terminal.
 *
 * The CLI is a JVM, and a JVM takes ~22 ms to start before it does anything; `gestalt run`
 * is the command people put in loops and scripts, so its common case gets a client that starts
 * in a millisecond. It speaks the same local protocol as the JVM client (dev.gestalt.rpc.local:
 * frames of {int length, byte type, payload} on the node's Unix socket; see Frame.java and
 * Request.java) and does the same thing, byte for byte: it waits for the node's greeting (the
 * next node if it does not come in time), sends the request with the caller's environment,
 * working directory and umask (the node reads its identity, groups and limits from the kernel),
 * streams stdin within the node's credit, writes stdout and stderr as they come, forwards SIGINT,
 * SIGTERM, SIGHUP and SIGQUIT, and exits with the code the node sends. Everything else, parsing
 * included, is the node's work. It never waits on the node without bound (NodeLink.java): a node
 * silent for ANSWER_TIMEOUT_MS is "not answering" (255), a forwarded signal it does not
 * acknowledge within SIGNAL_RECEIPT_MS ends the client by that signal.
 *
 * What it does not do, it hands to the JVM client (the launcher, run again with
 * GESTALT_JVM_CLIENT=1): --help, anything its strict option parser does not accept (so usage
 * errors are worded by one implementation), and sessions with a terminal (-t, or stdin and
 * stdout both terminals).
 *
 * Usage (by the launcher only): exec -a LAUNCHER gestalt-run run [OPTIONS] [--] CMD [ARG...]
 * As target/gestalt-sh (a link to it), it is make's shell under `gestalt make` (make_shell).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

/* Frame types, limits and times: keep in step with Frame.java. */
enum {
    F_REQUEST = 0x01, F_STDIN = 0x02, F_STDIN_EOF = 0x03, F_SIGNAL = 0x04,
    F_STDOUT = 0x11, F_STDERR = 0x12, F_EXIT = 0x13, F_CREDIT = 0x14, F_HELLO = 0x15,
};
#define PROTOCOL_VERSION 2 /* Request.java's VERSION */
#define MAX_PAYLOAD (1 << 20)
#define MAX_REQUEST (8 << 20)
#define ANSWER_TIMEOUT_MS 10000
#define HELLO_TIMEOUT_MS 5000
#define SIGNAL_RECEIPT_MS 3000
#define IO_BUFFER (256 * 1024) /* read-ahead from the node, and the largest stdin frame */
#define PIPE_DEFAULT 65536
#define FAILED 255             /* Gestalt's own failure, as `gestalt run` reports it */

static char **orig_argv;
static const char *sock_path = "";
static char node_name[256] = "?";

static long long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long) t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* ---- hand-over to the JVM client ---- */

static void jvm_client(void) {
    setenv("GESTALT_JVM_CLIENT", "1", 1);
    execv(orig_argv[0], orig_argv);
    fprintf(stderr, "gestalt: cannot run the launcher %s: %s\n", orig_argv[0], strerror(errno));
    exit(FAILED);
}

/* ---- gestalt-sh: make's shell under `gestalt make` ----
 *
 * `gestalt make` runs make with SHELL=target/gestalt-sh (a link to this program): make runs each
 * recipe line as `gestalt-sh -c LINE`, and a line goes to the cluster as `gestalt run -T --
 * /bin/sh -c LINE` (no terminal: several run at once and share make's). A recursive make (a line
 * with $(MAKE), or one make marks with '+') stays here with /bin/sh: it must reach make's
 * jobserver, a pipe that does not cross nodes; placed elsewhere it would build its whole
 * directory one recipe at a time ("jobserver unavailable: using -j1"). Make (up to 4.3, and
 * 4.4 with --jobserver-style=pipe) leaves the jobserver's descriptors open only in the children
 * it counts as recursive, which is the test here; with a named jobserver (4.4's default, fifo:)
 * every child sees the same, and a line that names make (a word "make", "gmake" or the name make
 * was started as) stays here. GESTALT_MAKE_SHELL names the shell lines run in (default /bin/sh;
 * the launcher sets it to the one the Makefile sets, which make's command line overrides).
 */

static const char *real_shell(void) {
    const char *s = getenv("GESTALT_MAKE_SHELL");
    return s && *s ? s : "/bin/sh";
}

/* Whether `word` occurs in `text` as a word of a command (not inside a longer name like cmake or make.c). */
static int names_word(const char *text, const char *word) {
    size_t n = strlen(word);
    if (n == 0) {
        return 0;
    }
    for (const char *p = strstr(text, word); p; p = strstr(p + 1, word)) {
        char before = p == text ? ' ' : p[-1], after = p[n];
        if (strchr(" \t\n;&|(`'\"/", before) && (after == '\0' || strchr(" \t\n;&|)`'\"", after))) {
            return 1;
        }
    }
    return 0;
}

/* Whether this line is one make counts as a recursive make (see above). */
static int recursive_make(int argc, char **argv) {
    const char *flags = getenv("MAKEFLAGS");
    if (!flags) {
        return 0; /* not run by make, or a make without a jobserver: any node will do */
    }
    const char *auth = NULL;
    for (const char *p = flags; (p = strstr(p, "--jobserver-")) != NULL; p++) { /* the last one counts */
        if (strncmp(p, "--jobserver-auth=", 17) == 0) {
            auth = p + 17;
        } else if (strncmp(p, "--jobserver-fds=", 16) == 0) { /* make before 4.2 */
            auth = p + 16;
        }
    }
    if (!auth) {
        return 0;
    }
    if (strncmp(auth, "fifo:", 5) == 0) {
        const char *line = argc > 1 ? argv[argc - 1] : "";
        char exe[64], path[4096];
        snprintf(exe, sizeof exe, "/proc/%d/exe", (int) getppid());
        ssize_t n = readlink(exe, path, sizeof path - 1);
        const char *name = "";
        if (n > 0) {
            path[n] = '\0';
            name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        }
        return names_word(line, "make") || names_word(line, "gmake") || names_word(line, name);
    }
    int rfd = atoi(auth);
    struct stat st;
    return rfd >= 0 && fstat(rfd, &st) == 0 && S_ISFIFO(st.st_mode);
}

/* Runs make's line here or on the cluster; returns the argv of `gestalt run` for the latter. */
static char **make_shell(int argc, char **argv, int *out_argc) {
    const char *sh = real_shell();
    if (recursive_make(argc, argv)) {
        argv[0] = (char *) sh;
        execv(sh, argv);
        fprintf(stderr, "gestalt-sh: cannot run %s: %s\n", sh, strerror(errno));
        exit(127);
    }
    /* the launcher, for what the JVM client does (gestalt-sh is target/gestalt-sh, beside target/gestalt-run) */
    static char launcher[4096];
    ssize_t n = readlink("/proc/self/exe", launcher, sizeof launcher - 16);
    char *slash = NULL;
    if (n > 0) {
        launcher[n] = '\0';
        if ((slash = strrchr(launcher, '/')) != NULL) { /* .../target/gestalt-run */
            *slash = '\0';
            slash = strrchr(launcher, '/'); /* .../target */
        }
    }
    if (!slash) {
        fputs("gestalt-sh: cannot find the gestalt launcher beside this program\n", stderr);
        exit(FAILED);
    }
    strcpy(slash + 1, "gestalt");
    char **run = calloc((size_t) argc + 6, sizeof *run);
    int k = 0;
    run[k++] = launcher;
    run[k++] = "run";
    run[k++] = "-T";
    run[k++] = "--";
    run[k++] = (char *) sh;
    for (int i = 1; i < argc; i++) {
        run[k++] = argv[i];
    }
    run[k] = NULL;
    *out_argc = k;
    return run;
}

/* ---- options: a strict subset of ArgParser for the spec of `run` ---- */

struct run_options {
    int tty, no_tty, detach;
    int first_operand; /* index in argv of CMD, 0 if none */
};

static int valid_cpus(const char *v) {
    size_t n = strlen(v);
    if (n == 0 || n > 7 || strspn(v, "0123456789") != n) {
        return 0;
    }
    return atol(v) <= 1000000;
}

/* What Sizes.parse surely accepts: digits[.digits][K|M|G|T][i][B], any case. Anything else goes to the JVM. */
static int valid_size(const char *v) {
    const char *p = v;
    size_t d = strspn(p, "0123456789");
    if (d == 0) {
        return 0;
    }
    p += d;
    if (*p == '.') {
        d = strspn(++p, "0123456789");
        if (d == 0) {
            return 0;
        }
        p += d;
    }
    int unit = 0;
    if (*p && strchr("KMGTkmgt", *p)) {
        unit = 1;
        p++;
    }
    if (unit && (*p == 'i' || *p == 'I')) {
        p++;
        if (*p != 'b' && *p != 'B') {
            return 0;
        }
    }
    if (*p == 'b' || *p == 'B') {
        p++;
    }
    return *p == '\0';
}

/* Parses the options of `run` (argv[1] is "run"); hands over to the JVM on anything unusual. */
static void parse_options(int argc, char **argv, struct run_options *o) {
    memset(o, 0, sizeof *o);
    int i = 2;
    while (i < argc) {
        char *a = argv[i++];
        if (strcmp(a, "-") == 0 || a[0] != '-') {
            o->first_operand = i - 1;
            return;
        }
        if (strcmp(a, "--") == 0) {
            if (i < argc) {
                o->first_operand = i;
            }
            return;
        }
        if (a[1] == '-') {
            char *name = a + 2, *eq = strchr(name, '='), *value = NULL;
            size_t len = eq ? (size_t) (eq - name) : strlen(name);
            if (eq) {
                value = eq + 1;
            }
#define IS(s) (len == strlen(s) && strncmp(name, s, len) == 0)
            if (IS("tty") || IS("no-tty") || IS("detach") || IS("explain") || IS("no-migrate")) {
                if (value) {
                    jvm_client();
                }
                o->tty |= IS("tty");
                o->no_tty |= IS("no-tty");
                o->detach |= IS("detach");
            } else if (IS("node") || IS("cpus") || IS("mem")) {
                if (!value) {
                    if (i >= argc) {
                        jvm_client();
                    }
                    value = argv[i++];
                }
                if ((IS("cpus") && !valid_cpus(value)) || (IS("mem") && !valid_size(value))) {
                    jvm_client();
                }
            } else {
                jvm_client(); /* --help, or unknown: the JVM words it */
            }
#undef IS
            continue;
        }
        for (char *c = a + 1; *c; c++) {
            if (*c == 'n') {
                if (c[1] == '\0' && i++ >= argc) {
                    jvm_client();
                }
                break;
            } else if (*c == 't') {
                o->tty = 1;
            } else if (*c == 'T') {
                o->no_tty = 1;
            } else if (*c == 'd') {
                o->detach = 1;
            } else {
                jvm_client();
            }
        }
    }
}

/* ---- the request frame (Request.toFrame) ---- */

struct buf {
    unsigned char *p;
    size_t n, cap;
};

static void need(struct buf *b, size_t more) {
    if (b->n + more > b->cap) {
        b->cap = (b->n + more) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p) {
            fputs("gestalt: out of memory\n", stderr);
            exit(FAILED);
        }
    }
}

static void put8(struct buf *b, int v) {
    need(b, 1);
    b->p[b->n++] = (unsigned char) v;
}

static void put32(struct buf *b, uint32_t v) {
    need(b, 4);
    b->p[b->n++] = v >> 24;
    b->p[b->n++] = v >> 16;
    b->p[b->n++] = v >> 8;
    b->p[b->n++] = v;
}

static void put_bytes(struct buf *b, const char *s, size_t len) {
    put32(b, (uint32_t) len);
    need(b, len);
    memcpy(b->p + b->n, s, len);
    b->n += len;
}

static void put_str(struct buf *b, const char *s) {
    put_bytes(b, s, strlen(s));
}

extern char **environ;

static struct buf request(int argc, char **argv, int stdout_tty) {
    struct buf b = {0};
    put32(&b, 0); /* frame length, filled in below */
    put8(&b, F_REQUEST);
    put8(&b, PROTOCOL_VERSION);
    put_str(&b, "run");
    put32(&b, (uint32_t) (argc - 2));
    for (int i = 2; i < argc; i++) {
        put_str(&b, argv[i]);
    }
    /* the environment as Java's System.getenv() has it: NAME=VALUE entries only */
    uint32_t count = 0;
    for (char **e = environ; *e; e++) {
        count += strchr(*e, '=') != NULL;
    }
    put32(&b, count);
    for (char **e = environ; *e; e++) {
        char *eq = strchr(*e, '=');
        if (eq) {
            put_bytes(&b, *e, (size_t) (eq - *e));
            put_str(&b, eq + 1);
        }
    }
    char *cwd = getcwd(NULL, 0);
    if (!cwd) {
        jvm_client(); /* a deleted working directory: the JVM client reports what it reports */
    }
    put_str(&b, cwd);
    mode_t mask = umask(0);
    umask(mask);
    put32(&b, mask);
    put8(&b, 0); /* no terminal: those sessions are the JVM client's */
    put8(&b, stdout_tty);
    put32(&b, 0);
    put32(&b, 0);
    uint32_t len = (uint32_t) (b.n - 4);
    b.p[0] = len >> 24;
    b.p[1] = len >> 16;
    b.p[2] = len >> 8;
    b.p[3] = len;
    return b;
}

/* ---- finding the node (NodeLocator) ---- */

#define MAX_CANDIDATES 64

static int read_pointer(const char *home, char **out, int n) {
    char path[4096];
    snprintf(path, sizeof path, "%s/current", home);
    FILE *f = fopen(path, "re");
    if (!f) {
        return n;
    }
    char line[4096];
    while (n < MAX_CANDIDATES && fgets(line, sizeof line, f)) {
        char *s = line, *e = line + strlen(line);
        while (*s == ' ' || *s == '\t') {
            s++;
        }
        while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t')) {
            *--e = '\0';
        }
        if (*s && *s != '#') {
            out[n++] = strdup(s);
        }
    }
    fclose(f);
    return n;
}

/* Reads exactly the n bytes of the greeting's frame, waiting at most until the deadline: 0, -1 closed, -2 timeout. */
static int read_exactly(int fd, unsigned char *p, size_t n, long long deadline) {
    while (n > 0) {
        long long left = deadline - now_ms();
        struct pollfd pfd = {fd, POLLIN, 0};
        int k = poll(&pfd, 1, left > 0 ? (int) left : 0);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k == 0) {
            return -2;
        }
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return -1;
        }
        p += r;
        n -= (size_t) r;
    }
    return 0;
}

/* Waits for the node's greeting (HELLO and its name): 0, -1 closed, -2 not in time, -3 not a greeting. */
static int read_hello(int fd, int timeout_ms) {
    long long deadline = now_ms() + timeout_ms;
    unsigned char h[5];
    int r = read_exactly(fd, h, 5, deadline);
    if (r != 0) {
        return r;
    }
    uint32_t len = (uint32_t) h[0] << 24 | (uint32_t) h[1] << 16 | (uint32_t) h[2] << 8 | h[3];
    if (h[4] != F_HELLO || len < 1 || len - 1 >= sizeof node_name) {
        return -3;
    }
    r = read_exactly(fd, (unsigned char *) node_name, len - 1, deadline);
    node_name[r == 0 ? len - 1 : 0] = '\0';
    return r;
}

static int connect_node(void) {
    char *candidates[MAX_CANDIDATES];
    int n = 0;
    const char *explicit_node = getenv("GESTALT_NODE");
    /* a socket's path; a job's GESTALT_NODE names the node it runs on, not a socket (NodeLocator) */
    if (explicit_node && strchr(explicit_node, '/')) {
        candidates[n++] = (char *) explicit_node;
    } else {
        int root = getuid() == 0;
        char home[4096];
        const char *gh = getenv("GESTALT_HOME"), *xdg = getenv("XDG_STATE_HOME");
        if (gh && *gh) {
            snprintf(home, sizeof home, "%s", gh);
        } else if (root) {
            snprintf(home, sizeof home, "/var/lib/gestalt");
        } else if (xdg && *xdg) {
            snprintf(home, sizeof home, "%s/gestalt", xdg);
        } else {
            struct passwd *pw = getpwuid(getuid());
            const char *h = pw ? pw->pw_dir : getenv("HOME");
            snprintf(home, sizeof home, "%s/.local/state/gestalt", h ? h : "?");
        }
        n = read_pointer(home, candidates, n);
        if (!root && strcmp(home, "/var/lib/gestalt") != 0) {
            n = read_pointer("/var/lib/gestalt", candidates, n);
        }
        if (n == 0 && access("/run/gestalt/node.sock", F_OK) == 0) {
            candidates[n++] = "/run/gestalt/node.sock";
        }
    }
    if (n == 0) {
        fputs("gestalt: no Gestalt node found: start a local cluster with 'gestalt cluster up'"
              " or set GESTALT_NODE to a node's socket\n", stderr);
        exit(FAILED);
    }
    const char *why = NULL;
    static char not_answering[4200];
    for (int i = 0; i < n; i++) {
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        if (strlen(candidates[i]) >= sizeof addr.sun_path) {
            why = "Unix domain path too long";
            continue;
        }
        strcpy(addr.sun_path, candidates[i]);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            why = strerror(errno);
            continue;
        }
        if (connect(fd, (struct sockaddr *) &addr, sizeof addr) != 0) {
            why = strerror(errno);
            close(fd);
            continue;
        }
        int r = read_hello(fd, i == n - 1 ? ANSWER_TIMEOUT_MS : HELLO_TIMEOUT_MS);
        if (r == 0) {
            sock_path = candidates[i];
            return fd;
        }
        if (r == -2) {
            snprintf(not_answering, sizeof not_answering, "the node at %s is not answering", candidates[i]);
            why = not_answering;
        } else {
            why = r == -3 ? "the node does not speak this protocol: use the same Gestalt version for CLI and node"
                          : "the node closed the connection";
        }
        close(fd);
    }
    if (n == 1) {
        fprintf(stderr, "gestalt: cannot reach a Gestalt node (tried 1 socket %s: %s)\n", candidates[0], why);
    } else {
        fprintf(stderr, "gestalt: cannot reach a Gestalt node (tried %d sockets: %s)\n", n, why);
    }
    exit(FAILED);
}

/* ---- the session ---- */

static int sig_pipe[2] = {-1, -1};

static void on_signal(int sig) {
    int saved = errno;
    unsigned char b = (unsigned char) sig;
    if (write(sig_pipe[1], &b, 1) < 0) {
        /* the pipe is full: that many signals are already on their way */
    }
    errno = saved;
}

static int sock = -1;
static long long last_rx;          /* when a byte last came from the node */
static int pending_sig;            /* a forwarded signal no byte has followed yet, or 0 */
static long long pending_since;
static int pending_written;
static int request_failed;         /* the node closed before taking the request: read why */

static void lost(const char *what) {
    fprintf(stderr, "gestalt: lost the connection to node %s (%s): %s\n", node_name, sock_path, what);
    exit(FAILED);
}

static void not_answering(void) {
    fprintf(stderr, "gestalt: node %s not answering\n", node_name);
    exit(FAILED);
}

/* The node did not acknowledge a signal: end as that signal ends a program. */
static void signal_not_delivered(void) {
    const char *name = pending_sig == SIGINT ? "INT" : pending_sig == SIGTERM ? "TERM" : pending_sig == SIGHUP ? "HUP" : "QUIT";
    fprintf(stderr, "gestalt: node %s not answering: SIG%s not delivered\n", node_name, name);
    signal(pending_sig, SIG_DFL);
    sigset_t all;
    sigemptyset(&all);
    sigaddset(&all, pending_sig);
    sigprocmask(SIG_UNBLOCK, &all, NULL);
    raise(pending_sig);
    exit(128 + pending_sig);
}

/* A write to the node made no progress for a while (SO_SNDTIMEO): is the node still there? */
static void check_stuck_write(void) {
    long long now = now_ms();
    if (pending_sig && !pending_written && now - pending_since >= SIGNAL_RECEIPT_MS) {
        signal_not_delivered();
    }
    struct pollfd pfd = {sock, POLLIN, 0};
    if (now - last_rx >= ANSWER_TIMEOUT_MS && poll(&pfd, 1, 0) == 0) {
        not_answering();
    }
}

/* Writes the whole buffer to the node (a signal does not cut a frame): 0, or the errno that stopped it. */
static int write_all(const void *p, size_t n) {
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(sock, c, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                check_stuck_write();
                continue;
            }
            return errno;
        }
        c += w;
        n -= (size_t) w;
    }
    return 0;
}

static void send_all(const void *p, size_t n) {
    int e = write_all(p, n);
    if (e) {
        lost(strerror(e));
    }
}

static void send_frame(int type, const void *payload, uint32_t len) {
    unsigned char h[5] = {(len + 1) >> 24, (len + 1) >> 16, (len + 1) >> 8, len + 1, (unsigned char) type};
    struct iovec v[2] = {{h, 5}, {(void *) payload, len}};
    ssize_t w;
    for (;;) {
        w = writev(sock, v, len ? 2 : 1);
        if (w >= 0 || errno != EINTR) {
            if (w >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
                break;
            }
            check_stuck_write();
        }
    }
    if (w < 0) {
        lost(strerror(errno));
    }
    if ((size_t) w < 5 + len) {
        size_t done = (size_t) w;
        if (done < 5) {
            send_all(h + done, 5 - done);
            done = 5;
        }
        send_all((const char *) payload + (done - 5), len - (done - 5));
    }
}

/* Sends the signals caught since the last call, in order. */
static void forward_signals(void) {
    unsigned char sigs[64];
    ssize_t n;
    while ((n = read(sig_pipe[0], sigs, sizeof sigs)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            unsigned char p[4] = {0, 0, 0, sigs[i]};
            if (!pending_sig) {
                pending_sig = sigs[i];
                pending_since = now_ms();
                pending_written = 0;
            }
            send_frame(F_SIGNAL, p, 4);
            pending_written = 1;
        }
    }
}

/* Writes output to fd 1 or 2; a signal meanwhile is forwarded at once (a stopped reader must not hold up Ctrl-C). */
static void output(int fd, const unsigned char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) {
                forward_signals();
                continue;
            }
            if (errno == EPIPE) {
                /* our reader is gone: end as a local program would, by SIGPIPE; the node then
                   sees the session end and terminates the process group */
                signal(SIGPIPE, SIG_DFL);
                raise(SIGPIPE);
            }
            fprintf(stderr, "gestalt: cannot write the output: %s\n", strerror(errno));
            exit(FAILED);
        }
        p += w;
        n -= (size_t) w;
    }
}

static uint32_t be32(const unsigned char *p) {
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

/* The frame parser: a header, then a payload streamed out (stdout, stderr) or collected (credit, exit). */
struct parser {
    unsigned char head[5];
    size_t head_have;
    int in_payload, type;
    uint32_t left;
    unsigned char small[4];
    size_t small_have;
};

static int64_t credit; /* stdin bytes the node will take */

/* Consumes bytes from the node; returns the exit code once the EXIT frame is complete, else -1. */
static int consume(struct parser *ps, const unsigned char *p, size_t n) {
    while (n > 0) {
        if (!ps->in_payload) {
            size_t take = 5 - ps->head_have < n ? 5 - ps->head_have : n;
            memcpy(ps->head + ps->head_have, p, take);
            ps->head_have += take;
            p += take;
            n -= take;
            if (ps->head_have < 5) {
                return -1;
            }
            uint32_t len = be32(ps->head);
            if (len < 1 || len - 1 > MAX_PAYLOAD) {
                char why[64];
                snprintf(why, sizeof why, "bad frame length %d", (int32_t) len);
                lost(why);
            }
            ps->head_have = 0;
            ps->type = ps->head[4];
            ps->left = len - 1;
            ps->small_have = 0;
            ps->in_payload = 1;
        } else {
            size_t take = ps->left < n ? ps->left : n;
            if (ps->type == F_STDOUT || ps->type == F_STDERR) {
                output(ps->type == F_STDOUT ? 1 : 2, p, take);
            } else {
                for (size_t i = 0; i < take && ps->small_have < sizeof ps->small; i++) {
                    ps->small[ps->small_have++] = p[i];
                }
            }
            ps->left -= (uint32_t) take;
            p += take;
            n -= take;
        }
        if (ps->in_payload && ps->left == 0) {
            ps->in_payload = 0;
            int complete = ps->small_have == 4;
            if (ps->type == F_CREDIT && complete) {
                credit += be32(ps->small);
            } else if (ps->type == F_EXIT && complete) {
                return (int) (be32(ps->small) & 0xff);
            }
        }
    }
    return -1;
}

/* Keeps fds 0-2 open (/dev/null where closed), so that no socket or pipe lands on them; true if stdin was closed. */
static int open_std_fds(void) {
    int stdin_closed = 0;
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
            int n = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
            if (n != fd) {
                fputs("gestalt: cannot open /dev/null\n", stderr);
                exit(FAILED);
            }
            stdin_closed |= fd == 0;
        }
    }
    return stdin_closed;
}

int main(int argc, char **argv) {
    const char *self = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    if (strcmp(self, "gestalt-sh") == 0) {
        argv = make_shell(argc, argv, &argc);
    }
    orig_argv = argv;
    const char *marker = getenv("GESTALT_JVM_CLIENT");
    if (marker && *marker) {
        fputs("gestalt: gestalt-run was started with GESTALT_JVM_CLIENT set (a loop through the launcher?)\n", stderr);
        return FAILED;
    }
    if (argc < 2 || strcmp(argv[1], "run") != 0) {
        jvm_client();
    }
    struct run_options o;
    parse_options(argc, argv, &o);
    if (!o.first_operand || (o.tty && o.no_tty)) {
        jvm_client(); /* usage errors */
    }
    int stdin_closed = open_std_fds();
    int stdin_tty = isatty(0), stdout_tty = isatty(1);
    int tty = o.detach ? o.tty : !o.no_tty && (o.tty || (stdin_tty && stdout_tty));
    if (tty) {
        jvm_client();
    }

    struct buf req = request(argc, argv, stdout_tty);
    if (req.n - 5 > MAX_REQUEST) {
        fprintf(stderr, "gestalt run: arguments and environment take %zu bytes, more than the %d a node takes\n",
                req.n - 5, MAX_REQUEST);
        return FAILED;
    }
    signal(SIGPIPE, SIG_IGN);
    if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        perror("gestalt: pipe");
        return FAILED;
    }
    sock = connect_node();
    last_rx = now_ms();
    /* writes give up now and then to see whether the node is still there (check_stuck_write) */
    struct timeval tv = {0, 500 * 1000};
    setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    /* a node that refuses the request closes before it took it all, and says why in the frames read next */
    request_failed = write_all(req.p, req.n) != 0;
    free(req.p);

    /* after the request, as the JVM client does: a signal before it has nowhere to go */
    static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++) {
        struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: a blocked write returns to forward it */
        sigemptyset(&sa.sa_mask);
        sigaction(forwarded[i], &sa, NULL);
    }

    /* a detached process gets no stdin from here; a closed stdin is an empty one, whose EOF the
       node learns once it grants credit */
    int stdin_open = !o.detach && !stdin_closed && !request_failed;
    int eof_pending = !o.detach && stdin_closed && !request_failed;
    int resized = 0;
    static unsigned char in[IO_BUFFER], data[IO_BUFFER];
    struct parser ps = {0};
    for (;;) {
        forward_signals();
        if (eof_pending && credit > 0) {
            send_frame(F_STDIN_EOF, NULL, 0);
            eof_pending = 0;
        }
        struct pollfd fds[3] = {
            {sock, POLLIN, 0},
            {sig_pipe[0], POLLIN, 0},
            {0, POLLIN, 0},
        };
        int nfds = stdin_open && credit > 0 ? 3 : 2;
        long long now = now_ms(), deadline = last_rx + ANSWER_TIMEOUT_MS;
        if (pending_sig && pending_since + SIGNAL_RECEIPT_MS < deadline) {
            deadline = pending_since + SIGNAL_RECEIPT_MS;
        }
        int ready = poll(fds, nfds, deadline > now ? (int) (deadline - now) : 0);
        if (ready < 0) {
            if (errno == EINTR) {
                continue;
            }
            perror("gestalt: poll");
            return FAILED;
        }
        if (ready == 0) {
            now = now_ms();
            if (pending_sig && now - pending_since >= SIGNAL_RECEIPT_MS) {
                signal_not_delivered();
            }
            if (now - last_rx >= ANSWER_TIMEOUT_MS) {
                not_answering();
            }
            continue;
        }
        if (fds[0].revents) {
            ssize_t r = read(sock, in, sizeof in);
            if (r < 0 && errno == EINTR) {
                continue;
            }
            if (r < 0) {
                lost(strerror(errno));
            }
            last_rx = now_ms();
            pending_sig = 0;
            if (r == 0) {
                if (ps.in_payload || ps.head_have) {
                    lost("connection closed in the middle of a frame");
                }
                fprintf(stderr, "gestalt: node %s closed the connection\n", node_name);
                return FAILED;
            }
            int code = consume(&ps, in, (size_t) r);
            if (code >= 0) {
                return code;
            }
        }
        if (nfds == 3 && fds[2].revents) {
            size_t want = credit < (int64_t) sizeof data ? (size_t) credit : sizeof data;
            ssize_t r = read(0, data, want);
            if (r < 0 && (errno == EINTR || errno == EAGAIN)) {
                continue;
            }
            if (r <= 0) { /* end of input, or an error reading it: the program sees EOF either way */
                send_frame(F_STDIN_EOF, NULL, 0);
                stdin_open = 0;
                continue;
            }
            if (r == PIPE_DEFAULT && !resized) {
                /* a full default pipe: bulk input; a bigger pipe gives bigger reads (Pipes.resize) */
                resized = 1;
                fcntl(0, F_SETPIPE_SZ, IO_BUFFER * 4);
            }
            credit -= r;
            send_frame(F_STDIN, data, (uint32_t) r);
        }
    }
}
