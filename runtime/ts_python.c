/*
 * ts_python.c: the embedded interpreter and the Python servable (see
 * ts_python.h).  The C side stays small: it starts the interpreter, hands
 * requests to ts._embed (our glue, Python) as plain tuples and copies the
 * answers back; loading, Context, data decoding and answers are Python's.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ts_handler.h"
#include "ts_python.h"
#include "ts_torch.h"


struct ts_python_s {
    PyObject     *service;        /* a ts._embed.Service */
    char         *requirements;
};


static pthread_mutex_t  ts_python_lock = PTHREAD_MUTEX_INITIALIZER;
static int              ts_python_up;
static int              ts_python_failed;
static char             ts_python_broken[512];  /* why it cannot serve */
static PyObject        *ts_python_embed;       /* the ts._embed module */
static char             ts_python_notice_text[1024];


static int ts_python_start(const char *python_path, char *err,
    size_t errlen);
static int ts_python_paths(const char *python_path, char *err,
    size_t errlen);
static const char *ts_python_package_dir(void);
static void ts_python_shadowed(const char *ours);
static void ts_python_error(int *code, char **detail, char *err,
    size_t errlen);
static PyGILState_STATE ts_python_ensure(void);
static PyObject *ts_python_requests(ts_request_t *reqs, size_t n);
static PyObject *ts_python_headers(const char *p, size_t len);
static int ts_python_answer(ts_request_t *r, PyObject *item);
static char *ts_python_pairs(PyObject *list, size_t *len);
static void ts_python_fail(ts_request_t *reqs, size_t n, int code,
    const char *msg, const char *detail);


int
ts_python_started(void)
{
    int  up;

    pthread_mutex_lock(&ts_python_lock);
    up = ts_python_up;
    pthread_mutex_unlock(&ts_python_lock);

    return up;
}


/*
 * Once per process, from whichever thread loads the first Python
 * servable: no signal handlers, no PYTHON* variables, no user site; the
 * starting thread releases the GIL before it goes back to its pool.
 */
/*
 * The GIL, in a thread that keeps its Python thread state from call to
 * call: a state that PyGILState_Ensure makes, the matching Release
 * deletes, and every batch would pay for a new one (3.11 mmaps its frame
 * stack) and lose what the handler keeps in threading.local.  Pool
 * threads live as long as the process, as the interpreter does.
 */
static __thread int  ts_python_thread_kept;

static PyGILState_STATE
ts_python_ensure(void)
{
    if (!ts_python_thread_kept) {
        (void) PyGILState_Ensure();
        (void) PyEval_SaveThread();
        ts_python_thread_kept = 1;
    }

    return PyGILState_Ensure();
}


static int
ts_python_start(const char *python_path, char *err, size_t errlen)
{
    char     *argv[] = { (char *) "", NULL };
    PyStatus  st;
    PyConfig  config;

    pthread_mutex_lock(&ts_python_lock);

    if (ts_python_up) {
        pthread_mutex_unlock(&ts_python_lock);
        return 0;
    }

    /* an interpreter starts once a process: a failed start stays failed */
    if (ts_python_failed) {
        snprintf(err, errlen, "%s", ts_python_broken);
        pthread_mutex_unlock(&ts_python_lock);
        return -1;
    }

    PyConfig_InitPythonConfig(&config);
    config.install_signal_handlers = 0;
    config.parse_argv = 0;
    config.use_environment = 0;
    config.user_site_directory = 0;
    config.buffered_stdio = 0;

    /*
     * Debian's interpreter, whatever python3 a PATH would find; argv and
     * executable for the handlers that use argparse or multiprocessing
     */
    st = PyConfig_SetString(&config, &config.program_name,
                            L"/usr/bin/python3");

    if (!PyStatus_Exception(st)) {
        st = PyConfig_SetString(&config, &config.executable,
                                L"/usr/bin/python3");
    }

    if (!PyStatus_Exception(st)) {
        st = PyConfig_SetBytesArgv(&config, 1, argv);
    }

    if (!PyStatus_Exception(st)) {
        st = Py_InitializeFromConfig(&config);
    }

    PyConfig_Clear(&config);

    if (PyStatus_Exception(st)) {
        snprintf(err, errlen, "starting Python failed: %s",
                 st.err_msg ? st.err_msg : "unknown error");
        snprintf(ts_python_broken, sizeof(ts_python_broken), "%s", err);
        ts_python_failed = 1;
        pthread_mutex_unlock(&ts_python_lock);
        return -1;
    }

    if (ts_python_paths(python_path, err, errlen) != 0) {
        /* the interpreter stays, unusable for us: later loads say so */
        snprintf(ts_python_broken, sizeof(ts_python_broken), "%s", err);
        ts_python_failed = 1;
        PyEval_SaveThread();
        pthread_mutex_unlock(&ts_python_lock);
        return -1;
    }

    ts_python_up = 1;

    PyEval_SaveThread();
    pthread_mutex_unlock(&ts_python_lock);

    return 0;
}


/* our package first, then torchserve_python_path, then Debian's */
static int
ts_python_paths(const char *python_path, char *err, size_t errlen)
{
    char        *copy, *dir, *save;
    PyObject    *sys_path, *item, *mod;
    const char  *ours;
    Py_ssize_t   at;

    sys_path = PySys_GetObject("path");          /* borrowed */
    if (sys_path == NULL || !PyList_Check(sys_path)) {
        snprintf(err, errlen, "Python has no sys.path");
        return -1;
    }

    at = 0;
    ours = ts_python_package_dir();

    item = PyUnicode_DecodeFSDefault(ours);
    if (item == NULL || PyList_Insert(sys_path, at++, item) != 0) {
        Py_XDECREF(item);
        ts_python_error(NULL, NULL, err, errlen);
        return -1;
    }
    Py_DECREF(item);

    if (python_path != NULL && *python_path != '\0') {
        copy = strdup(python_path);
        if (copy == NULL) {
            snprintf(err, errlen, "no memory");
            return -1;
        }

        for (dir = strtok_r(copy, ":", &save); dir != NULL;
             dir = strtok_r(NULL, ":", &save))
        {
            item = PyUnicode_DecodeFSDefault(dir);
            if (item == NULL || PyList_Insert(sys_path, at++, item) != 0) {
                Py_XDECREF(item);
                free(copy);
                ts_python_error(NULL, NULL, err, errlen);
                return -1;
            }
            Py_DECREF(item);
        }

        free(copy);
    }

    mod = PyImport_ImportModule("ts._embed");
    if (mod == NULL) {
        ts_python_error(NULL, NULL, err, errlen);
        return -1;
    }

    ts_python_embed = mod;
    ts_python_shadowed(ours);

    return 0;
}


/*
 * The notice the server logs once: the interpreter's version and where
 * our ts package is, and whether another "ts" (TorchServe's own) is
 * installed too, which ours shadows.
 */
static void
ts_python_shadowed(const char *ours)
{
    PyObject    *r;
    const char  *other;

    r = PyRun_String("__import__('importlib.machinery').machinery.PathFinder"
                     ".find_spec('ts', __import__('sys').path[1:])",
                     Py_eval_input, PyModule_GetDict(ts_python_embed),
                     PyModule_GetDict(ts_python_embed));

    other = NULL;

    if (r != NULL && r != Py_None) {
        PyObject  *origin = PyObject_GetAttrString(r, "origin");

        if (origin != NULL && PyUnicode_Check(origin)) {
            other = PyUnicode_AsUTF8(origin);
        }

        snprintf(ts_python_notice_text, sizeof(ts_python_notice_text),
                 "Python %.*s, our ts package from \"%s\"; another \"ts\" "
                 "package (TorchServe's?) at \"%s\" is shadowed by ours",
                 (int) strcspn(Py_GetVersion(), " "), Py_GetVersion(), ours,
                 other ? other : "?");
        Py_XDECREF(origin);

    } else {
        snprintf(ts_python_notice_text, sizeof(ts_python_notice_text),
                 "Python %.*s, our ts package from \"%s\"",
                 (int) strcspn(Py_GetVersion(), " "), Py_GetVersion(), ours);
    }

    Py_XDECREF(r);
    PyErr_Clear();
}


const char *
ts_python_notice(void)
{
    return ts_python_notice_text;
}


/*
 * Where our ts package is: "torchserve_python" beside the module's .so
 * (make install puts it there), else the source tree's runtime/python.
 */
static const char *
ts_python_package_dir(void)
{
    static char  dir[PATH_MAX];
    Dl_info      info;
    struct stat  st;

    if (dladdr((void *) ts_python_package_dir, &info) != 0
        && info.dli_fname != NULL
        && strlen(info.dli_fname) < sizeof(dir) - 32)
    {
        snprintf(dir, sizeof(dir), "%s", info.dli_fname);
        snprintf(dir + strlen(dirname(dir)), sizeof(dir) - strlen(dir),
                 "/torchserve_python");

        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
            return dir;
        }
    }

    return TS_PYTHON_DIR;
}


ts_python_t *
ts_python_load(const ts_python_options_t *o, char **detail, char *err,
    size_t errlen)
{
    PyObject         *service, *req, *gpu;
    ts_python_t      *py;
    PyGILState_STATE  gil;

    *detail = NULL;

    if (ts_python_start(o->python_path, err, errlen) != 0) {
        return NULL;
    }

    py = calloc(1, sizeof(ts_python_t));
    if (py == NULL) {
        snprintf(err, errlen, "no memory");
        return NULL;
    }

    ts_torch_apply_intra_op_threads();

    gil = ts_python_ensure();

    gpu = o->gpu_id >= 0 ? PyLong_FromLong(o->gpu_id) : Py_NewRef(Py_None);

    service = gpu == NULL ? NULL
              : PyObject_CallMethod(ts_python_embed, "load", "ssiiOss",
                                    o->model_dir, o->handler, o->instances,
                                    o->batch_size, gpu, o->model_name,
                                    o->model_version);
    Py_XDECREF(gpu);

    if (service == NULL) {
        ts_python_error(NULL, detail, err, errlen);
        PyGILState_Release(gil);
        free(py);
        return NULL;
    }

    req = PyObject_GetAttrString(service, "requirements");

    if (req != NULL && PyUnicode_Check(req)) {
        py->requirements = strdup(PyUnicode_AsUTF8(req));
    }

    Py_XDECREF(req);
    PyErr_Clear();

    py->service = service;

    PyGILState_Release(gil);

    return py;
}


const char *
ts_python_requirements(ts_python_t *py)
{
    return py->requirements;
}


int
ts_python_resize(ts_python_t *py, int n, char **detail, char *err,
    size_t errlen)
{
    long              count;
    PyObject         *rc;
    PyGILState_STATE  gil;

    *detail = NULL;

    gil = ts_python_ensure();

    rc = PyObject_CallMethod(py->service, "resize", "i", n);

    if (rc == NULL) {
        ts_python_error(NULL, detail, err, errlen);
        PyGILState_Release(gil);
        return -1;
    }

    count = PyLong_Check(rc) ? PyLong_AsLong(rc) : -1;
    Py_DECREF(rc);
    PyErr_Clear();

    PyGILState_Release(gil);

    return (int) count;
}


void
ts_python_free(ts_python_t *py)
{
    PyObject         *rc;
    PyGILState_STATE  gil;

    if (py == NULL) {
        return;
    }

    gil = ts_python_ensure();

    rc = PyObject_CallMethod(py->service, "close", NULL);
    Py_XDECREF(rc);
    PyErr_Clear();
    Py_DECREF(py->service);

    PyGILState_Release(gil);

    free(py->requirements);
    free(py);
}


void
ts_python_infer(ts_python_t *py, ts_request_t *reqs, size_t n)
{
    int               code;
    char              msg[TS_ERROR_LEN], *detail;
    size_t            i;
    PyObject         *args, *answers, *item;
    PyGILState_STATE  gil;

    ts_torch_apply_intra_op_threads();

    gil = ts_python_ensure();

    args = ts_python_requests(reqs, n);

    answers = args == NULL ? NULL
              : PyObject_CallMethod(py->service, "handle", "O", args);
    Py_XDECREF(args);

    if (answers == NULL) {
        /* a ts._embed.BatchError carries TorchServe's code; else 503 */
        code = 503;
        ts_python_error(&code, &detail, msg, sizeof(msg));
        ts_python_fail(reqs, n, code, msg, detail);
        free(detail);
        PyGILState_Release(gil);
        return;
    }

    if (!PyList_Check(answers) || (size_t) PyList_Size(answers) != n) {
        Py_DECREF(answers);
        ts_python_fail(reqs, n, 500, "the glue gave a wrong answer list",
                       NULL);
        PyGILState_Release(gil);
        return;
    }

    for (i = 0; i < n; i++) {
        item = PyList_GetItem(answers, (Py_ssize_t) i);     /* borrowed */

        if (ts_python_answer(&reqs[i], item) != 0) {
            reqs[i].status = TS_STATUS_INTERNAL;
            snprintf(reqs[i].error, TS_ERROR_LEN, "the glue gave a "
                     "malformed answer");
            PyErr_Clear();
        }
    }

    Py_DECREF(answers);
    PyGILState_Release(gil);
}


/*
 * (request_id, body, headers, explain, url_path, protocol, header_len) for
 * each request
 */
static PyObject *
ts_python_requests(ts_request_t *reqs, size_t n)
{
    size_t     i;
    PyObject  *list, *headers, *t;

    list = PyList_New((Py_ssize_t) n);
    if (list == NULL) {
        return NULL;
    }

    for (i = 0; i < n; i++) {
        headers = ts_python_headers(reqs[i].headers, reqs[i].headers_len);
        if (headers == NULL) {
            Py_DECREF(list);
            return NULL;
        }

        t = Py_BuildValue("(sy#NOsin)", reqs[i].request_id,
                          (const char *) reqs[i].body,
                          (Py_ssize_t) reqs[i].len, headers,
                          reqs[i].explain ? Py_True : Py_False,
                          reqs[i].url_path ? reqs[i].url_path : "",
                          (int) reqs[i].protocol,
                          (Py_ssize_t) reqs[i].header_len);
        if (t == NULL) {
            Py_DECREF(list);
            return NULL;
        }

        PyList_SET_ITEM(list, (Py_ssize_t) i, t);
    }

    return list;
}


/* "name\0value\0..." as [(name, value), ...]; bytes as latin-1, as HTTP */
static PyObject *
ts_python_headers(const char *p, size_t len)
{
    size_t       nl, vl;
    PyObject    *list, *t;
    const char  *end;

    list = PyList_New(0);
    if (list == NULL) {
        return NULL;
    }

    end = p + len;

    while (p != NULL && p < end) {
        nl = strnlen(p, (size_t) (end - p));
        if (p + nl + 1 >= end) {
            break;
        }

        vl = strnlen(p + nl + 1, (size_t) (end - p - nl - 1));

        t = Py_BuildValue("(NN)",
                          PyUnicode_DecodeLatin1(p, (Py_ssize_t) nl, NULL),
                          PyUnicode_DecodeLatin1(p + nl + 1,
                                                 (Py_ssize_t) vl, NULL));
        if (t == NULL || PyList_Append(list, t) != 0) {
            Py_XDECREF(t);
            Py_DECREF(list);
            return NULL;
        }

        Py_DECREF(t);
        p += nl + 1 + vl + 1;
    }

    return list;
}


/* (status, phrase, body, content_type, headers) into the request */
static int
ts_python_answer(ts_request_t *r, PyObject *item)
{
    int          code;
    char        *body;
    PyObject    *type, *headers;
    Py_ssize_t   len;
    const char  *phrase, *data, *ctype;

    if (!PyArg_ParseTuple(item, "isy#OO", &code, &phrase, &data, &len,
                          &type, &headers))
    {
        return -1;
    }

    body = malloc((size_t) len + 1);
    if (body == NULL) {
        return -1;
    }

    memcpy(body, data, (size_t) len);
    body[len] = '\0';

    r->response = body;
    r->response_len = (size_t) len;
    r->http_code = code;

    /* a CR or LF would end the status line: such a phrase is dropped */
    if (phrase[0] != '\0' && strpbrk(phrase, "\r\n") == NULL) {
        r->response_phrase = strdup(phrase);
    }

    if (type != Py_None) {
        ctype = PyUnicode_Check(type) ? PyUnicode_AsUTF8(type) : NULL;
        r->response_type = (ctype && strpbrk(ctype, "\r\n") == NULL)
                           ? strdup(ctype) : NULL;
    }

    r->response_headers = ts_python_pairs(headers, &r->response_headers_len);

    /* the handler answered: its body goes out with its own status */
    r->status = TS_STATUS_OK;

    return 0;
}


/* [(name, value), ...] as "name\0value\0..."; NULL for none */
static char *
ts_python_pairs(PyObject *list, size_t *len)
{
    char        *buf, *p;
    size_t       size, i, n;
    const char  *name, *value;

    *len = 0;

    if (list == NULL || !PyList_Check(list) || PyList_Size(list) == 0) {
        return NULL;
    }

    n = (size_t) PyList_Size(list);
    size = 0;

    for (i = 0; i < n; i++) {
        if (!PyArg_ParseTuple(PyList_GetItem(list, (Py_ssize_t) i), "ss",
                              &name, &value))
        {
            PyErr_Clear();
            return NULL;
        }

        size += strlen(name) + strlen(value) + 2;
    }

    buf = malloc(size);
    if (buf == NULL) {
        return NULL;
    }

    p = buf;

    for (i = 0; i < n; i++) {
        (void) PyArg_ParseTuple(PyList_GetItem(list, (Py_ssize_t) i), "ss",
                                &name, &value);

        /* a header that would split the response is not sent */
        if (name[0] == '\0' || strpbrk(name, "\r\n:") != NULL
            || strpbrk(value, "\r\n") != NULL)
        {
            continue;
        }

        p = stpcpy(p, name) + 1;
        p = stpcpy(p, value) + 1;
    }

    *len = (size_t) (p - buf);
    return buf;
}


static void
ts_python_fail(ts_request_t *reqs, size_t n, int code, const char *msg,
    const char *detail)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        /* TorchServe's code for it (503, 507, a PredictionException's) */
        reqs[i].status = TS_STATUS_INTERNAL;
        reqs[i].http_code = code;
        snprintf(reqs[i].error, TS_ERROR_LEN, "%s", msg);
    }

    /* one traceback for the log, not one a request */
    if (n > 0 && detail != NULL) {
        reqs[0].detail = strdup(detail);
    }
}


/*
 * The pending exception as one line in err: a ts._embed error's
 * .message, else "Type: text"; its .code (a BatchError's) in *code when
 * it has one; its .detail (or the formatted traceback) in *detail.
 * Clears the exception.
 */
static void
ts_python_error(int *code, char **detail, char *err, size_t errlen)
{
    PyObject    *type, *value, *tb, *msg, *det, *tbmod, *lines, *text, *c;
    const char  *s;

    if (detail != NULL) {
        *detail = NULL;
    }

    PyErr_Fetch(&type, &value, &tb);

    if (type == NULL) {
        snprintf(err, errlen, "unknown Python error");
        return;
    }

    PyErr_NormalizeException(&type, &value, &tb);

    if (code != NULL) {
        c = value ? PyObject_GetAttrString(value, "code") : NULL;

        if (c != NULL && PyLong_Check(c)) {
            *code = (int) PyLong_AsLong(c);
        }

        Py_XDECREF(c);
        PyErr_Clear();
    }

    msg = value ? PyObject_GetAttrString(value, "message") : NULL;
    PyErr_Clear();

    if (msg != NULL && PyUnicode_Check(msg)) {
        snprintf(err, errlen, "%s", PyUnicode_AsUTF8(msg));

    } else {
        text = value ? PyObject_Str(value) : NULL;
        s = text ? PyUnicode_AsUTF8(text) : NULL;
        snprintf(err, errlen, "%s: %s", ((PyTypeObject *) type)->tp_name,
                 s ? s : "");
        Py_XDECREF(text);
    }

    Py_XDECREF(msg);
    PyErr_Clear();

    if (detail != NULL) {
        det = value ? PyObject_GetAttrString(value, "detail") : NULL;
        PyErr_Clear();

        if (det != NULL && PyUnicode_Check(det)) {
            *detail = strdup(PyUnicode_AsUTF8(det));

        } else if (tb != NULL
                   && (tbmod = PyImport_ImportModule("traceback")) != NULL)
        {
            PyObject  *empty;

            lines = PyObject_CallMethod(tbmod, "format_exception", "OOO",
                                        type, value, tb);
            empty = PyUnicode_FromString("");
            text = (lines && empty) ? PyUnicode_Join(empty, lines) : NULL;
            if (text != NULL) {
                *detail = strdup(PyUnicode_AsUTF8(text));
            }
            Py_XDECREF(text);
            Py_XDECREF(empty);
            Py_XDECREF(lines);
            Py_DECREF(tbmod);
        }

        Py_XDECREF(det);
        PyErr_Clear();
    }

    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
}
