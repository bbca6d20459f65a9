/*
 * archive_tool.c: torch-model-archiver 0.12's command line, in C.
 *
 * The options, their help and the errors follow upstream's argparse
 * parser (model-archiver/model_archiver/arg_parser.py): unique prefixes
 * of long options, "-fv 1.0" clusters, "--opt=value", a value that looks
 * like an option refused ("expected one argument").  Usage errors exit 2
 * as argparse's do; refusals exit 1 as upstream's exceptions do.  Each
 * error is one line on stderr, "{prog}: error: {upstream's text}"; argparse
 * adds its usage and upstream a traceback, which we leave out.
 *
 * Added to upstream: --export-torchscript and --example-input (see
 * archive_tool_export.c), and SOURCE_DATE_EPOCH, which, when set, is the
 * time of "createdOn" and of the manifest entry (reproducible archives).
 */

/* renameat2, memfd_create */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "ts_archive_write.h"
#include "archive_tool.h"


#define AT_USAGE_ERROR  2
#define AT_HELP_WIDTH   78          /* argparse: $COLUMNS (80) - 2 */


typedef enum {
    AT_VALUE = 0,                   /* takes a value: metavar is set */
    AT_FORCE,
    AT_EXPORT_TORCHSCRIPT,
    AT_HELP
} at_option_kind_e;


typedef struct {
    const char     *long_name;
    const char     *short_name;     /* NULL: none */
    const char     *metavar;        /* NULL: a flag */
    const char    **choices;
    size_t          offset;         /* of the const char * in at_options_t */
    int             kind;           /* at_option_kind_e */
    int             required;
} at_option_t;


static int at_parse_args(at_options_t *o, int argc, char **argv, char *err,
    size_t errlen);
static void at_extra_add(char *extra, size_t size, size_t *off,
    const char *arg);
static const at_option_t *at_find_long(const char *arg, size_t len,
    char *err, size_t errlen);
static const at_option_t *at_find_short(char c);
static int at_set_option(at_options_t *o, const at_option_t *opt,
    const char *value, char *err, size_t errlen);
static const char *at_option_display(const at_option_t *opt, char *buf,
    size_t size);
static int at_looks_like_option(const char *arg);
static void at_help(const at_options_t *o);
static int at_run(at_options_t *o, char *err, size_t errlen);
static int at_check_name(const char *name);
static int at_check_version(const char *version, char *err, size_t errlen);
static int at_mkdirs(const char *path, char *err, size_t errlen);
static int at_write_packed(const at_options_t *o, int dirfd,
    ts_archive_write_format_e format, const char *target, const char *shown,
    at_inputs_t *in, const char *manifest, size_t mlen, time_t now,
    char *err, size_t errlen);
static int at_write_folder(const at_options_t *o, int dirfd,
    const char *shown, at_inputs_t *in, const char *manifest, size_t mlen,
    char *err, size_t errlen);
static int at_write_entries(ts_archive_writer_t *w, at_inputs_t *in,
    char *err, size_t errlen);
static time_t at_now(void);


static const char  *at_runtime_choices[] = {
    "python", "python3", "LSP", NULL
};

static const char  *at_format_choices[] = {
    "tgz", "no-archive", "zip-store", "default", NULL
};


/* in upstream's order: the "required" message lists them in this order */
static const at_option_t  at_options[] = {
    { "--model-name", NULL, "MODEL_NAME", NULL,
      offsetof(at_options_t, model_name), 0, 1 },
    { "--serialized-file", NULL, "SERIALIZED_FILE", NULL,
      offsetof(at_options_t, serialized_file), 0, 0 },
    { "--model-file", NULL, "MODEL_FILE", NULL,
      offsetof(at_options_t, model_file), 0, 0 },
    { "--handler", NULL, "HANDLER", NULL,
      offsetof(at_options_t, handler), 0, 1 },
    { "--extra-files", NULL, "EXTRA_FILES", NULL,
      offsetof(at_options_t, extra_files), 0, 0 },
    { "--runtime", NULL, "{python,python3,LSP}", at_runtime_choices,
      offsetof(at_options_t, runtime), 0, 0 },
    { "--export-path", NULL, "EXPORT_PATH", NULL,
      offsetof(at_options_t, export_path), 0, 0 },
    { "--archive-format", NULL, "{tgz,no-archive,zip-store,default}",
      at_format_choices, offsetof(at_options_t, archive_format), 0, 0 },
    { "--force", "-f", NULL, NULL, 0, AT_FORCE, 0 },
    { "--version", "-v", "VERSION", NULL,
      offsetof(at_options_t, version), 0, 1 },
    { "--requirements-file", "-r", "REQUIREMENTS_FILE", NULL,
      offsetof(at_options_t, requirements_file), 0, 0 },
    { "--config-file", "-c", "CONFIG_FILE", NULL,
      offsetof(at_options_t, config_file), 0, 0 },
    { "--export-torchscript", NULL, NULL, NULL, 0, AT_EXPORT_TORCHSCRIPT,
      0 },
    { "--example-input", NULL, "EXAMPLE_INPUT", NULL,
      offsetof(at_options_t, example_input), 0, 0 },
    { "--help", "-h", NULL, NULL, 0, AT_HELP, 0 },
    { NULL, NULL, NULL, NULL, 0, 0, 0 }
};


/* the usage line's parts, wrapped as argparse wraps them */
static const char  *at_usage_parts[] = {
    "[-h]", "--model-name MODEL_NAME", "[--serialized-file SERIALIZED_FILE]",
    "[--model-file MODEL_FILE]", "--handler HANDLER",
    "[--extra-files EXTRA_FILES]", "[--runtime {python,python3,LSP}]",
    "[--export-path EXPORT_PATH]",
    "[--archive-format {tgz,no-archive,zip-store,default}]", "[-f]",
    "-v VERSION", "[-r REQUIREMENTS_FILE]", "[-c CONFIG_FILE]",
    "[--export-torchscript]", "[--example-input EXAMPLE_INPUT]", NULL
};


/* upstream's help text, word for word (RawTextHelpFormatter), then ours */
static const char  at_help_text[] =
"\n"
"Torch Model Archiver Tool\n"
"\n"
"options:\n"
"  -h, --help            show this help message and exit\n"
"  --model-name MODEL_NAME\n"
"                        Exported model name. Exported file will be named as\n"
"                        model-name.mar and saved in current working "
"directory if no --export-path is\n"
"                        specified, else it will be saved under the export "
"path\n"
"  --serialized-file SERIALIZED_FILE\n"
"                        Path to .pt or .pth file containing state_dict in "
"case of eager mode\n"
"                        or an executable ScriptModule in case of TorchScript "
"or TensorRT\n"
"                        or a .onnx file in the case of ORT.\n"
"  --model-file MODEL_FILE\n"
"                        Path to python file containing model architecture.\n"
"                        This parameter is mandatory for eager mode models.\n"
"                        The model architecture file must contain only one\n"
"                        class definition extended from torch.nn.Module.\n"
"  --handler HANDLER     TorchServe's default handler name\n"
"                         or Handler path to handle custom inference logic.\n"
"  --extra-files EXTRA_FILES\n"
"                        Comma separated path to extra dependency files.\n"
"  --runtime {python,python3,LSP}\n"
"                        The runtime specifies which language to run your "
"inference code on.\n"
"                        The default runtime is \"python\".\n"
"  --export-path EXPORT_PATH\n"
"                        Path where the exported .mar file will be saved. "
"This is an optional\n"
"                        parameter. If --export-path is not specified, the "
"file will be saved in the\n"
"                        current working directory. \n"
"  --archive-format {tgz,no-archive,zip-store,default}\n"
"                        The format in which the model artifacts are "
"archived.\n"
"                        \"tgz\": This creates the model-archive in "
"<model-name>.tar.gz format.\n"
"                        If platform hosting TorchServe requires "
"model-artifacts to be in \".tar.gz\"\n"
"                        use this option.\n"
"                        \"no-archive\": This option creates an non-archived "
"version of model artifacts\n"
"                        at \"export-path/{model-name}\" location. As a "
"result of this choice, \n"
"                        MANIFEST file will be created at "
"\"export-path/{model-name}\" location\n"
"                        without archiving these model files\n"
"                        \"zip-store\": This creates the model-archive in "
"<model-name>.mar format\n"
"                        but will skip deflating the files to speed up "
"creation. Mainly used\n"
"                        for testing purposes\n"
"                        \"default\": This creates the model-archive in "
"<model-name>.mar format.\n"
"                        This is the default archiving format. Models "
"archived in this format\n"
"                        will be readily hostable on native TorchServe.\n"
"  -f, --force           When the -f or --force flag is specified, an "
"existing .mar file with same\n"
"                        name as that provided in --model-name in the path "
"specified by --export-path\n"
"                        will overwritten\n"
"  -v VERSION, --version VERSION\n"
"                        Model's version\n"
"  -r REQUIREMENTS_FILE, --requirements-file REQUIREMENTS_FILE\n"
"                        Path to a requirements.txt containing model "
"specific python dependency\n"
"                         packages.\n"
"  -c CONFIG_FILE, --config-file CONFIG_FILE\n"
"                        Path to a yaml file containing model configuration "
"eg. batch_size.\n"
"  --export-torchscript  (archive_tool) Convert an eager model (--model-file "
"with one\n"
"                        torch.nn.Module class, its state_dict in "
"--serialized-file)\n"
"                        to TorchScript with python3-torch, and pack "
"<model-name>.pt\n"
"                        in place of the state_dict; the manifest has no "
"modelFile.\n"
"  --example-input EXAMPLE_INPUT\n"
"                        (archive_tool) A JSON file with one input instance "
"(a nested\n"
"                        list, {\"data\": ...}, or an object keyed by "
"forward's arguments):\n"
"                        with --export-torchscript, the model is traced on "
"it when\n"
"                        torch.jit.script fails, and the TorchScript is "
"checked on it.\n";


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


/* --- the command line ---------------------------------------------------- */


/* 0: parsed; 1: help asked; -1: a usage error in err */

static int
at_parse_args(at_options_t *o, int argc, char **argv, char *err,
    size_t errlen)
{
    int                 i, only_positional;
    char                seen[sizeof(at_options) / sizeof(at_options[0])];
    char                name[64], extra[512];
    size_t              len, off;
    const char         *arg, *eq, *value, *p;
    const at_option_t  *opt, *prev;

    memset(seen, 0, sizeof(seen));
    extra[0] = '\0';
    off = 0;
    only_positional = 0;

    for (i = 1; i < argc; i++) {
        arg = argv[i];

        /* "--" ends the options; argparse 3.11 reports it with the rest */
        if (!only_positional && strcmp(arg, "--") == 0) {
            only_positional = 1;
        }

        if (only_positional || !at_looks_like_option(arg)) {
            /* no positional arguments: each one is "unrecognized" */
            at_extra_add(extra, sizeof(extra), &off, arg);
            continue;
        }

        if (arg[1] == '-') {
            /* --name, --name=value, or a unique prefix of a name */
            eq = strchr(arg, '=');
            len = eq ? (size_t) (eq - arg) : strlen(arg);

            opt = at_find_long(arg, len, err, errlen);
            if (opt == NULL) {
                if (err[0] != '\0') {
                    return -1;
                }

                at_extra_add(extra, sizeof(extra), &off, arg);
                continue;
            }

            value = eq ? eq + 1 : NULL;

            if (opt->metavar == NULL) {
                if (value != NULL) {
                    snprintf(err, errlen, "argument %s: ignored explicit "
                             "argument '%s'",
                             at_option_display(opt, name, sizeof(name)),
                             value);
                    return -1;
                }

                if (opt->kind == AT_HELP) {
                    return 1;
                }

            } else if (value == NULL) {
                if (i + 1 >= argc || at_looks_like_option(argv[i + 1])) {
                    snprintf(err, errlen, "argument %s: expected one "
                             "argument",
                             at_option_display(opt, name, sizeof(name)));
                    return -1;
                }

                value = argv[++i];
            }

            if (at_set_option(o, opt, value, err, errlen) != 0) {
                return -1;
            }

            seen[opt - at_options] = 1;
            continue;
        }

        /* -f, -v VALUE, -vVALUE, -v=VALUE, -fv VALUE */
        prev = NULL;

        for (p = arg + 1; *p != '\0'; p++) {
            opt = at_find_short(*p);

            if (opt == NULL && prev == NULL) {
                at_extra_add(extra, sizeof(extra), &off, arg);
                break;
            }

            if (opt == NULL) {
                /* the rest was an argument for the flag before it */
                snprintf(err, errlen, "argument %s: ignored explicit "
                         "argument '%s'",
                         at_option_display(prev, name, sizeof(name)), p);
                return -1;
            }

            if (opt->metavar == NULL) {
                if (opt->kind == AT_HELP) {
                    return 1;
                }

                if (at_set_option(o, opt, NULL, err, errlen) != 0) {
                    return -1;
                }

                seen[opt - at_options] = 1;
                prev = opt;
                continue;
            }

            p++;

            if (*p == '=') {
                p++;
            }

            if (*p != '\0') {
                value = p;

            } else if (i + 1 >= argc || at_looks_like_option(argv[i + 1])) {
                snprintf(err, errlen, "argument %s: expected one argument",
                         at_option_display(opt, name, sizeof(name)));
                return -1;

            } else {
                value = argv[++i];
            }

            if (at_set_option(o, opt, value, err, errlen) != 0) {
                return -1;
            }

            seen[opt - at_options] = 1;
            break;
        }
    }

    /* argparse: the required ones first, then what it did not know */
    len = 0;
    err[0] = '\0';

    for (opt = at_options; opt->long_name != NULL; opt++) {
        if (opt->required && !seen[opt - at_options]) {
            len += snprintf(err + len, len < errlen ? errlen - len : 0,
                            "%s%s", len ? ", " : "the following arguments "
                                                 "are required: ",
                            at_option_display(opt, name, sizeof(name)));
        }
    }

    if (len > 0) {
        return -1;
    }

    if (off > 0) {
        snprintf(err, errlen, "unrecognized arguments: %s", extra);
        return -1;
    }

    return 0;
}


/* "unrecognized arguments: a b": collected, space-separated, truncated */

static void
at_extra_add(char *extra, size_t size, size_t *off, const char *arg)
{
    int  n;

    if (*off + 1 >= size) {
        return;
    }

    n = snprintf(extra + *off, size - *off, "%s%s", *off ? " " : "", arg);

    *off = (n < 0 || *off + (size_t) n >= size) ? size - 1 : *off + n;
}


static const at_option_t *
at_find_long(const char *arg, size_t len, char *err, size_t errlen)
{
    size_t              n, elen;
    const at_option_t  *opt, *found;

    /* arg is the whole argument ("--model=x"); len stops before '=' */
    err[0] = '\0';

    for (opt = at_options; opt->long_name != NULL; opt++) {
        if (strlen(opt->long_name) == len
            && strncmp(opt->long_name, arg, len) == 0)
        {
            return opt;
        }
    }

    found = NULL;
    n = 0;

    for (opt = at_options; opt->long_name != NULL; opt++) {
        if (strncmp(opt->long_name, arg, len) == 0) {
            found = opt;
            n++;
        }
    }

    if (n == 1) {
        return found;
    }

    if (n > 1) {
        elen = (size_t) snprintf(err, errlen, "ambiguous option: %s could "
                                 "match", arg);
        n = 0;

        for (opt = at_options; opt->long_name != NULL; opt++) {
            if (strncmp(opt->long_name, arg, len) == 0 && elen < errlen) {
                elen += snprintf(err + elen, errlen - elen, "%s %s",
                                 n++ ? "," : "", opt->long_name);
            }
        }
    }

    return NULL;
}


static const at_option_t *
at_find_short(char c)
{
    const at_option_t  *opt;

    for (opt = at_options; opt->long_name != NULL; opt++) {
        if (opt->short_name != NULL && opt->short_name[1] == c) {
            return opt;
        }
    }

    return NULL;
}


static int
at_set_option(at_options_t *o, const at_option_t *opt, const char *value,
    char *err, size_t errlen)
{
    char     name[64];
    size_t   i, len;

    if (opt->kind == AT_FORCE) {
        o->force = 1;
        return 0;
    }

    if (opt->kind == AT_EXPORT_TORCHSCRIPT) {
        o->export_torchscript = 1;
        return 0;
    }

    if (opt->choices != NULL) {
        for (i = 0; opt->choices[i] != NULL; i++) {
            if (strcmp(opt->choices[i], value) == 0) {
                break;
            }
        }

        if (opt->choices[i] == NULL) {
            len = (size_t) snprintf(err, errlen, "argument %s: invalid "
                                    "choice: '%s' (choose from ",
                                    at_option_display(opt, name,
                                                      sizeof(name)),
                                    value);

            for (i = 0; opt->choices[i] != NULL && len < errlen; i++) {
                len += snprintf(err + len, errlen - len, "%s'%s'",
                                i ? ", " : "", opt->choices[i]);
            }

            if (len < errlen) {
                snprintf(err + len, errlen - len, ")");
            }

            return -1;
        }
    }

    /* the last one given wins, as with argparse */
    *(const char **) ((char *) o + opt->offset) = value;

    return 0;
}


/* "-v/--version" or "--model-name", as argparse names an argument */

static const char *
at_option_display(const at_option_t *opt, char *buf, size_t size)
{
    if (opt->short_name != NULL) {
        snprintf(buf, size, "%s/%s", opt->short_name, opt->long_name);

    } else {
        snprintf(buf, size, "%s", opt->long_name);
    }

    return buf;
}


/*
 * argparse: a string starting with '-' is an option, unless it is "-"
 * alone, a negative number ("-1", "-.5") or holds a space.
 */

static int
at_looks_like_option(const char *arg)
{
    const char  *p;

    if (arg[0] != '-' || arg[1] == '\0' || strchr(arg, ' ') != NULL) {
        return 0;
    }

    p = arg + 1;

    if (*p >= '0' && *p <= '9') {
        p += strspn(p, "0123456789");

        if (*p == '\0') {
            return 0;
        }
    }

    if (*p == '.' && p[1] != '\0'
        && p[1 + strspn(p + 1, "0123456789")] == '\0')
    {
        return 0;
    }

    return 1;
}


static void
at_help(const at_options_t *o)
{
    size_t   i, indent, line;
    char     prefix[128];

    /* argparse wraps the usage parts after "usage: {prog} " */
    snprintf(prefix, sizeof(prefix), "usage: %s", o->prog);

    indent = strlen(prefix) + 1;
    line = strlen(prefix);

    fputs(prefix, stdout);

    for (i = 0; at_usage_parts[i] != NULL; i++) {
        if (line + 1 + strlen(at_usage_parts[i]) > AT_HELP_WIDTH
            && line > indent)
        {
            printf("\n%*s", (int) indent - 1, "");
            line = indent - 1;
        }

        printf(" %s", at_usage_parts[i]);
        line += 1 + strlen(at_usage_parts[i]);
    }

    fputc('\n', stdout);
    fputs(at_help_text, stdout);
}


/* --- packing ----------------------------------------------------------- */


static int
at_run(at_options_t *o, char *err, size_t errlen)
{
    int             rc, dirfd, fd, format, need_mkdir;
    char           *target, *shown, *manifest, *ts_name;
    char            created[32];
    size_t          len, mlen;
    time_t          now;
    struct stat     st;
    at_inputs_t     in;
    const char     *suffix, *sep;
    ts_manifest_t   m;

    memset(&in, 0, sizeof(at_inputs_t));

    rc = -1;
    dirfd = -1;
    target = NULL;
    shown = NULL;
    manifest = NULL;
    ts_name = NULL;

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

    format = ts_archive_write_format(o->archive_format);
    suffix = ts_archive_write_suffix((ts_archive_write_format_e) format);

    /* ModelExportUtils.validate_inputs: the export path */
    need_mkdir = 0;

    if (stat(o->export_path[0] ? o->export_path : ".", &st) == -1) {
        if (errno != ENOENT) {
            snprintf(err, errlen, "[Errno %d] %s: '%s'", errno,
                     strerror(errno), o->export_path);
            return -1;
        }

        need_mkdir = 1;

    } else if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "Given export-path %s is not a directory. "
                 "Point to a valid export-path directory.", o->export_path);
        return -1;
    }

    /* check_mar_already_exists, on os.path.join(export_path, file) */
    len = strlen(o->model_name) + strlen(suffix) + 1;

    target = malloc(len);
    if (target == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    snprintf(target, len, "%s%s", o->model_name, suffix);

    len = strlen(o->export_path);
    sep = (len > 0 && o->export_path[len - 1] != '/') ? "/" : "";
    len += strlen(sep) + strlen(target) + 1;

    shown = malloc(len);
    if (shown == NULL) {
        snprintf(err, errlen, "out of memory");
        goto failed;
    }

    snprintf(shown, len, "%s%s%s", o->export_path, sep, target);

    if (!need_mkdir && lstat(shown, &st) == 0) {
        if (!o->force) {
            snprintf(err, errlen, "%s already exists. Please specify "
                     "--force/-f option to overwrite the model archive "
                     "output file. See -h/--help for more details.", shown);
            goto failed;
        }

        at_warn(o, "Overwriting %s ...", shown);
    }

    /* copy_artifacts, without the copies */
    if (at_inputs_collect(o, &in, err, errlen) != 0) {
        goto failed;
    }

    if (o->export_torchscript) {
        fd = at_export_torchscript(o, err, errlen);
        if (fd == -1) {
            goto failed;
        }

        len = strlen(o->model_name) + sizeof(".pt");

        ts_name = malloc(len);
        if (ts_name == NULL) {
            close(fd);
            snprintf(err, errlen, "out of memory");
            goto failed;
        }

        snprintf(ts_name, len, "%s.pt", o->model_name);

        /* last, so that an extra file of that name cannot replace it */
        if (at_inputs_add_fd(&in, ts_name, fd, o->serialized_file, err,
                             errlen)
            != 0)
        {
            close(fd);
            goto failed;
        }
    }

    at_inputs_sort(&in);

    /* Manifest and Model, as upstream fills them */
    now = at_now();
    ts_manifest_created_on(now, created, sizeof(created));

    memset(&m, 0, sizeof(ts_manifest_t));

    m.created_on = created;
    m.runtime = (char *) o->runtime;
    m.model_name = (char *) o->model_name;
    m.handler = (char *) at_basename(o->handler);
    m.model_version = (char *) o->version;
    m.archiver_version = (char *) TS_ARCHIVER_VERSION;

    if (o->export_torchscript) {
        m.serialized_file = ts_name;

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

    manifest = ts_manifest_json(&m, &mlen);
    if (manifest == NULL) {
        snprintf(err, errlen, "out of memory");
        goto failed;
    }

    if (need_mkdir) {
        at_warn(o, "Export directory (%s) does not exist. Creating...",
                o->export_path);

        if (at_mkdirs(o->export_path, err, errlen) != 0) {
            goto failed;
        }
    }

    dirfd = open(o->export_path[0] ? o->export_path : ".",
                 O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd == -1) {
        snprintf(err, errlen, "[Errno %d] %s: '%s'", errno, strerror(errno),
                 o->export_path);
        goto failed;
    }

    if (format == TS_ARCHIVE_WRITE_DIR) {
        rc = at_write_folder(o, dirfd, shown, &in, manifest, mlen, err,
                             errlen);

    } else {
        rc = at_write_packed(o, dirfd, (ts_archive_write_format_e) format,
                             target, shown, &in, manifest, mlen, now, err,
                             errlen);
    }

failed:

    if (dirfd != -1) {
        close(dirfd);
    }

    at_inputs_free(&in);
    free(manifest);
    free(ts_name);
    free(shown);
    free(target);

    return rc;
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


/* os.makedirs(path) */

static int
at_mkdirs(const char *path, char *err, size_t errlen)
{
    char    *copy, *p;
    size_t   len;

    copy = strdup(path);
    if (copy == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    len = strlen(copy);

    for (p = copy + 1; p <= copy + len; p++) {
        if (*p != '/' && *p != '\0') {
            continue;
        }

        if (p[-1] == '/') {
            continue;
        }

        *p = '\0';

        if (mkdir(copy, 0777) == -1 && errno != EEXIST) {
            snprintf(err, errlen, "[Errno %d] %s: '%s'", errno,
                     strerror(errno), copy);
            free(copy);
            return -1;
        }

        if (p < copy + len) {
            *p = '/';
        }
    }

    free(copy);

    return 0;
}


/*
 * .mar and .tar.gz: written to a temp file in the export folder, renamed
 * over the target once complete; without -f the rename refuses to replace
 * a target that appeared meanwhile.  A symbolic link at the target is
 * replaced, never written through.
 */

static int
at_write_packed(const at_options_t *o, int dirfd,
    ts_archive_write_format_e format, const char *target, const char *shown,
    at_inputs_t *in, const char *manifest, size_t mlen, time_t now,
    char *err, size_t errlen)
{
    int                   fd, rc;
    char                  tmp[512];
    unsigned              i;
    ts_archive_writer_t  *w;

    rc = -1;
    w = NULL;
    fd = -1;
    tmp[0] = '\0';

    for (i = 0; i < 1000; i++) {
        snprintf(tmp, sizeof(tmp), ".%s.%ld.%u.tmp", target,
                 (long) getpid(), i);

        fd = openat(dirfd, tmp,
                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    0666);

        if (fd != -1 || errno != EEXIST) {
            break;
        }
    }

    if (fd == -1) {
        snprintf(err, errlen, "cannot create a temp file in %s: %s",
                 o->export_path, strerror(errno));
        tmp[0] = '\0';
        goto failed;
    }

    w = ts_archive_writer_new(format, fd, o->model_name, err, errlen);
    if (w == NULL) {
        goto failed;
    }

    if (at_write_entries(w, in, err, errlen) != 0) {
        goto failed;
    }

    /*
     * zipfile.writestr: now, mode 0600; tarfile.TarInfo: mtime 0, mode
     * 0644; the manifest is the last entry either way
     */
    if (ts_archive_writer_add_data(w, TS_ARCHIVE_MANIFEST_NAME, manifest,
                                   mlen,
                                   format == TS_ARCHIVE_WRITE_TGZ ? 0644
                                                                  : 0600,
                                   format == TS_ARCHIVE_WRITE_TGZ ? 0 : now,
                                   err, errlen)
        != 0)
    {
        goto failed;
    }

    if (ts_archive_writer_finish(w, err, errlen) != 0) {
        goto failed;
    }

    ts_archive_writer_free(w);
    w = NULL;

    if (close(fd) == -1) {
        fd = -1;
        snprintf(err, errlen, "cannot write %s: %s", shown, strerror(errno));
        goto failed;
    }

    fd = -1;

    if (o->force) {
        if (renameat(dirfd, tmp, dirfd, target) == -1) {
            snprintf(err, errlen, "cannot write %s: %s", shown,
                     strerror(errno));
            goto failed;
        }

    } else if (renameat2(dirfd, tmp, dirfd, target, RENAME_NOREPLACE) == -1)
    {
        if (errno == EEXIST) {
            snprintf(err, errlen, "%s already exists. Please specify "
                     "--force/-f option to overwrite the model archive "
                     "output file. See -h/--help for more details.", shown);
            goto failed;
        }

        /* a file system without RENAME_NOREPLACE: link() never replaces */
        if ((errno != EINVAL && errno != ENOSYS)
            || linkat(dirfd, tmp, dirfd, target, 0) == -1)
        {
            snprintf(err, errlen, "cannot write %s: %s", shown,
                     errno == EEXIST ? "it appeared meanwhile"
                                     : strerror(errno));
            goto failed;
        }

        unlinkat(dirfd, tmp, 0);
    }

    tmp[0] = '\0';
    rc = 0;

failed:

    ts_archive_writer_free(w);

    if (fd != -1) {
        close(fd);
    }

    if (tmp[0] != '\0') {
        unlinkat(dirfd, tmp, 0);
    }

    return rc;
}


/*
 * no-archive: "{export}/{model}/", created, or written into with -f as
 * upstream does (files of the same names replaced, others left), but
 * never through a symbolic link.
 */

static int
at_write_folder(const at_options_t *o, int dirfd, const char *shown,
    at_inputs_t *in, const char *manifest, size_t mlen, char *err,
    size_t errlen)
{
    int                   fd, rc;
    mode_t                mask;
    ts_archive_writer_t  *w;

    if (mkdirat(dirfd, o->model_name, 0777) == -1 && errno != EEXIST) {
        snprintf(err, errlen, "[Errno %d] %s: '%s'", errno, strerror(errno),
                 shown);
        return -1;
    }

    fd = openat(dirfd, o->model_name,
                O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd == -1) {
        snprintf(err, errlen, "%s: %s", shown,
                 (errno == ELOOP || errno == ENOTDIR)
                 ? "exists and is not a folder (a file or a symbolic link)"
                 : strerror(errno));
        return -1;
    }

    rc = -1;

    w = ts_archive_writer_new(TS_ARCHIVE_WRITE_DIR, fd, NULL, err, errlen);
    if (w == NULL) {
        goto failed;
    }

    if (at_write_entries(w, in, err, errlen) != 0) {
        goto failed;
    }

    /* open(..., "w"): 0666 less the umask */
    mask = umask(0);
    umask(mask);

    if (ts_archive_writer_add_data(w, TS_ARCHIVE_MANIFEST_NAME, manifest,
                                   mlen, 0666 & ~mask, 0, err, errlen)
        != 0)
    {
        goto failed;
    }

    rc = ts_archive_writer_finish(w, err, errlen);

failed:

    ts_archive_writer_free(w);
    close(fd);

    return rc;
}


static int
at_write_entries(ts_archive_writer_t *w, at_inputs_t *in, char *err,
    size_t errlen)
{
    int          fd, rc;
    size_t       i;
    char         msg[AT_ERRLEN];
    at_entry_t  *e;

    for (i = 0; i < in->n; i++) {
        e = &in->entries[i];

        /* ours is written last; folders have no entries */
        if (e->dir || strcmp(e->name, TS_ARCHIVE_MANIFEST_NAME) == 0) {
            continue;
        }

        fd = e->fd;

        if (fd == -1) {
            /* O_NONBLOCK: a FIFO swapped in since stat must not hang us */
            fd = open(e->path,
                      O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
            if (fd == -1) {
                snprintf(err, errlen, "[Errno %d] %s: '%s'", errno,
                         strerror(errno), e->path);
                return -1;
            }
        }

        rc = ts_archive_writer_add_fd(w, e->name, fd, e->path, msg,
                                      sizeof(msg));

        if (fd != e->fd) {
            close(fd);
        }

        if (rc != 0) {
            snprintf(err, errlen, "%s", msg);
            return -1;
        }
    }

    return 0;
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
