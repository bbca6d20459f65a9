/*
 * archive_tool.c: torch-model-archiver 0.12, in C: the packing, step by
 * step, as upstream's model_packaging.py does it.  The command line is
 * archive_tool_args.c's, the inputs archive_tool_inputs.c's, the
 * TorchScript export archive_tool_export.c's, the output
 * archive_tool_write.c's.
 *
 * Usage errors exit 2 after argparse's usage lines and its message, as
 * argparse prints them; refusals exit 1 as upstream's exceptions do, with
 * one line on stderr, "{prog}: error: {upstream's text}" (upstream adds
 * a traceback, which we leave out).
 *
 * Added to upstream: --export-torchscript and --example-input (see
 * archive_tool_export.c), and SOURCE_DATE_EPOCH, which, when set, is the
 * time of "createdOn" and of the manifest entry (reproducible archives).
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "archive_tool.h"


static int at_run(at_options_t *o, char *err, size_t errlen);
static int at_check_options(const at_options_t *o, char *err,
    size_t errlen);
static int at_check_name(const char *name);
static int at_check_version(const char *version, char *err, size_t errlen);
static int at_check_export_path(const at_options_t *o, at_job_t *job,
    char *err, size_t errlen);
static int at_check_target(const at_options_t *o, at_job_t *job, char *err,
    size_t errlen);
static int at_collect(const at_options_t *o, at_job_t *job, char *err,
    size_t errlen);
static int at_add_torchscript(const at_options_t *o, at_job_t *job,
    char *err, size_t errlen);
static int at_make_manifest(const at_options_t *o, at_job_t *job, char *err,
    size_t errlen);
static void at_job_free(at_job_t *job);
static time_t at_now(void);


int
main(int argc, char **argv)
{
    int           rc;
    char          err[AT_ERRLEN], *cwd;
    at_options_t  o;

    memset(&o, 0, sizeof(at_options_t));

    o.prog = argc > 0 && argv[0][0] != '\0' ? at_basename(argv[0])
                                            : "archive_tool";
    o.runtime = "python";
    o.archive_format = "default";

    err[0] = '\0';

    rc = at_parse_args(&o, argc, argv, err, sizeof(err));

    if (rc == 1) {
        at_help(&o);
        return 0;
    }

    if (rc != 0) {
        /* argparse's error(): the usage, then the message */
        at_usage(&o, stderr);
        fprintf(stderr, "%s: error: %s\n", o.prog, err);
        return AT_USAGE_ERROR;
    }

    cwd = NULL;

    /* upstream's default is os.getcwd(): its messages show that path */
    if (o.export_path == NULL) {
        cwd = getcwd(NULL, 0);
        if (cwd == NULL) {
            fprintf(stderr, "%s: error: cannot get the current folder: %s\n",
                    o.prog, strerror(errno));
            return 1;
        }

        o.export_path = cwd;
    }

    rc = at_run(&o, err, sizeof(err));

    if (rc != 0) {
        fprintf(stderr, "%s: error: %s\n", o.prog, err);
    }

    free(cwd);

    return rc == 0 ? 0 : 1;
}


void
at_warn(const at_options_t *o, const char *fmt, ...)
{
    va_list  args;

    fprintf(stderr, "%s: warning: ", o->prog);

    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);

    fputc('\n', stderr);
}


/* --- packing ----------------------------------------------------------- */


/* upstream's package_model: validate, check the target, copy, archive */

static int
at_run(at_options_t *o, char *err, size_t errlen)
{
    int       rc;
    at_job_t  job;

    memset(&job, 0, sizeof(at_job_t));

    rc = -1;

    if (at_check_options(o, err, errlen) == 0
        && at_check_export_path(o, &job, err, errlen) == 0
        && at_check_target(o, &job, err, errlen) == 0
        && at_collect(o, &job, err, errlen) == 0
        && at_make_manifest(o, &job, err, errlen) == 0)
    {
        /*
         * Upstream logs this as it checks the target, before it copies
         * anything; here it waits until every input is found and the
         * TorchScript exported, so it never comes before a refusal that
         * leaves the target alone.
         */
        if (job.exists) {
            at_warn(o, "Overwriting %s ...", job.shown);
        }

        rc = at_write_archive(o, &job, err, errlen);
    }

    at_job_free(&job);

    return rc;
}


static int
at_check_options(const at_options_t *o, char *err, size_t errlen)
{
    /* ModelExportUtils.check_model_name_regex_or_exit */
    if (!at_check_name(o->model_name)) {
        snprintf(err, errlen, "Model name contains special characters. The "
                 "allowed regular expression filter for model name is: "
                 "^[A-Za-z0-9][A-Za-z0-9_\\-.]*$");
        return -1;
    }

    if (at_check_version(o->version, err, errlen) != 0) {
        return -1;
    }

    if (o->example_input != NULL && !o->export_torchscript) {
        snprintf(err, errlen, "--example-input is only used with "
                 "--export-torchscript");
        return -1;
    }

    if (o->export_torchscript
        && (o->model_file == NULL || o->serialized_file == NULL))
    {
        snprintf(err, errlen, "--export-torchscript needs --model-file (the "
                 "model's class) and --serialized-file (its state_dict)");
        return -1;
    }

    return 0;
}


/*
 * ^[A-Za-z0-9][A-Za-z0-9_\-.]*$, where Python's '$' would also let a
 * final "\n" through: we do not.
 */

static int
at_check_name(const char *name)
{
    const char  *p;

    if (name == NULL || !((name[0] >= 'A' && name[0] <= 'Z')
                          || (name[0] >= 'a' && name[0] <= 'z')
                          || (name[0] >= '0' && name[0] <= '9')))
    {
        return 0;
    }

    for (p = name + 1; *p != '\0'; p++) {
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')
              || (*p >= '0' && *p <= '9')
              || *p == '_' || *p == '-' || *p == '.'))
        {
            return 0;
        }
    }

    return 1;
}


/*
 * Upstream takes any version and leaves an empty one out of the manifest,
 * which the frontend then refuses ("Model version is not defined."); a
 * '/' cannot be addressed in /predictions/{name}/{version}.
 */

static int
at_check_version(const char *version, char *err, size_t errlen)
{
    const unsigned char  *p;

    if (version[0] == '\0') {
        snprintf(err, errlen, "Invalid model version '': it must not be "
                 "empty (TorchServe refuses an archive without "
                 "modelVersion)");
        return -1;
    }

    for (p = (const unsigned char *) version; *p != '\0'; p++) {
        if (*p == '/' || *p < 0x20 || *p == 0x7f) {
            snprintf(err, errlen, "Invalid model version '%s': it must not "
                     "hold '/' or control characters (it is a part of "
                     "/predictions/{name}/{version})",
                     *p == '/' ? version : "...");
            return -1;
        }
    }

    return 0;
}


/* ModelExportUtils.validate_inputs: the export path (made when writing) */

static int
at_check_export_path(const at_options_t *o, at_job_t *job, char *err,
    size_t errlen)
{
    struct stat  st;

    if (stat(o->export_path[0] ? o->export_path : ".", &st) == -1) {
        if (errno != ENOENT) {
            snprintf(err, errlen, "[Errno %d] %s: '%s'", errno,
                     strerror(errno), o->export_path);
            return -1;
        }

        job->need_mkdir = 1;

    } else if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "Given export-path %s is not a directory. "
                 "Point to a valid export-path directory.", o->export_path);
        return -1;
    }

    return 0;
}


/* check_mar_already_exists, on os.path.join(export_path, file) */

static int
at_check_target(const at_options_t *o, at_job_t *job, char *err,
    size_t errlen)
{
    size_t       len;
    const char  *suffix, *sep;
    struct stat  st;

    job->format = ts_archive_write_format(o->archive_format);
    suffix = ts_archive_write_suffix(job->format);

    len = strlen(o->model_name) + strlen(suffix) + 1;

    job->target = malloc(len);
    if (job->target == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    snprintf(job->target, len, "%s%s", o->model_name, suffix);

    len = strlen(o->export_path);
    sep = (len > 0 && o->export_path[len - 1] != '/') ? "/" : "";
    len += strlen(sep) + strlen(job->target) + 1;

    job->shown = malloc(len);
    if (job->shown == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    snprintf(job->shown, len, "%s%s%s", o->export_path, sep, job->target);

    if (job->need_mkdir || lstat(job->shown, &st) == -1) {
        return 0;
    }

    if (!o->force) {
        snprintf(err, errlen, "%s already exists. Please specify --force/-f "
                 "option to overwrite the model archive output file. See "
                 "-h/--help for more details.", job->shown);
        return -1;
    }

    /* at_run says "Overwriting" once the archive is sure to be written */
    job->exists = 1;

    return 0;
}


/* copy_artifacts, without the copies; the TorchScript exported, if asked */

static int
at_collect(const at_options_t *o, at_job_t *job, char *err, size_t errlen)
{
    if (at_inputs_collect(o, &job->in, err, errlen) != 0) {
        return -1;
    }

    if (o->export_torchscript
        && at_add_torchscript(o, job, err, errlen) != 0)
    {
        return -1;
    }

    at_inputs_sort(&job->in);

    return 0;
}


static int
at_add_torchscript(const at_options_t *o, at_job_t *job, char *err,
    size_t errlen)
{
    int     fd;
    size_t  len;

    fd = at_export_torchscript(o, err, errlen);
    if (fd == -1) {
        return -1;
    }

    len = strlen(o->model_name) + sizeof(".pt");

    job->ts_name = malloc(len);
    if (job->ts_name == NULL) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    snprintf(job->ts_name, len, "%s.pt", o->model_name);

    /* last, so that an extra file of that name cannot replace it */
    if (at_inputs_add_fd(&job->in, job->ts_name, fd, o->serialized_file, err,
                         errlen)
        != 0)
    {
        close(fd);
        return -1;
    }

    return 0;
}


/* Manifest and Model, as upstream fills them */

static int
at_make_manifest(const at_options_t *o, at_job_t *job, char *err,
    size_t errlen)
{
    char           created[32];
    ts_manifest_t  m;

    job->now = at_now();
    ts_manifest_created_on(job->now, created, sizeof(created));

    memset(&m, 0, sizeof(ts_manifest_t));

    m.created_on = created;
    m.runtime = (char *) o->runtime;
    m.model_name = (char *) o->model_name;
    m.handler = (char *) at_basename(o->handler);
    m.model_version = (char *) o->version;
    m.archiver_version = (char *) TS_ARCHIVER_VERSION;

    if (o->export_torchscript) {
        m.serialized_file = job->ts_name;

    } else {
        if (o->serialized_file) {
            m.serialized_file = (char *) at_basename(o->serialized_file);
        }

        if (o->model_file) {
            m.model_file = (char *) at_basename(o->model_file);
        }
    }

    if (o->requirements_file) {
        m.requirements_file = (char *) at_basename(o->requirements_file);
    }

    if (o->config_file) {
        m.config_file = (char *) at_basename(o->config_file);
    }

    job->manifest = ts_manifest_json(&m, &job->mlen);
    if (job->manifest == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    return 0;
}


static void
at_job_free(at_job_t *job)
{
    at_inputs_free(&job->in);
    free(job->manifest);
    free(job->ts_name);
    free(job->shown);
    free(job->target);
}


static time_t
at_now(void)
{
    char        *end;
    const char  *env;
    long long    t;

    /* reproducible-builds.org's convention */
    env = getenv("SOURCE_DATE_EPOCH");

    if (env != NULL && env[0] != '\0') {
        errno = 0;
        t = strtoll(env, &end, 10);

        if (errno == 0 && *end == '\0' && t >= 0) {
            return (time_t) t;
        }
    }

    return time(NULL);
}
