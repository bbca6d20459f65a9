/*
 * archive_tool.h: our torch-model-archiver (0.12), shared by the packing
 * steps (archive_tool.c), the command line (archive_tool_args.c), the
 * input collection (archive_tool_inputs.c), the TorchScript export
 * (archive_tool_export.c) and the output (archive_tool_write.c).
 */

#ifndef ARCHIVE_TOOL_H
#define ARCHIVE_TOOL_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "ts_archive_write.h"


#define AT_ERRLEN               1024

/* argparse's exit status for a usage error; a refusal exits 1 */
#define AT_USAGE_ERROR          2

/* the Python that --export-torchscript runs, and how to override it */
#define AT_PYTHON               "/usr/bin/python3"
#define AT_PYTHON_ENV           "ARCHIVE_TOOL_PYTHON"
#define AT_EXPORT_SCRIPT        "export_torchscript.py"
#define AT_EXPORT_SCRIPT_ENV    "ARCHIVE_TOOL_EXPORT_SCRIPT"


typedef struct {
    const char  *prog;              /* argv[0]'s base name, for messages */
    const char  *model_name;
    const char  *serialized_file;
    const char  *model_file;
    const char  *handler;
    const char  *extra_files;
    const char  *runtime;
    const char  *export_path;
    const char  *archive_format;
    const char  *version;
    const char  *requirements_file;
    const char  *config_file;
    const char  *example_input;
    unsigned     force:1;
    unsigned     export_torchscript:1;
} at_options_t;


/*
 * One entry of the archive to be: a file copied from path (or from the
 * descriptor fd, for the TorchScript the export made), or a folder.
 * Folders are kept only to refuse what upstream's copytree refuses (a
 * folder copied where one already is); they are not written.
 */
typedef struct {
    char        *name;              /* relative, '/'-separated */
    char        *path;              /* the source, as given or joined */
    int          fd;                /* -1: read path */
    unsigned     dir:1;
} at_entry_t;


typedef struct {
    at_entry_t  *entries;
    size_t       n;
    size_t       cap;
} at_inputs_t;


/* what one run packs, and where: filled in step by step by at_run */
typedef struct {
    ts_archive_write_format_e   format;
    char                       *target;     /* "{model}{suffix}" */
    char                       *shown;      /* {export}/{target}, as upstream
                                               names it in messages */
    char                       *ts_name;    /* "{model}.pt", exported */
    char                       *manifest;   /* its text, mlen bytes */
    size_t                      mlen;
    time_t                      now;        /* createdOn, zip manifest */
    unsigned                    need_mkdir:1;   /* no export folder yet */
    unsigned                    exists:1;       /* -f: the target is there,
                                                   to be replaced */
    at_inputs_t                 in;
} at_job_t;


/*
 * Fills o from argv as upstream's argparse parser would: 0 parsed, 1 help
 * asked (-h before anything wrong), -1 a usage error in err (argparse's
 * words).
 */
int at_parse_args(at_options_t *o, int argc, char **argv, char *err,
    size_t errlen);

/* upstream's -h text on stdout, usage wrapped as argparse wraps it */
void at_help(const at_options_t *o);

/* argparse's "usage: ..." lines alone, as it prints them before an error */
void at_usage(const at_options_t *o, FILE *out);

/*
 * Writes the archive job describes into o->export_path (created first if
 * need be): a temp file renamed over the target, or the files of the
 * "no-archive" folder; the manifest last.
 */
int at_write_archive(const at_options_t *o, at_job_t *job, char *err,
    size_t errlen);

/* prints "prog: warning: ..." on stderr, as upstream logs its warnings */
void at_warn(const at_options_t *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Collects the inputs as upstream's copy_artifacts copies them into its
 * temp folder: the model file, the serialized file, the handler (unless
 * built in), the extra files (comma-separated files, folders, globs), the
 * requirements file and the config file, each by its base name, a later
 * one replacing an earlier one of the same name.  With export_torchscript
 * the model file and the state_dict are left out: the caller adds the
 * TorchScript.  Nothing is read yet, only stat'ed.
 */
int at_inputs_collect(const at_options_t *o, at_inputs_t *in, char *err,
    size_t errlen);

/* adds (or replaces) a file entry read from fd; fd becomes the list's */
int at_inputs_add_fd(at_inputs_t *in, const char *name, int fd,
    const char *label, char *err, size_t errlen);

/* sorts entries in the order os.walk lists them: files, then folders */
void at_inputs_sort(at_inputs_t *in);

void at_inputs_free(at_inputs_t *in);

/* 1 if the handler is a built-in name, which is not copied */
int at_handler_builtin(const char *runtime, const char *handler);

/*
 * Runs the Python helper on the model file and the state_dict; returns a
 * descriptor (a memfd, at offset 0) holding the TorchScript file, or -1
 * with a one-line message.
 */
int at_export_torchscript(const at_options_t *o, char *err, size_t errlen);

/* Python's os.path.basename: what follows the last '/' (maybe "") */
const char *at_basename(const char *path);

#endif /* ARCHIVE_TOOL_H */
