/*
 * torchserve.c: `torchserve --start ...` and `torchserve --stop` as
 * TorchServe 0.12's command takes them (its arg_parser.py options and
 * model_server.py's messages), serving with Debian's nginx and this
 * module instead of a Java frontend and Python workers.
 *
 * The run directory is ./logs (TorchServe writes its logs there): the
 * generated nginx.conf, nginx.pid, ts_log.log (the error log),
 * access_log.log, tmp/ and, without --ncs, config/registry.json (the
 * registrations, TorchServe's config snapshots).
 */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "torchserve.h"


#ifndef TSC_MODULE_DIR
#define TSC_MODULE_DIR  "/usr/lib/nginx/modules"
#endif


static const char  tsc_usage[] =
"usage: torchserve [-h] [-v | --start | --stop] [--ts-config TS_CONFIG]\n"
"                  [--model-store MODEL_STORE]\n"
"                  [--workflow-store WORKFLOW_STORE]\n"
"                  [--models MODEL_PATH1 MODEL_NAME=MODEL_PATH2... "
"[MODEL_PATH1 MODEL_NAME=MODEL_PATH2... ...]]\n"
"                  [--log-config LOG_CONFIG] [--foreground]\n"
"                  [--no-config-snapshots] [--disable-token-auth]\n"
"                  [--enable-model-api]\n";


static const char  tsc_help[] =
"\nTorchserve\n\n"
"options:\n"
"  -h, --help            show this help message and exit\n"
"  -v, --version         Return TorchServe Version\n"
"  --start               Start the model-server\n"
"  --stop                Stop the model-server\n"
"  --ts-config TS_CONFIG\n"
"                        Configuration file for model server\n"
"  --model-store MODEL_STORE\n"
"                        Model store location from where local or default\n"
"                        models can be loaded\n"
"  --workflow-store WORKFLOW_STORE\n"
"                        Workflow store location from where local or\n"
"                        default workflows can be loaded (accepted;\n"
"                        workflows are not served)\n"
"  --models MODEL_PATH1 MODEL_NAME=MODEL_PATH2... [...]\n"
"                        Models to be loaded using [model_name=]model_location\n"
"                        format. Location can be a HTTP URL or a model\n"
"                        archive file in MODEL_STORE.\n"
"  --log-config LOG_CONFIG\n"
"                        Log4j configuration file for model server (accepted\n"
"                        and ignored: nginx writes logs/ts_log.log and\n"
"                        logs/access_log.log)\n"
"  --foreground          Run the model server in foreground. If this option is\n"
"                        disabled, the model server will run in the\n"
"                        background.\n"
"  --no-config-snapshots, --ncs\n"
"                        Prevents to server from storing config snapshot\n"
"                        files.\n"
"  --disable-token-auth, --dt\n"
"                        if this option is set then token authorization is\n"
"                        disabled (it is not implemented yet)\n"
"  --enable-model-api    enables model control apis\n";


static int tsc_parse_args(int argc, char **argv, tsc_settings_t *s);
static int tsc_usage_error(const char *fmt, const char *arg);
static int tsc_start(tsc_settings_t *s);
static int tsc_read_config(tsc_settings_t *s);
static int tsc_find_module(char *out, size_t len);
static int tsc_mkdirs(const char *run_dir);
static int tsc_props_enabled(const tsc_props_t *p, const char *key);


int
main(int argc, char **argv)
{
    int             rc;
    tsc_settings_t  s;

    memset(&s, 0, sizeof(tsc_settings_t));
    tsc_settings_defaults(&s);

    rc = tsc_parse_args(argc, argv, &s);

    if (rc != 0) {
        /* the usage error is printed */

    } else if (s.help) {
        fputs(tsc_usage, stdout);
        fputs(tsc_help, stdout);

    } else if (s.version) {
        printf("TorchServe Version is %s\n", TSC_VERSION);

    } else if (s.stop) {
        rc = tsc_instance_stop(TSC_RUN_DIR);

    } else {
        /* TorchServe starts when neither --start nor --stop is given, too */
        rc = tsc_start(&s);
    }

    tsc_settings_free(&s);
    return rc;
}


static int
tsc_parse_args(int argc, char **argv, tsc_settings_t *s)
{
    int          i, in_models, modes;
    char         err[TSC_ERRLEN];
    const char  *a, *v;
    char       **opt;

    in_models = 0;
    modes = 0;

    for (i = 1; i < argc; i++) {
        a = argv[i];

        if (in_models && a[0] != '-') {
            if (tsc_models_add(s, a, err, sizeof(err)) != 0) {
                return tsc_usage_error("argument --models: %s", err);
            }
            continue;
        }

        in_models = 0;
        opt = NULL;

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            s->help = 1;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--version") == 0) {
            s->version = 1;
            modes++;
        } else if (strcmp(a, "--start") == 0) {
            modes++;            /* the default: only exclusive of the others */
        } else if (strcmp(a, "--stop") == 0) {
            s->stop = 1;
            modes++;
        } else if (strcmp(a, "--foreground") == 0) {
            s->foreground = 1;
        } else if (strcmp(a, "--ncs") == 0
                   || strcmp(a, "--no-config-snapshots") == 0)
        {
            s->ncs = 1;
        } else if (strcmp(a, "--dt") == 0
                   || strcmp(a, "--disable-token-auth") == 0)
        {
            s->disable_token_auth = 1;
        } else if (strcmp(a, "--enable-model-api") == 0) {
            s->enable_model_api = 1;
        } else if (strcmp(a, "--models") == 0) {
            if (i + 1 == argc || argv[i + 1][0] == '-') {
                return tsc_usage_error("argument --models: expected at "
                                       "least one argument%s", "");
            }
            in_models = 1;
            s->models_given = 1;
        } else if (strcmp(a, "--ts-config") == 0) {
            opt = &s->ts_config;
        } else if (strcmp(a, "--model-store") == 0) {
            opt = &s->model_store;
        } else if (strcmp(a, "--workflow-store") == 0) {
            opt = &s->workflow_store;
        } else if (strcmp(a, "--log-config") == 0) {
            opt = &s->log_config;
        } else {
            return tsc_usage_error("unrecognized arguments: %s", a);
        }

        if (opt != NULL) {
            if (i + 1 == argc) {
                return tsc_usage_error("argument %s: expected one argument",
                                       a);
            }
            v = argv[++i];
            free(*opt);                     /* the option given twice */
            *opt = strdup(v);
            if (*opt == NULL) {
                return tsc_usage_error("argument %s: out of memory", a);
            }
        }

        if (modes > 1) {
            return tsc_usage_error("argument %s: not allowed with another "
                                   "of -v/--version, --start, --stop", a);
        }
    }

    return 0;
}


static int
tsc_usage_error(const char *fmt, const char *arg)
{
    fputs(tsc_usage, stderr);
    fprintf(stderr, "torchserve: error: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    return 2;
}


static int
tsc_start(tsc_settings_t *s)
{
    char         err[TSC_ERRLEN], module[PATH_MAX], run_dir[PATH_MAX];
    char         store[PATH_MAX];
    struct stat  st;

    if (tsc_instance_pid(TSC_RUN_DIR) != 0) {
        printf("TorchServe is already running, please use torchserve --stop "
               "to stop TorchServe.\n");
        return 1;
    }

    if (tsc_read_config(s) != 0) {
        return 1;
    }

    if (s->log_config != NULL) {
        if (stat(s->log_config, &st) != 0) {
            printf("--log-config file not found: %s\n", s->log_config);
            return 1;
        }
        printf("--log-config %s: ignored (nginx writes %s/ts_log.log and "
               "%s/access_log.log)\n", s->log_config, TSC_RUN_DIR,
               TSC_RUN_DIR);
    }

    if (s->workflow_store != NULL) {
        printf("--workflow-store %s: accepted; workflows are not served\n",
               s->workflow_store);
    }

    if (s->disable_token_auth) {
        printf("--disable-token-auth: accepted; this command never turns "
               "token authorization on (nginx.conf's torchserve_token_auth "
               "does)\n");
    }

    if (s->model_store == NULL) {
        printf("Missing mandatory parameter --model-store\n");
        return 1;
    }

    if (stat(s->model_store, &st) != 0 || !S_ISDIR(st.st_mode)) {
        printf("--model-store directory not found: %s\n", s->model_store);
        return 1;
    }

    /* nginx runs with the run directory as its prefix: absolute paths */
    if (realpath(s->model_store, store) == NULL) {
        printf("--model-store directory not found: %s\n", s->model_store);
        return 1;
    }

    free(s->model_store);
    s->model_store = strdup(store);
    if (s->model_store == NULL) {
        printf("torchserve: out of memory\n");
        return 1;
    }

    if (tsc_find_module(module, sizeof(module)) != 0) {
        fprintf(stderr, "torchserve: ngx_http_torchserve_module.so not "
                "found beside the command nor in %s (TORCHSERVE_MODULE "
                "names it)\n", TSC_MODULE_DIR);
        return 1;
    }

    if (tsc_mkdirs(TSC_RUN_DIR) != 0 || realpath(TSC_RUN_DIR, run_dir) == NULL)
    {
        fprintf(stderr, "torchserve: %s: %s\n", TSC_RUN_DIR,
                strerror(errno));
        return 1;
    }

    if (tsc_conf_write(s, run_dir, module, err, sizeof(err)) != 0) {
        fprintf(stderr, "torchserve: %s\n", err);
        return 1;
    }

    if (tsc_instance_start(s, run_dir, err, sizeof(err)) != 0) {
        fprintf(stderr, "torchserve: %s\n", err);
        return 1;
    }

    return 0;
}


/* $TORCHSERVE_MODULE, beside this program (the build tree), the install */
static int
tsc_find_module(char *out, size_t len)
{
    char        *slash;
    ssize_t      n;
    const char  *env;
    struct stat  st;

    env = getenv("TORCHSERVE_MODULE");
    if (env != NULL) {
        snprintf(out, len, "%s", env);
        return stat(out, &st) == 0 ? 0 : -1;
    }

    n = readlink("/proc/self/exe", out, len - 64);
    if (n > 0) {
        out[n] = '\0';
        slash = strrchr(out, '/');
        if (slash != NULL) {
            strcpy(slash + 1, "ngx_http_torchserve_module.so");
            if (stat(out, &st) == 0) {
                return 0;
            }
        }
    }

    snprintf(out, len, "%s/ngx_http_torchserve_module.so", TSC_MODULE_DIR);

    return stat(out, &st) == 0 ? 0 : -1;
}


static int
tsc_mkdirs(const char *run_dir)
{
    char         path[PATH_MAX];
    const char  *sub[] = { "", "/tmp", "/config", NULL };
    int          i;

    for (i = 0; sub[i] != NULL; i++) {
        snprintf(path, sizeof(path), "%s%s", run_dir, sub[i]);

        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            return -1;
        }
    }

    return 0;
}


static int
tsc_props_enabled(const tsc_props_t *p, const char *key)
{
    size_t  i;

    for (i = 0; i < p->n; i++) {
        if (strcmp(p->props[i].key, key) == 0) {
            return strcasecmp(p->props[i].value, "true") == 0;
        }
    }

    return 0;
}


/* TorchServe's order: TS_CONFIG_FILE, --ts-config, ./config.properties */
static int
tsc_read_config(tsc_settings_t *s)
{
    char         err[TSC_ERRLEN];
    const char  *config;
    struct stat  st;
    tsc_props_t  props;

    config = getenv("TS_CONFIG_FILE");
    config = config != NULL ? config : s->ts_config;

    if (config != NULL && stat(config, &st) != 0) {
        printf("--ts-config file not found: %s\n", config);
        return -1;
    }

    if (config == NULL && stat("config.properties", &st) == 0) {
        config = "config.properties";
    }

    if (config != NULL) {
        if (tsc_props_read(config, &props, err, sizeof(err)) != 0) {
            fprintf(stderr, "torchserve: %s\n", err);
            return -1;
        }

        if (tsc_props_enabled(&props, "enable_envvars_config")
            && tsc_props_from_env(&props, err, sizeof(err)) != 0)
        {
            fprintf(stderr, "torchserve: %s\n", err);
            tsc_props_free(&props);
            return -1;
        }

        if (tsc_settings_from_props(s, &props, err, sizeof(err)) != 0) {
            fprintf(stderr, "torchserve: %s: %s\n", config, err);
            tsc_props_free(&props);
            return -1;
        }

        tsc_props_free(&props);
    }

    return 0;
}
