/*
 * archive_tool_args.c: torch-model-archiver 0.12's command line, as its
 * argparse parser (model-archiver/model_archiver/arg_parser.py) reads
 * it: unique prefixes of long options, "-fv 1.0" clusters,
 * "--opt=value", a value that looks like an option refused ("expected
 * one argument"), the last of a repeated option winning, and argparse's
 * words for each usage error.  One table describes the options; the
 * parsing is by hand because argparse's messages are the contract.
 */

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "archive_tool.h"


#define AT_HELP_WIDTH   78          /* argparse: $COLUMNS (80) - 2 */
#define AT_MAX_OPTIONS  32


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

/* one at_parse_args call */
typedef struct {
    int             argc;
    char          **argv;
    int             i;                      /* the argument being parsed */
    char            seen[AT_MAX_OPTIONS];   /* by index in at_options */
    char            extra[512];             /* "unrecognized arguments" */
    size_t          off;                    /* of extra's NUL */
} at_parser_t;


static int at_parse_long(at_options_t *o, at_parser_t *p, char *err,
    size_t errlen);
static int at_parse_short(at_options_t *o, at_parser_t *p, char *err,
    size_t errlen);
static int at_next_value(at_parser_t *p, const at_option_t *opt,
    const char **value, char *err, size_t errlen);
static int at_apply(at_options_t *o, at_parser_t *p, const at_option_t *opt,
    const char *value, char *err, size_t errlen);
static int at_parse_check(at_parser_t *p, char *err, size_t errlen);
static void at_extra_add(at_parser_t *p, const char *arg);
static const at_option_t *at_find_long(const char *arg, size_t len,
    char *err, size_t errlen);
static const at_option_t *at_find_short(char c);
static int at_set_option(at_options_t *o, const at_option_t *opt,
    const char *value, char *err, size_t errlen);
static const char *at_option_display(const at_option_t *opt, char *buf,
    size_t size);
static int at_looks_like_option(const char *arg);


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


_Static_assert(sizeof(at_options) / sizeof(at_options[0]) <= AT_MAX_OPTIONS,
               "at_parser_t.seen is too small for at_options");


/* 0: parsed; 1: help asked; -1: a usage error in err */

int
at_parse_args(at_options_t *o, int argc, char **argv, char *err,
    size_t errlen)
{
    int          rc, only_positional;
    const char  *arg;
    at_parser_t  p;

    memset(&p, 0, sizeof(at_parser_t));

    p.argc = argc;
    p.argv = argv;
    only_positional = 0;

    for (p.i = 1; p.i < argc; p.i++) {
        arg = argv[p.i];

        /* "--" ends the options; argparse 3.11 reports it with the rest */
        if (!only_positional && strcmp(arg, "--") == 0) {
            only_positional = 1;
        }

        if (only_positional || !at_looks_like_option(arg)) {
            /* no positional arguments: each one is "unrecognized" */
            at_extra_add(&p, arg);
            continue;
        }

        rc = (arg[1] == '-') ? at_parse_long(o, &p, err, errlen)
                             : at_parse_short(o, &p, err, errlen);
        if (rc != 0) {
            return rc;
        }
    }

    return at_parse_check(&p, err, errlen);
}


/* --name, --name=value, or a unique prefix of a name */

static int
at_parse_long(at_options_t *o, at_parser_t *p, char *err, size_t errlen)
{
    char                name[64];
    size_t              len;
    const char         *arg, *eq, *value;
    const at_option_t  *opt;

    arg = p->argv[p->i];
    eq = strchr(arg, '=');
    len = eq ? (size_t) (eq - arg) : strlen(arg);

    opt = at_find_long(arg, len, err, errlen);
    if (opt == NULL) {
        if (err[0] != '\0') {
            return -1;
        }

        at_extra_add(p, arg);
        return 0;
    }

    value = eq ? eq + 1 : NULL;

    if (opt->metavar == NULL) {
        if (value != NULL) {
            snprintf(err, errlen, "argument %s: ignored explicit argument "
                     "'%s'", at_option_display(opt, name, sizeof(name)),
                     value);
            return -1;
        }

        if (opt->kind == AT_HELP) {
            return 1;
        }

    } else if (value == NULL
               && at_next_value(p, opt, &value, err, errlen) != 0)
    {
        return -1;
    }

    return at_apply(o, p, opt, value, err, errlen);
}


/* -f, -v VALUE, -vVALUE, -v=VALUE, -fv VALUE */

static int
at_parse_short(at_options_t *o, at_parser_t *p, char *err, size_t errlen)
{
    char                name[64];
    const char         *arg, *s, *value;
    const at_option_t  *opt, *prev;

    arg = p->argv[p->i];
    prev = NULL;

    for (s = arg + 1; *s != '\0'; s++) {
        opt = at_find_short(*s);

        if (opt == NULL && prev == NULL) {
            at_extra_add(p, arg);
            return 0;
        }

        if (opt == NULL) {
            /* the rest was an argument for the flag before it */
            snprintf(err, errlen, "argument %s: ignored explicit argument "
                     "'%s'", at_option_display(prev, name, sizeof(name)), s);
            return -1;
        }

        if (opt->metavar == NULL) {
            if (opt->kind == AT_HELP) {
                return 1;
            }

            if (at_apply(o, p, opt, NULL, err, errlen) != 0) {
                return -1;
            }

            prev = opt;
            continue;
        }

        /* an option with a value ends the cluster */
        s++;

        if (*s == '=') {
            s++;
        }

        if (*s != '\0') {
            value = s;

        } else if (at_next_value(p, opt, &value, err, errlen) != 0) {
            return -1;
        }

        return at_apply(o, p, opt, value, err, errlen);
    }

    return 0;
}


/* the next argument is opt's value, unless it looks like an option */

static int
at_next_value(at_parser_t *p, const at_option_t *opt, const char **value,
    char *err, size_t errlen)
{
    char  name[64];

    if (p->i + 1 >= p->argc || at_looks_like_option(p->argv[p->i + 1])) {
        snprintf(err, errlen, "argument %s: expected one argument",
                 at_option_display(opt, name, sizeof(name)));
        return -1;
    }

    *value = p->argv[++p->i];

    return 0;
}


static int
at_apply(at_options_t *o, at_parser_t *p, const at_option_t *opt,
    const char *value, char *err, size_t errlen)
{
    if (at_set_option(o, opt, value, err, errlen) != 0) {
        return -1;
    }

    p->seen[opt - at_options] = 1;

    return 0;
}


/* argparse: the required ones first, then what it did not know */

static int
at_parse_check(at_parser_t *p, char *err, size_t errlen)
{
    char                name[64];
    size_t              len;
    const at_option_t  *opt;

    len = 0;
    err[0] = '\0';

    for (opt = at_options; opt->long_name != NULL; opt++) {
        if (opt->required && !p->seen[opt - at_options]) {
            len += snprintf(err + len, len < errlen ? errlen - len : 0,
                            "%s%s", len ? ", " : "the following arguments "
                                                 "are required: ",
                            at_option_display(opt, name, sizeof(name)));
        }
    }

    if (len > 0) {
        return -1;
    }

    if (p->off > 0) {
        snprintf(err, errlen, "unrecognized arguments: %s", p->extra);
        return -1;
    }

    return 0;
}


/* "unrecognized arguments: a b": collected, space-separated, truncated */

static void
at_extra_add(at_parser_t *p, const char *arg)
{
    int     n;
    size_t  size;

    size = sizeof(p->extra);

    if (p->off + 1 >= size) {
        return;
    }

    n = snprintf(p->extra + p->off, size - p->off, "%s%s",
                 p->off ? " " : "", arg);

    p->off = (n < 0 || p->off + (size_t) n >= size) ? size - 1
                                                     : p->off + n;
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


void
at_help(const at_options_t *o)
{
    at_usage(o, stdout);
    fputs(at_help_text, stdout);
}


/* argparse wraps the usage parts after "usage: {prog} " */

void
at_usage(const at_options_t *o, FILE *out)
{
    size_t   i, indent, line;
    char     prefix[128];

    snprintf(prefix, sizeof(prefix), "usage: %s", o->prog);

    indent = strlen(prefix) + 1;
    line = strlen(prefix);

    fputs(prefix, out);

    for (i = 0; at_usage_parts[i] != NULL; i++) {
        if (line + 1 + strlen(at_usage_parts[i]) > AT_HELP_WIDTH
            && line > indent)
        {
            fprintf(out, "\n%*s", (int) indent - 1, "");
            line = indent - 1;
        }

        fprintf(out, " %s", at_usage_parts[i]);
        line += 1 + strlen(at_usage_parts[i]);
    }

    fputc('\n', out);
}
