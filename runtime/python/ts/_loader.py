"""Importing an archive's code, isolated from the other archives that the
same worker process serves.

TorchServe gives every model worker its own process, so an archive's
handler.py and model.py are imported by their plain names ("handler",
"model"), with the model directory first on sys.path and as the working
directory. Here one process serves many archives, whose files often have
the same names. So:

- Each load runs under one process-wide lock, with the model directory
  first on sys.path and as the working directory (restored afterwards), so
  `import model`, `from model import Net`, importlib.import_module(...) and
  relative open()s work at import time and in initialize().
- Afterwards every module whose file lies in the model directory leaves
  sys.modules: the loaded instance keeps it (ArchiveImport.modules), so
  the next archive's `import model` finds its own model.py. While a load
  runs, modules that other archives' handlers left in sys.modules later
  (by importing their own files at handle time) are put aside too.
- Each handler instance imports its own copy of the archive's modules, as
  each TorchServe worker process does: module globals are per instance.

What this does not give, at handle time (all of it works at load time):
- the working directory is whatever it is: relative paths should start
  from context.system_properties["model_dir"];
- an archive module imported for the first time inside handle() is not
  found (its directory is no longer on sys.path), and neither is one that
  is looked up by name in sys.modules (pickle.loads of an object of an
  archive's class, typing.get_type_hints on its string annotations)."""

import importlib
import os
import sys
import threading

# cwd and sys.path belong to the whole process: one load at a time
_LOAD_LOCK = threading.RLock()

# model directories of the archives loaded in this process (realpaths)
_ARCHIVE_DIRS = set()


def register_dir(model_dir):
    _ARCHIVE_DIRS.add(os.path.realpath(model_dir))


def unregister_dir(model_dir):
    _ARCHIVE_DIRS.discard(os.path.realpath(model_dir))


def _under(path, directory):
    if not isinstance(path, str):
        return False
    real = os.path.realpath(path)
    return real == directory or real.startswith(directory + os.sep)


def module_dir_of(module, directories):
    """The directory of `directories` that holds module's file (or, for a
    namespace package, one of its paths), else None."""
    try:
        paths = [getattr(module, "__file__", None)]
        paths.extend(getattr(module, "__path__", None) or ())
    except Exception:  # an odd object in sys.modules: not ours
        return None
    for directory in directories:
        if any(_under(path, directory) for path in paths):
            return directory
    return None


def take_modules(directories, names=None):
    """Removes from sys.modules (optionally only among names) the modules
    whose files lie in one of directories, and returns them."""
    taken = {}
    for name, module in list(sys.modules.items()):
        if names is not None and name not in names:
            continue
        if module_dir_of(module, directories) is not None:
            taken[name] = sys.modules.pop(name)
    return taken


class ArchiveImport:
    """with ArchiveImport(model_dir) as imp: import and initialize; then
    imp.modules holds the archive's modules, out of sys.modules."""

    def __init__(self, model_dir):
        self.model_dir = os.path.realpath(model_dir)
        self.modules = {}
        self._old_cwd = None
        self._hidden = {}

    def __enter__(self):
        _LOAD_LOCK.acquire()
        try:
            self._enter_locked()
        except BaseException:
            _LOAD_LOCK.release()
            raise
        return self

    def _enter_locked(self):
        others = _ARCHIVE_DIRS - {self.model_dir}
        self._hidden = take_modules(others) if others else {}
        try:
            self._old_cwd = os.getcwd()
        except OSError:  # the cwd was deleted: nothing to go back to
            self._old_cwd = None
        os.chdir(self.model_dir)
        sys.path.insert(0, self.model_dir)
        # the directory may have been rewritten since a finder cached it
        importlib.invalidate_caches()

    def __exit__(self, *exc):
        try:
            self._exit_locked()
        finally:
            _LOAD_LOCK.release()
        return False

    def _exit_locked(self):
        self.modules = take_modules([self.model_dir])
        if self.model_dir in sys.path:
            sys.path.remove(self.model_dir)
        sys.path_importer_cache.pop(self.model_dir, None)
        for name, module in self._hidden.items():
            sys.modules.setdefault(name, module)
        self._hidden = {}
        if self._old_cwd is not None:
            try:
                os.chdir(self._old_cwd)
            except OSError:
                pass


def forget_dir(model_dir):
    """At unload: whatever of model_dir is still reachable process-wide
    (modules a handler imported at handle time, sys.path entries a handler
    added) goes."""
    directory = os.path.realpath(model_dir)
    with _LOAD_LOCK:
        take_modules([directory])
        sys.path[:] = [path for path in sys.path
                       if not (isinstance(path, str) and
                               os.path.realpath(path) == directory)]
        for path in list(sys.path_importer_cache):
            if _under(path, directory):
                del sys.path_importer_cache[path]
