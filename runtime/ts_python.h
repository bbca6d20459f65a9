/*
 * ts_python.h: the Python servable.  An archive that brings Python (a
 * handler.py, an eager model.py, or a TorchServe handler we have only in
 * Python) runs in a CPython interpreter embedded in the process, through
 * our own `ts` package (runtime/python/ts/, its glue ts/_embed.py).
 *
 * The interpreter starts the first time a process loads such an archive
 * (never before: a TorchScript-only server runs no Python), without
 * Python's signal handlers, and is never finalized (numpy and torch do
 * not survive a restart of it).  The thread that starts it gives up the
 * GIL at once; every call here takes it (PyGILState) for its own length,
 * so callers may be any threads, several at once.
 */

#ifndef TS_PYTHON_H
#define TS_PYTHON_H

#include <stddef.h>

#include "ts_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ts_python_s  ts_python_t;

typedef struct {
    const char  *model_dir;       /* the archive unpacked */
    const char  *handler;         /* "x.py", "x.py:fn" or a built-in */
    const char  *model_name;
    const char  *model_version;
    int          instances;       /* handler instances (TorchServe's
                                     workers), one batch at a time each */
    int          batch_size;
    int          gpu_id;          /* -1: CPU */
    const char  *python_path;     /* ':'-separated, before sys.path; NULL */
} ts_python_options_t;


/* 1 once this process runs an interpreter */
int ts_python_started(void);

/* once started: its version, where our ts package is, what it shadows */
const char *ts_python_notice(void);

/*
 * Imports and initializes the handler (its instances); NULL with the
 * first real exception ("Type: text (file.py:LINE)") in err and, when
 * there is one, the traceback in *detail (malloc'd, the caller frees).
 */
ts_python_t *ts_python_load(const ts_python_options_t *o, char **detail,
    char *err, size_t errlen);

/* the manifest's requirementsFile we did not install, or NULL */
const char *ts_python_requirements(ts_python_t *py);

/*
 * Runs one handle() over n requests (they must all be pending); every
 * request is answered on return.
 */
struct ts_request_s;
void ts_python_infer(ts_python_t *py, struct ts_request_s *reqs, size_t n);

/*
 * Handler instances up to n (new ones imported and initialized here, so
 * from a pool thread); beyond n they retire as they come free.  Returns
 * the count, or -1 with the error (and *detail, malloc'd).
 */
int ts_python_resize(ts_python_t *py, int n, char **detail, char *err,
    size_t errlen);

/* drops the instances and the modules the archive imported */
void ts_python_free(ts_python_t *py);

#ifdef __cplusplus
}
#endif

#endif /* TS_PYTHON_H */
