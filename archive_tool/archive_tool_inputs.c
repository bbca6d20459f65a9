/*
 * archive_tool_inputs.c: what goes into the archive, decided as upstream's
 * ModelExportUtils.copy_artifacts and archive_dir decide it
 * (model-archiver/model_archiver/model_packaging_utils.py, 0.12):
 *
 *   - the model file, serialized file, requirements and config files are
 *     shutil.copy'd by base name;
 *   - the handler too, unless it is a built-in name; "x" and "x:fn" mean
 *     "x.py" (for the LSP runtime "x.so");
 *   - --extra-files is split on ','; an item with * ? or [...] is a glob
 *     (one that matches nothing is a warning), any other must exist
 *     ("File does not exist: ..."); a file is copied by base name; a
 *     folder's CONTENTS are copied to the root (its files by name, its
 *     sub-folders with copytree, following links); a match that is
 *     neither is "Invalid extra file given ...";
 *   - a later copy replaces an earlier one of the same name; copytree
 *     onto an existing folder fails ("[Errno 17] File exists");
 *   - archive_dir then skips folders named __MACOSX, __pycache__ or
 *     starting with '.', at any depth (hidden files are kept), and writes
 *     no folder entries.
 *
 * Nothing is copied here: the entries name their sources, which the
 * writer reads once, so no temp folder is needed (upstream's is
 * /tmp/{model-name}, removed first if it exists).
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "archive_tool.h"


/* bounds copytree's recursion, which follows links to folders */
#define AT_MAX_DEPTH  64


typedef struct at_walk_s  at_walk_t;

struct at_walk_s {
    dev_t        dev;
    ino_t        ino;
    at_walk_t   *parent;
};


static int at_add_input_file(at_inputs_t *in, const char *path,
    char *err, size_t errlen);
static int at_check_input_file(const char *path, char *err, size_t errlen);
static char *at_handler_file(const char *runtime, const char *handler);
static int at_add_extra(at_inputs_t *in, const at_options_t *o,
    const char *item, char *err, size_t errlen);
static int at_add_extra_match(at_inputs_t *in, const char *path, char *err,
    size_t errlen);
static int at_copytree(at_inputs_t *in, const char *name, const char *path,
    const struct stat *st, at_walk_t *parent, unsigned depth, char *err,
    size_t errlen);
static int at_entry_add(at_inputs_t *in, const char *name, const char *path,
    int fd, int dir, char *err, size_t errlen);
static ssize_t at_entry_find(const at_inputs_t *in, const char *name);
static int at_entry_conflict(const at_inputs_t *in, const char *name,
    int dir, char *err, size_t errlen);
static char *at_join(const char *dir, const char *name);
static int at_skipped_folder(const char *name);
static int at_is_wildcard(const char *s);
static int at_os_error(char *err, size_t errlen, int e, const char *path);
static int at_cmp_entries(const void *one, const void *two);


/* upstream's model_handlers, plus ours (runtime/ts_handler.c's table) */
static const char  *at_builtin_handlers[] = {
    "base_handler", "text_classifier", "image_classifier",
    "object_detector", "image_segmenter", "dali_image_classifier",
    "vllm_handler", "trt_llm_handler",
    "tensor",
    NULL
};

/* the LSP (C++ backend) runtime's built-ins */
static const char  *at_builtin_lsp_handlers[] = {
    "BaseHandler", "TorchScriptHandler", NULL
};


const char *
at_basename(const char *path)
{
    const char  *slash;

    slash = strrchr(path, '/');

    return slash ? slash + 1 : path;
}


int
at_handler_builtin(const char *runtime, const char *handler)
{
    size_t        i;
    const char  **names;

    names = strcmp(runtime, "LSP") == 0 ? at_builtin_lsp_handlers
                                        : at_builtin_handlers;

    for (i = 0; names[i] != NULL; i++) {
        if (strcmp(names[i], handler) == 0) {
            return 1;
        }
    }

    return 0;
}


int
at_inputs_collect(const at_options_t *o, at_inputs_t *in, char *err,
    size_t errlen)
{
    int    rc;
    char  *list, *item, *next, *path;

    /* exported, they are read by Python, not packed: still checked here */
    if (o->export_torchscript
        && (at_check_input_file(o->model_file, err, errlen) != 0
            || at_check_input_file(o->serialized_file, err, errlen) != 0))
    {
        return -1;
    }

    /* the order of upstream's artifact_files dict: later copies win */
    if (o->model_file && !o->export_torchscript
        && at_add_input_file(in, o->model_file, err, errlen) != 0)
    {
        return -1;
    }

    if (o->serialized_file && !o->export_torchscript
        && at_add_input_file(in, o->serialized_file, err, errlen) != 0)
    {
        return -1;
    }

    if (o->handler && o->handler[0] != '\0'
        && !at_handler_builtin(o->runtime, o->handler))
    {
        path = at_handler_file(o->runtime, o->handler);
        if (path == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }

        rc = at_add_input_file(in, path, err, errlen);
        free(path);

        if (rc != 0) {
            return -1;
        }
    }

    if (o->extra_files != NULL) {
        list = strdup(o->extra_files);
        if (list == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }

        for (item = list; item != NULL; item = next) {
            next = strchr(item, ',');

            if (next != NULL) {
                *next++ = '\0';
            }

            if (at_add_extra(in, o, item, err, errlen) != 0) {
                free(list);
                return -1;
            }
        }

        free(list);
    }

    if (o->requirements_file
        && at_add_input_file(in, o->requirements_file, err, errlen) != 0)
    {
        return -1;
    }

    if (o->config_file
        && at_add_input_file(in, o->config_file, err, errlen) != 0)
    {
        return -1;
    }

    return 0;
}


int
at_inputs_add_fd(at_inputs_t *in, const char *name, int fd,
    const char *label, char *err, size_t errlen)
{
    return at_entry_add(in, name, label, fd, 0, err, errlen);
}


void
at_inputs_sort(at_inputs_t *in)
{
    if (in->n > 1) {
        qsort(in->entries, in->n, sizeof(at_entry_t), at_cmp_entries);
    }
}


void
at_inputs_free(at_inputs_t *in)
{
    size_t  i;

    for (i = 0; i < in->n; i++) {
        free(in->entries[i].name);
        free(in->entries[i].path);

        if (in->entries[i].fd != -1) {
            close(in->entries[i].fd);
        }
    }

    free(in->entries);
    memset(in, 0, sizeof(at_inputs_t));
}


/*
 * The file a handler names.  Upstream: for Python, a handler without
 * ".py" is "x" or "x:fn" and means x.py, one with ".py" is copied as it
 * is (so "x.py:fn" fails there: we take x.py, unless a file is literally
 * named so); for LSP, "x" or "x:fn" means x.so (upstream appends ".so"
 * even to "x.so": we do not).
 */

static char *
at_handler_file(const char *runtime, const char *handler)
{
    char         *path;
    size_t        len;
    struct stat   st;

    len = strcspn(handler, ":");

    path = malloc(len + sizeof(".py"));
    if (path == NULL) {
        return NULL;
    }

    memcpy(path, handler, len);
    path[len] = '\0';

    if (strcmp(runtime, "LSP") == 0) {
        if (len < 3 || strcmp(path + len - 3, ".so") != 0) {
            memcpy(path + len, ".so", sizeof(".so"));
        }

        return path;
    }

    if (strstr(handler, ".py") == NULL) {
        memcpy(path + len, ".py", sizeof(".py"));
        return path;
    }

    if (handler[len] == ':' && stat(handler, &st) == 0
        && S_ISREG(st.st_mode))
    {
        free(path);
        return strdup(handler);
    }

    return path;
}


/* shutil.copy(path, model_path): a regular file, by its base name */

static int
at_add_input_file(at_inputs_t *in, const char *path, char *err,
    size_t errlen)
{
    if (at_check_input_file(path, err, errlen) != 0) {
        return -1;
    }

    return at_entry_add(in, at_basename(path), path, -1, 0, err, errlen);
}


static int
at_check_input_file(const char *path, char *err, size_t errlen)
{
    struct stat  st;

    if (stat(path, &st) == -1) {
        return at_os_error(err, errlen, errno, path);
    }

    if (S_ISDIR(st.st_mode)) {
        return at_os_error(err, errlen, EISDIR, path);
    }

    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "`%s` is not a regular file", path);
        return -1;
    }

    if (at_basename(path)[0] == '\0') {
        return at_os_error(err, errlen, ENOTDIR, path);
    }

    return 0;
}


static int
at_add_extra(at_inputs_t *in, const at_options_t *o, const char *item,
    char *err, size_t errlen)
{
    int           rc, wildcard;
    char         *pattern;
    size_t        i, len;
    glob_t        g;
    struct stat   st;

    wildcard = at_is_wildcard(item);

    /* Path(item).exists(), on the item as given ("" is the cwd) */
    if (!wildcard && stat(item[0] ? item : ".", &st) == -1) {
        snprintf(err, errlen, "File does not exist: %s", item);
        return -1;
    }

    /* glob.glob(item.strip()) */
    while (*item == ' ' || (*item >= '\t' && *item <= '\r')) {
        item++;
    }

    len = strlen(item);

    while (len > 0 && (item[len - 1] == ' '
                       || (item[len - 1] >= '\t' && item[len - 1] <= '\r')))
    {
        len--;
    }

    if (len == 0) {
        /* glob("") matches nothing, silently */
        return 0;
    }

    pattern = strndup(item, len);
    if (pattern == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    if (!at_is_wildcard(pattern)) {
        /* a name without magic: glob returns it if it lexists */
        rc = 0;

        if (lstat(pattern, &st) == 0) {
            rc = at_add_extra_match(in, pattern, err, errlen);
        }

        free(pattern);
        return rc;
    }

    /* Python's glob: no backslash escapes, '*' skips dot files */
    rc = glob(pattern, GLOB_NOESCAPE, NULL, &g);

    if (rc == GLOB_NOMATCH || (rc == 0 && g.gl_pathc == 0)) {
        at_warn(o, "Given wildcard pattern did not match any file: %s",
                item);

        if (rc == 0) {
            globfree(&g);
        }

        free(pattern);
        return 0;
    }

    if (rc != 0) {
        snprintf(err, errlen, "cannot expand \"%s\": %s", pattern,
                 rc == GLOB_NOSPACE ? "out of memory" : "read error");
        free(pattern);
        return -1;
    }

    rc = 0;

    for (i = 0; i < g.gl_pathc; i++) {
        rc = at_add_extra_match(in, g.gl_pathv[i], err, errlen);
        if (rc != 0) {
            break;
        }
    }

    globfree(&g);
    free(pattern);

    return rc;
}


/* the next entry of dir but "." and ".."; NULL at the end, or with
 * *rc = -1 and err set when reading fails */
static struct dirent *
at_readdir(DIR *dir, const char *path, int *rc, char *err, size_t errlen)
{
    struct dirent  *de;

    for ( ;; ) {
        errno = 0;
        de = readdir(dir);

        if (de == NULL) {
            if (errno != 0) {
                *rc = at_os_error(err, errlen, errno, path);
            }

            return NULL;
        }

        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
            return de;
        }
    }
}


/*
 * A file: copied by base name.  A folder: each item in it, a file by its
 * name, a folder by copytree; an item that is neither (a dangling link, a
 * FIFO) is skipped, as upstream's isfile/isdir tests skip it.
 */

static int
at_add_extra_match(at_inputs_t *in, const char *path, char *err,
    size_t errlen)
{
    int             rc;
    DIR            *dir;
    char           *sub;
    at_walk_t       top;
    struct stat     st, sst;
    struct dirent  *de;

    if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
        if (at_basename(path)[0] == '\0') {
            return at_os_error(err, errlen, ENOTDIR, path);
        }

        return at_entry_add(in, at_basename(path), path, -1, 0, err,
                            errlen);
    }

    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "Invalid extra file given %s", path);
        return -1;
    }

    /* the folder itself heads the chain a link loop is looked for in */
    top.dev = st.st_dev;
    top.ino = st.st_ino;
    top.parent = NULL;

    dir = opendir(path);
    if (dir == NULL) {
        return at_os_error(err, errlen, errno, path);
    }

    rc = 0;

    while ((de = at_readdir(dir, path, &rc, err, errlen)) != NULL) {

        sub = at_join(path, de->d_name);
        if (sub == NULL) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
            break;
        }

        if (stat(sub, &sst) == 0 && S_ISREG(sst.st_mode)) {
            rc = at_entry_add(in, de->d_name, sub, -1, 0, err, errlen);

        } else if (stat(sub, &sst) == 0 && S_ISDIR(sst.st_mode)) {
            rc = at_copytree(in, de->d_name, sub, &sst, &top, 0, err,
                             errlen);
        }

        free(sub);

        if (rc != 0) {
            break;
        }
    }

    closedir(dir);

    return rc;
}


/*
 * shutil.copytree(path, name): the target must not exist yet; links are
 * followed (a loop is refused instead of recursing until the path is too
 * long); special files and dangling links are errors, as copy2 makes
 * them.  Folders archive_dir would skip are skipped here.
 */

static int
at_copytree(at_inputs_t *in, const char *name, const char *path,
    const struct stat *st, at_walk_t *parent, unsigned depth, char *err,
    size_t errlen)
{
    int             rc;
    DIR            *dir;
    char           *sub, *subname;
    at_walk_t       self, *w;
    struct stat     sst;
    struct dirent  *de;

    if (at_skipped_folder(at_basename(name))) {
        return 0;
    }

    if (depth >= AT_MAX_DEPTH) {
        snprintf(err, errlen, "\"%s\": folders nested more than %d deep",
                 path, AT_MAX_DEPTH);
        return -1;
    }

    for (w = parent; w != NULL; w = w->parent) {
        if (w->dev == st->st_dev && w->ino == st->st_ino) {
            snprintf(err, errlen, "\"%s\": a symbolic link loop (the folder "
                     "contains itself)", path);
            return -1;
        }
    }

    if (at_entry_add(in, name, path, -1, 1, err, errlen) != 0) {
        return -1;
    }

    self.dev = st->st_dev;
    self.ino = st->st_ino;
    self.parent = parent;

    dir = opendir(path);
    if (dir == NULL) {
        return at_os_error(err, errlen, errno, path);
    }

    rc = 0;

    while ((de = at_readdir(dir, path, &rc, err, errlen)) != NULL) {

        sub = at_join(path, de->d_name);
        subname = at_join(name, de->d_name);

        if (sub == NULL || subname == NULL) {
            free(sub);
            free(subname);
            snprintf(err, errlen, "out of memory");
            rc = -1;
            break;
        }

        if (stat(sub, &sst) == -1) {
            rc = at_os_error(err, errlen, errno, sub);

        } else if (S_ISDIR(sst.st_mode)) {
            rc = at_copytree(in, subname, sub, &sst, &self, depth + 1, err,
                             errlen);

        } else if (S_ISREG(sst.st_mode)) {
            rc = at_entry_add(in, subname, sub, -1, 0, err, errlen);

        } else {
            snprintf(err, errlen, "`%s` is %s", sub,
                     S_ISFIFO(sst.st_mode) ? "a named pipe"
                                           : "not a regular file");
            rc = -1;
        }

        free(sub);
        free(subname);

        if (rc != 0) {
            break;
        }
    }

    closedir(dir);

    return rc;
}


/*
 * A file replaces a file of the same name (shutil.copy overwrites); a
 * folder may not land where anything is (copytree); a file may not be
 * where a folder is, nor under a file.
 */

static int
at_entry_add(at_inputs_t *in, const char *name, const char *path, int fd,
    int dir, char *err, size_t errlen)
{
    char        *n, *p;
    size_t       cap;
    ssize_t      i;
    at_entry_t  *entries, *e;

    i = at_entry_find(in, name);

    if (i >= 0 && !dir && !in->entries[i].dir) {
        p = strdup(path);
        if (p == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }

        e = &in->entries[i];

        free(e->path);

        if (e->fd != -1) {
            close(e->fd);
        }

        e->path = p;
        e->fd = fd;

        return 0;
    }

    if (i >= 0) {
        return at_os_error(err, errlen, EEXIST, name);
    }

    if (at_entry_conflict(in, name, dir, err, errlen) != 0) {
        return -1;
    }

    if (in->n == in->cap) {
        cap = in->cap ? in->cap * 2 : 16;

        entries = realloc(in->entries, cap * sizeof(at_entry_t));
        if (entries == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }

        in->entries = entries;
        in->cap = cap;
    }

    n = strdup(name);
    p = strdup(path);

    if (n == NULL || p == NULL) {
        free(n);
        free(p);
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    e = &in->entries[in->n++];

    e->name = n;
    e->path = p;
    e->fd = fd;
    e->dir = dir ? 1 : 0;

    return 0;
}


static ssize_t
at_entry_find(const at_inputs_t *in, const char *name)
{
    size_t  i;

    for (i = 0; i < in->n; i++) {
        if (strcmp(in->entries[i].name, name) == 0) {
            return (ssize_t) i;
        }
    }

    return -1;
}


/* "a" and "a/b": a file "a" cannot also hold "a/b", nor a folder be "a" */

static int
at_entry_conflict(const at_inputs_t *in, const char *name, int dir,
    char *err, size_t errlen)
{
    size_t       i, len, elen;
    const char  *other;

    len = strlen(name);

    for (i = 0; i < in->n; i++) {
        other = in->entries[i].name;
        elen = strlen(other);

        /* an existing file is a folder of the new name */
        if (!in->entries[i].dir && elen < len
            && strncmp(name, other, elen) == 0 && name[elen] == '/')
        {
            snprintf(err, errlen, "\"%s\" is a file in the archive and "
                     "cannot hold \"%s\"", other, name);
            return -1;
        }

        /* the new file is a folder of an existing entry */
        if (!dir && len < elen
            && strncmp(other, name, len) == 0 && other[len] == '/')
        {
            return at_os_error(err, errlen, EISDIR, name);
        }
    }

    return 0;
}


/* os.path.join(dir, name) */

static char *
at_join(const char *dir, const char *name)
{
    char    *s;
    size_t   dlen, nlen, slash;

    dlen = strlen(dir);
    nlen = strlen(name);
    slash = (dlen > 0 && dir[dlen - 1] != '/') ? 1 : 0;

    s = malloc(dlen + slash + nlen + 1);
    if (s == NULL) {
        return NULL;
    }

    memcpy(s, dir, dlen);

    if (slash) {
        s[dlen] = '/';
    }

    memcpy(s + dlen + slash, name, nlen + 1);

    return s;
}


/* archive_dir's directory_filter */

static int
at_skipped_folder(const char *name)
{
    return name[0] == '.'
           || strcmp(name, "__MACOSX") == 0
           || strcmp(name, "__pycache__") == 0;
}


/* upstream's maybe_wildcard: '*', '?', or both '[' and ']' */

static int
at_is_wildcard(const char *s)
{
    return strchr(s, '*') != NULL || strchr(s, '?') != NULL
           || (strchr(s, '[') != NULL && strchr(s, ']') != NULL);
}


/* Python's OSError text: "[Errno 2] No such file or directory: 'x'" */

static int
at_os_error(char *err, size_t errlen, int e, const char *path)
{
    snprintf(err, errlen, "[Errno %d] %s: '%s'", e, strerror(e), path);
    return -1;
}


/*
 * os.walk's order, top-down: a folder's files before its sub-folders'
 * contents; names compared bytewise at each level.
 */

static int
at_cmp_entries(const void *one, const void *two)
{
    int          a_last, b_last, c;
    size_t       alen, blen, n;
    const char  *a, *b;

    a = ((const at_entry_t *) one)->name;
    b = ((const at_entry_t *) two)->name;

    for ( ;; ) {
        alen = strcspn(a, "/");
        blen = strcspn(b, "/");

        a_last = a[alen] == '\0';
        b_last = b[blen] == '\0';

        if (a_last != b_last) {
            return a_last ? -1 : 1;
        }

        n = alen < blen ? alen : blen;
        c = memcmp(a, b, n);

        if (c == 0 && alen != blen) {
            c = alen < blen ? -1 : 1;
        }

        if (c != 0 || a_last) {
            return c;
        }

        a += alen + 1;
        b += blen + 1;
    }
}
