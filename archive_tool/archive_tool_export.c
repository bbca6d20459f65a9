/*
 * archive_tool_export.c: --export-torchscript, our addition to
 * torch-model-archiver.  An eager model (a model file with one
 * torch.nn.Module class and its state_dict) cannot be served without
 * Python, so Debian's python3-torch, which whoever trained the model has,
 * turns it into TorchScript here, at packing time.
 *
 * The helper (export_torchscript.py) is found, in this order:
 * $ARCHIVE_TOOL_EXPORT_SCRIPT; next to the executable; in
 * ../share/archive_tool/ from it (make install); in ../archive_tool/ from
 * it (the source tree, for build/archive_tool).  The executable's folder
 * is /proc/self/exe's, so a torch-model-archiver symlink finds it too.
 *
 * Python runs with "-s -B" and, of the caller's PYTHON* variables, only
 * PYTHONPATH (a model file may import the project's modules): no user
 * site-packages, no PYTHONSTARTUP or PYTHONINSPECT, no __pycache__ written
 * next to the model file (we write nothing outside --export-path), and
 * PYTHONHASHSEED=0, since TorchScript writes a module's constants in the
 * order of a Python set: the same model then gives the same bytes (-I
 * would drop PYTHONHASHSEED too).  Its stdin is /dev/null; its
 * stdout and stderr go to a memfd, shown only on failure (its last line
 * "export_torchscript: ..." becomes our one-line error); the TorchScript
 * comes back through another memfd as its descriptor 3.  No timeout:
 * scripting a large model takes what it takes.
 */

/* renameat2, memfd_create */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "archive_tool.h"


#define AT_LOG_TAIL     65536
#define AT_MSG_MAX      600
#define AT_ERR_PREFIX   "export_torchscript: "

/* fds above the three standard ones and the child's 3 */
#define AT_HIGH_FD      10


extern char  **environ;


static int at_spawn_python(const char *python, char *script,
    const at_options_t *o, int log, int out, char **env, pid_t *pid,
    char *err, size_t errlen);
static int at_wait_python(pid_t pid, const char *python, const char *script,
    int log, char *err, size_t errlen);
static int at_find_script(char *path, size_t size, char *err,
    size_t errlen);
static int at_memfd(const char *name, char *err, size_t errlen);
static char **at_python_env(void);
static void at_log_message(int log, char *msg, size_t size);


int
at_export_torchscript(const at_options_t *o, char *err, size_t errlen)
{
    int           log, out;
    char          script[PATH_MAX];
    char        **env;
    pid_t         pid;
    const char   *python;
    struct stat   st;

    log = -1;
    out = -1;
    env = NULL;

    if (o->model_file == NULL || o->serialized_file == NULL) {
        snprintf(err, errlen, "--export-torchscript needs --model-file (the "
                 "model's class) and --serialized-file (its state_dict)");
        return -1;
    }

    python = getenv(AT_PYTHON_ENV);
    if (python == NULL || python[0] == '\0') {
        python = AT_PYTHON;
    }

    if (at_find_script(script, sizeof(script), err, errlen) != 0) {
        return -1;
    }

    log = at_memfd("archive_tool-python-log", err, errlen);
    if (log == -1) {
        goto failed;
    }

    out = at_memfd("archive_tool-torchscript", err, errlen);
    if (out == -1) {
        goto failed;
    }

    env = at_python_env();
    if (env == NULL) {
        snprintf(err, errlen, "out of memory");
        goto failed;
    }

    if (at_spawn_python(python, script, o, log, out, env, &pid, err, errlen)
        != 0
        || at_wait_python(pid, python, script, log, err, errlen) != 0)
    {
        goto failed;
    }

    if (fstat(out, &st) == -1 || st.st_size == 0) {
        snprintf(err, errlen, "--export-torchscript: %s wrote no "
                 "TorchScript", script);
        goto failed;
    }

    close(log);
    free(env);

    return out;

failed:

    free(env);

    if (log != -1) {
        close(log);
    }

    if (out != -1) {
        close(out);
    }

    return -1;
}


/* python -s -B script model_file serialized_file 3 [example_input] */
static int
at_spawn_python(const char *python, char *script, const at_options_t *o,
    int log, int out, char **env, pid_t *pid, char *err, size_t errlen)
{
    int                          rc;
    char                        *argv[9];
    posix_spawn_file_actions_t   fa;

    argv[0] = (char *) python;
    argv[1] = (char *) "-s";
    argv[2] = (char *) "-B";
    argv[3] = script;
    argv[4] = (char *) o->model_file;
    argv[5] = (char *) o->serialized_file;
    argv[6] = (char *) "3";
    argv[7] = (char *) o->example_input;        /* may end the list */
    argv[8] = NULL;

    if (posix_spawn_file_actions_init(&fa) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    /* stdin /dev/null, stdout and stderr the log, 3 the TorchScript */
    if (posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)
        != 0
        || posix_spawn_file_actions_adddup2(&fa, log, 1) != 0
        || posix_spawn_file_actions_adddup2(&fa, log, 2) != 0
        || posix_spawn_file_actions_adddup2(&fa, out, 3) != 0)
    {
        posix_spawn_file_actions_destroy(&fa);
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    rc = posix_spawn(pid, python, &fa, NULL, argv, env);
    posix_spawn_file_actions_destroy(&fa);

    if (rc != 0) {
        snprintf(err, errlen, "--export-torchscript: cannot run %s: %s "
                 "(it needs Debian's python3 with python3-torch; %s names "
                 "another Python)", python, strerror(rc), AT_PYTHON_ENV);
        return -1;
    }

    return 0;
}


/* its exit: 0, or the error with the helper's own last words */
static int
at_wait_python(pid_t pid, const char *python, const char *script, int log,
    char *err, size_t errlen)
{
    int   status;
    char  msg[AT_MSG_MAX];

    while (waitpid(pid, &status, 0) == -1) {
        if (errno != EINTR) {
            snprintf(err, errlen, "--export-torchscript: waitpid: %s",
                     strerror(errno));
            return -1;
        }
    }

    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        return 0;
    }

    at_log_message(log, msg, sizeof(msg));

    if (WIFSIGNALED(status)) {
        snprintf(err, errlen, "--export-torchscript: %s was killed by "
                 "signal %d%s%s", python, WTERMSIG(status),
                 msg[0] ? ": " : "", msg);

    } else if (msg[0] == '\0') {
        snprintf(err, errlen, "--export-torchscript: %s %s exited with "
                 "status %d and said nothing", python, script,
                 WEXITSTATUS(status));

    } else {
        snprintf(err, errlen, "--export-torchscript: %s", msg);
    }

    return -1;
}


static int
at_find_script(char *path, size_t size, char *err, size_t errlen)
{
    char         exe[PATH_MAX], *slash;
    size_t       i;
    ssize_t      n;
    const char  *env;
    static const char  *relative[] = {
        "",                                 /* next to the executable */
        "../share/archive_tool/",           /* make install */
        "../archive_tool/",                 /* build/ in the source tree */
    };

    env = getenv(AT_EXPORT_SCRIPT_ENV);

    if (env != NULL && env[0] != '\0') {
        if (access(env, R_OK) != 0) {
            snprintf(err, errlen, "--export-torchscript: %s=%s: %s",
                     AT_EXPORT_SCRIPT_ENV, env, strerror(errno));
            return -1;
        }

        snprintf(path, size, "%s", env);
        return 0;
    }

    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n == -1) {
        snprintf(err, errlen, "--export-torchscript: cannot find this "
                 "program's folder: /proc/self/exe: %s", strerror(errno));
        return -1;
    }

    exe[n] = '\0';

    slash = strrchr(exe, '/');
    if (slash != NULL) {
        slash[1] = '\0';
    }

    for (i = 0; i < sizeof(relative) / sizeof(relative[0]); i++) {
        if (snprintf(path, size, "%s%s" AT_EXPORT_SCRIPT, exe, relative[i])
            >= (int) size)
        {
            continue;
        }

        if (access(path, R_OK) == 0) {
            return 0;
        }
    }

    snprintf(err, errlen, "--export-torchscript: cannot find "
             AT_EXPORT_SCRIPT " next to %s, in %s../share/archive_tool/ or "
             "%s../archive_tool/ (install it with \"make install\", or name "
             "it in %s)", exe, exe, exe, AT_EXPORT_SCRIPT_ENV);

    return -1;
}


/*
 * Our environment without PYTHON* variables but PYTHONPATH, plus the three
 * we want; the strings are environ's own (only the array is malloc'd).
 */

static char **
at_python_env(void)
{
    char    **env;
    size_t    i, n;

    for (n = 0; environ[n] != NULL; n++) {
        /* count */
    }

    env = malloc((n + 4) * sizeof(char *));
    if (env == NULL) {
        return NULL;
    }

    n = 0;

    for (i = 0; environ[i] != NULL; i++) {
        if (strncmp(environ[i], "PYTHON", 6) != 0
            || strncmp(environ[i], "PYTHONPATH=", 11) == 0)
        {
            env[n++] = environ[i];
        }
    }

    env[n++] = (char *) "PYTHONHASHSEED=0";
    env[n++] = (char *) "PYTHONDONTWRITEBYTECODE=1";
    env[n++] = (char *) "PYTHONNOUSERSITE=1";
    env[n] = NULL;

    return env;
}


/* a memfd high enough that the child's dup2 onto 0..3 never meets it */

static int
at_memfd(const char *name, char *err, size_t errlen)
{
    int  fd, high;

    fd = memfd_create(name, MFD_CLOEXEC);
    if (fd == -1) {
        snprintf(err, errlen, "--export-torchscript: memfd_create: %s",
                 strerror(errno));
        return -1;
    }

    high = fcntl(fd, F_DUPFD_CLOEXEC, AT_HIGH_FD);
    close(fd);

    if (high == -1) {
        snprintf(err, errlen, "--export-torchscript: fcntl: %s",
                 strerror(errno));
        return -1;
    }

    return high;
}


/*
 * The helper's own message (its last "export_torchscript: " line), else
 * the last line Python printed (a traceback's last line names the
 * exception); control characters become spaces, so it stays one line.
 */

static void
at_log_message(int log, char *msg, size_t size)
{
    char         *buf, *line, *end, *mine, *last;
    off_t         off;
    size_t        len, i;
    ssize_t       n;
    struct stat   st;

    msg[0] = '\0';

    if (fstat(log, &st) == -1 || st.st_size == 0) {
        return;
    }

    off = st.st_size > AT_LOG_TAIL ? st.st_size - AT_LOG_TAIL : 0;
    len = (size_t) (st.st_size - off);

    buf = malloc(len + 1);
    if (buf == NULL) {
        return;
    }

    n = pread(log, buf, len, off);
    if (n <= 0) {
        free(buf);
        return;
    }

    buf[n] = '\0';

    mine = NULL;
    last = NULL;

    for (line = buf; *line != '\0'; line = end) {
        end = strchr(line, '\n');

        if (end == NULL) {
            end = line + strlen(line);

        } else {
            *end++ = '\0';
        }

        if (strncmp(line, AT_ERR_PREFIX, sizeof(AT_ERR_PREFIX) - 1) == 0) {
            mine = line + sizeof(AT_ERR_PREFIX) - 1;
        }

        if (line[strspn(line, " \t\r")] != '\0') {
            last = line;
        }
    }

    line = mine ? mine : last;

    if (line != NULL) {
        snprintf(msg, size, "%s", line + (mine ? 0 : strspn(line, " \t")));

        for (i = 0; msg[i] != '\0'; i++) {
            if ((unsigned char) msg[i] < 0x20 || msg[i] == 0x7f) {
                msg[i] = ' ';
            }
        }
    }

    free(buf);
}
