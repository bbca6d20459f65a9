/*
 * ngx_props.c: libFuzzer target for the torchserve command's
 * config.properties (torchserve/).
 *
 * One input is a config.properties file.  It goes through what
 * `torchserve --start` does with one: tsc_props_parse (the file's text,
 * torchserve_props.c), tsc_props_from_env when it says
 * enable_envvars_config=true (a fixed TS_* environment, set once),
 * tsc_settings_from_props (its keys, torchserve_settings.c), and, when
 * the settings are accepted, tsc_conf_write (the nginx.conf they give,
 * torchserve_conf.c) into a folder of /dev/shm.
 *
 * The nginx.conf written is then read back with nginx's token rules: a
 * value of config.properties must never end a directive, open or close
 * a block or start one of its own (only the directives the writer knows
 * may appear, listen keeps one address).  The models to load at start
 * are left out of the nginx.conf (their archives are the runtime's
 * targets, and a URL would be downloaded).
 */

#define _GNU_SOURCE

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "torchserve.h"
#include "ts_archive.h"


/* the arguments kept of a directive (all are counted) */
#define NGX_PROPS_MAX_ARGS  4


static char   ngx_props_run_dir[256];
static FILE  *ngx_props_null;


/* the directives tsc_conf_write writes, and those that open a block */
static const char  *ngx_props_directives[] = {
    "load_module", "user", "worker_processes", "error_log", "pid",
    "thread_pool", "events", "worker_connections", "http", "access_log",
    "client_body_temp_path", "proxy_temp_path", "fastcgi_temp_path",
    "uwsgi_temp_path", "scgi_temp_path", "client_max_body_size",
    "torchserve_thread_pool", "torchserve_zone", "torchserve_temp_path",
    "torchserve_model_store", "torchserve_state", "torchserve_allowed_urls",
    "torchserve_model", "server", "listen", "location",
    "torchserve_inference", "torchserve_model_api", "torchserve_management",
    "torchserve_metrics", "ssl_certificate", "ssl_certificate_key", NULL
};

static const char  *ngx_props_blocks[] = {
    "events", "http", "server", "location", NULL
};


/* never called: the models to load at start are not written (above) */
ts_archive_t *
ts_archive_open(const char *path, const ts_archive_limits_t *limits,
    char *err, size_t errlen)
{
    abort();
}


void
ts_archive_free(ts_archive_t *a)
{
    abort();
}


static int
ngx_props_in(const char *word, const char **list)
{
    size_t  i;

    for (i = 0; list[i] != NULL; i++) {
        if (strcmp(word, list[i]) == 0) {
            return 1;
        }
    }

    return 0;
}


static void
ngx_props_bad_conf(const char *why, const char *conf)
{
    fprintf(stderr, "ngx_props: the nginx.conf written is broken: %s\n"
            "----\n%s----\n", why, conf);
    abort();
}


/* one directive, its arguments and how it ended (';', '{') */
static void
ngx_props_directive(char args[][1024], size_t nargs, int block,
    const char *conf)
{
    if (!ngx_props_in(args[0], ngx_props_directives)) {
        ngx_props_bad_conf("a directive of its own", conf);
    }

    if (block != ngx_props_in(args[0], ngx_props_blocks)) {
        ngx_props_bad_conf("a block where none is, or none where one is",
                           conf);
    }

    if (strcmp(args[0], "listen") == 0
        && !(nargs == 2 || (nargs == 3 && strcmp(args[2], "ssl") == 0)))
    {
        ngx_props_bad_conf("listen has more than an address", conf);
    }

    if (strcmp(args[0], "location") == 0 && nargs != 2) {
        ngx_props_bad_conf("location has more than a prefix", conf);
    }
}


/*
 * nginx's tokens, as ngx_conf_read_token reads them: blanks separate,
 * ';' ends a directive, '{' and '}' a block, '#' at a token's start is a
 * comment, "..." and '...' quote (with \ escapes).
 */
static void
ngx_props_check_conf(const char *conf)
{
    int          depth, quoted;
    char         args[NGX_PROPS_MAX_ARGS][1024], q;
    size_t       nargs, n;
    const char  *p;

    depth = 0;
    nargs = 0;

    for (p = conf; *p != '\0'; ) {
        if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
            p++;
            continue;
        }

        if (*p == '#') {
            while (*p != '\0' && *p != '\n') {
                p++;
            }
            continue;
        }

        if (*p == ';' || *p == '{') {
            if (nargs == 0) {
                ngx_props_bad_conf("an empty directive", conf);
            }

            ngx_props_directive(args, nargs, *p == '{', conf);
            depth += *p == '{';
            nargs = 0;
            p++;
            continue;
        }

        if (*p == '}') {
            if (nargs != 0 || --depth < 0) {
                ngx_props_bad_conf("an unbalanced '}'", conf);
            }
            p++;
            continue;
        }

        n = 0;
        quoted = (*p == '"' || *p == '\'');
        q = *p;

        if (quoted) {
            for (p++; *p != q; p++) {
                if (*p == '\0') {
                    ngx_props_bad_conf("an unterminated quote", conf);
                }

                if (*p == '\\' && p[1] != '\0') {
                    p++;
                }

                if (nargs < NGX_PROPS_MAX_ARGS
                    && n < sizeof(args[0]) - 1)
                {
                    args[nargs][n++] = *p;
                }
            }

            p++;

            if (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n'
                && *p != '\r' && *p != ';' && *p != '{')
            {
                /* nginx: unexpected "x" after a quoted string */
                ngx_props_bad_conf("a quote followed by more", conf);
            }

        } else {
            while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r'
                   && *p != '\n' && *p != ';' && *p != '{' && *p != '}')
            {
                if (nargs < NGX_PROPS_MAX_ARGS
                    && n < sizeof(args[0]) - 1)
                {
                    args[nargs][n++] = *p;
                }
                p++;
            }
        }

        if (nargs < NGX_PROPS_MAX_ARGS) {
            args[nargs][n] = '\0';
        }

        nargs++;
    }

    if (nargs != 0 || depth != 0) {
        ngx_props_bad_conf("an unterminated directive or block", conf);
    }
}


static void
ngx_props_write_conf(const tsc_settings_t *s, FILE *console)
{
    char    path[512], err[TSC_ERRLEN], *conf;
    long    size;
    FILE   *f;

    if (tsc_conf_write(s, ngx_props_run_dir, "/fuzz/module.so", err,
                       sizeof(err))
        != 0)
    {
        return;
    }

    snprintf(path, sizeof(path), "%s/nginx.conf", ngx_props_run_dir);

    f = fopen(path, "rb");
    if (f == NULL) {
        abort();
    }

    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0)
    {
        abort();
    }

    conf = malloc(size + 1);
    if (conf == NULL || fread(conf, 1, size, f) != (size_t) size) {
        abort();
    }

    fclose(f);
    conf[size] = '\0';

    stderr = console;
    ngx_props_check_conf(conf);

    free(conf);
    unlink(path);
}


/* what torchserve.c never frees (the process ends), freed here */
static void
ngx_props_settings_free(tsc_settings_t *s)
{
    size_t  i;

    for (i = 0; i < s->nmodels; i++) {
        free(s->models[i].name);
        free(s->models[i].path);
    }

    for (i = 0; i < s->nper_model; i++) {
        free(s->per_model[i].name);
    }

    free(s->model_store);
    free(s->allowed_urls);
    free(s->certificate_file);
    free(s->private_key_file);
}


/* torchserve.c's tsc_props_enabled */
static int
ngx_props_enabled(const tsc_props_t *p, const char *key)
{
    size_t  i;

    for (i = 0; i < p->n; i++) {
        if (strcmp(p->props[i].key, key) == 0) {
            return strcasecmp(p->props[i].value, "true") == 0;
        }
    }

    return 0;
}


static void
ngx_props_cleanup(void)
{
    char  path[512];

    snprintf(path, sizeof(path), "%s/nginx.conf.tmp", ngx_props_run_dir);
    unlink(path);
    rmdir(ngx_props_run_dir);
}


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char  *tmp;

    tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

    /* earlier runs' folders: libFuzzer ends with _Exit(), atexit never runs */
    (void) ts_archive_remove_stale(tmp, "ngx_props.");

    snprintf(ngx_props_run_dir, sizeof(ngx_props_run_dir),
             "%s/ngx_props.%ld", tmp, (long) getpid());

    if (mkdir(ngx_props_run_dir, 0700) != 0) {
        perror(ngx_props_run_dir);
        abort();
    }

    atexit(ngx_props_cleanup);

    /* the command's warnings (unknown keys...), at every input */
    ngx_props_null = fopen("/dev/null", "w");
    if (ngx_props_null == NULL) {
        abort();
    }

    /* what enable_envvars_config=true reads (use_env_allowed_urls too) */
    setenv("TS_JOB_QUEUE_SIZE", "9", 1);
    setenv("TS_ALLOWED_URLS", "https://example\\.com/.*", 1);
    setenv("TS_INFERENCE_ADDRESS", "http://0.0.0.0:8080", 1);
    setenv("TS_NOT_A_KEY", "1", 1);

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char            err[TSC_ERRLEN];
    FILE           *console;
    size_t          i;
    tsc_props_t     props;
    tsc_settings_t  s;

    if (tsc_props_parse((const char *) data, size, "config.properties",
                        &props, err, sizeof(err))
        != 0)
    {
        return 0;
    }

    /* every key once, each with its text: nothing past the end */
    for (i = 0; i < props.n; i++) {
        if (props.props[i].key == NULL || props.props[i].value == NULL
            || props.props[i].line < 1)
        {
            abort();
        }
    }

    memset(&s, 0, sizeof(tsc_settings_t));
    tsc_settings_defaults(&s);

    console = stderr;
    stderr = ngx_props_null;

    if ((!ngx_props_enabled(&props, "enable_envvars_config")
         || tsc_props_from_env(&props, err, sizeof(err)) == 0)
        && tsc_settings_from_props(&s, &props, err, sizeof(err)) == 0)
    {
        for (i = 0; i < s.nmodels; i++) {
            free(s.models[i].name);
            free(s.models[i].path);
        }

        s.nmodels = 0;

        ngx_props_write_conf(&s, console);
    }

    stderr = console;

    ngx_props_settings_free(&s);
    tsc_props_free(&props);

    return 0;
}
