"""archive_tool's helper for --export-torchscript: an eager model to
TorchScript.

    PYTHONHASHSEED=0 python3 -s -B export_torchscript.py \
        MODEL_FILE STATE_DICT OUT_FD [EXAMPLE]

Imports MODEL_FILE, finds the one torch.nn.Module subclass it defines,
creates it without arguments and loads the state_dict saved in STATE_DICT
(as TorchServe's base handler does for eager models), then
torch.jit.script()s it; when scripting fails and EXAMPLE (a JSON file with
one input instance) is given, traces it on that instance instead.  The
TorchScript file is written to the open descriptor OUT_FD.

Errors end the process with status 1 and one line on stderr starting with
"export_torchscript: ", which archive_tool shows.  Nothing is written but
OUT_FD (run it with -B: no __pycache__ next to the model file).  With a
fixed PYTHONHASHSEED the same model gives the same bytes: TorchScript
writes a module's constants in the order of a Python set.
"""

import sys

PREFIX = "export_torchscript: "

# how many copies of the example instance are stacked for tracing: a batch
# of one would let the tracer fold the batch dimension into constants
TRACE_BATCH = 2


class ExportError(Exception):
    """A refusal, with the one-line message archive_tool prints."""


def one_line(text, limit=300):
    """The first lines of an exception's text, on one line."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    text = " ".join(lines[:4])
    return text if len(text) <= limit else text[:limit - 3] + "..."


def import_torch():
    try:
        import torch  # pylint: disable=import-outside-toplevel
    except Exception as e:  # pylint: disable=broad-except
        raise ExportError(
            f"{sys.executable} cannot import torch ({one_line(e)}): "
            "install Debian's python3-torch, or set ARCHIVE_TOOL_PYTHON "
            "to a Python that has torch") from e
    return torch


def load_module(path):
    import importlib.util  # pylint: disable=import-outside-toplevel
    import os  # pylint: disable=import-outside-toplevel

    name = os.path.splitext(os.path.basename(path))[0] or "model"
    # the model file may import modules that sit next to it
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))

    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ExportError(f"cannot import {path}: not a Python file")

    module = importlib.util.module_from_spec(spec)
    # TorchScript reads the class's source through sys.modules
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # pylint: disable=broad-except
        raise ExportError(
            f"importing {path} failed: {type(e).__name__}: {one_line(e)}"
        ) from e
    return module


def model_class(torch, module, path):
    """The one torch.nn.Module subclass the file itself defines."""
    import inspect  # pylint: disable=import-outside-toplevel

    classes = [obj for obj in vars(module).values()
               if inspect.isclass(obj)
               and issubclass(obj, torch.nn.Module)
               and obj.__module__ == module.__name__]
    if not classes:
        raise ExportError(
            f"{path} defines no torch.nn.Module subclass: the model file "
            "must define the model's class")
    if len(classes) > 1:
        names = ", ".join(sorted(c.__name__ for c in classes))
        raise ExportError(
            f"{path} defines {len(classes)} torch.nn.Module subclasses "
            f"({names}): the model file must define only one (TorchServe "
            "creates the only class it finds); move the others to a module "
            "it imports")
    return classes[0]


def load_state_dict(torch, path):
    try:
        obj = torch.load(path, map_location="cpu")
    except Exception as e:  # pylint: disable=broad-except
        raise ExportError(
            f"cannot load {path} with torch.load: {one_line(e)}") from e

    if isinstance(obj, torch.jit.ScriptModule):
        raise ExportError(
            f"{path} is already TorchScript: pack it without "
            "--export-torchscript (and without --model-file)")
    if isinstance(obj, torch.nn.Module):
        raise ExportError(
            f"{path} holds a whole pickled {type(obj).__name__}, not a "
            "state_dict: save model.state_dict() instead")
    if not isinstance(obj, dict):
        raise ExportError(
            f"{path} holds a {type(obj).__name__}, not a state_dict")
    return obj


def fit_state_dict(model, state, path):
    try:
        result = model.load_state_dict(state, strict=False)
    except Exception as e:  # pylint: disable=broad-except
        raise ExportError(
            f"the state_dict in {path} does not fit "
            f"{type(model).__name__}: {one_line(e)}") from e

    problems = []
    if result.missing_keys:
        problems.append("missing keys: " + ", ".join(result.missing_keys))
    if result.unexpected_keys:
        problems.append(
            "unexpected keys: " + ", ".join(result.unexpected_keys))
    if problems:
        hint = ""
        if "state_dict" in state and isinstance(state["state_dict"], dict):
            hint = " (a training checkpoint? save its 'state_dict' entry)"
        raise ExportError(
            f"the state_dict in {path} does not fit "
            f"{type(model).__name__}: {'; '.join(problems)}{hint}")


def example_inputs(torch, model, path):
    """One instance, as a request body to the tensor handler carries it,
    stacked TRACE_BATCH times: a tuple of forward's tensor arguments."""
    import inspect  # pylint: disable=import-outside-toplevel
    import json  # pylint: disable=import-outside-toplevel

    try:
        with open(path, encoding="utf-8") as f:
            body = json.load(f)
    except Exception as e:  # pylint: disable=broad-except
        raise ExportError(
            f"cannot read the example input {path}: {one_line(e)}") from e

    dtype = torch.float32
    if isinstance(body, dict) and "dtype" in body:
        name = str(body.pop("dtype"))
        dtype = getattr(torch, name, None)
        if not isinstance(dtype, torch.dtype):
            raise ExportError(f"{path}: unknown dtype {name!r}")

    def batch(value, what):
        try:
            one = torch.tensor(value, dtype=dtype)
        except Exception as e:  # pylint: disable=broad-except
            raise ExportError(
                f"{path}: {what} is not a tensor: {one_line(e)}") from e
        return torch.stack([one] * TRACE_BATCH)

    if isinstance(body, dict) and len(body) == 1 and (
            "data" in body or "inputs" in body):
        body = next(iter(body.values()))

    if not isinstance(body, dict):
        return (batch(body, "the instance"),)

    params = [p for p in inspect.signature(model.forward).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    unknown = sorted(set(body) - {p.name for p in params})
    if unknown:
        raise ExportError(
            f"{path}: forward() has no argument {', '.join(unknown)}")
    args = []
    for p in params:
        if p.name not in body:
            if p.default is inspect.Parameter.empty:
                raise ExportError(
                    f"{path}: no value for forward()'s argument {p.name}")
            break
        args.append(batch(body[p.name], f"argument {p.name}"))
    return tuple(args)


def same_outputs(torch, a, b):
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return a.shape == b.shape and torch.allclose(a, b, rtol=1e-5,
                                                      atol=1e-6)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(
            same_outputs(torch, x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(
            same_outputs(torch, a[k], b[k]) for k in a)
    return a == b


def to_torchscript(torch, model, example_path):
    example = None
    if example_path is not None:
        example = example_inputs(torch, model, example_path)

    try:
        scripted = torch.jit.script(model)
        how = "torch.jit.script"
    except Exception as e:  # pylint: disable=broad-except
        why = one_line(e)
        if example is None:
            raise ExportError(
                f"torch.jit.script failed: {why}; give --example-input "
                "FILE.json (one input instance) to trace the model with "
                "torch.jit.trace instead") from e
        try:
            with torch.no_grad():
                scripted = torch.jit.trace(model, example)
        except Exception as e2:  # pylint: disable=broad-except
            raise ExportError(
                f"torch.jit.script failed ({why}), and so did "
                f"torch.jit.trace on the example input: {one_line(e2)}"
            ) from e2
        how = "torch.jit.trace"

    if example is not None:
        with torch.no_grad():
            try:
                want = model(*example)
                got = scripted(*example)
            except Exception as e:  # pylint: disable=broad-except
                raise ExportError(
                    f"running the model on the example input failed: "
                    f"{one_line(e)}") from e
        if not same_outputs(torch, want, got):
            raise ExportError(
                f"the {how} model's outputs differ from the eager model's "
                "on the example input")
    return scripted


def main(argv):
    if len(argv) not in (4, 5):
        raise ExportError(
            "usage: export_torchscript.py MODEL_FILE STATE_DICT OUT_FD "
            "[EXAMPLE_INPUT]")

    model_file, state_path, out_fd = argv[1], argv[2], int(argv[3])
    example_path = argv[4] if len(argv) == 5 else None

    torch = import_torch()
    import io  # pylint: disable=import-outside-toplevel
    import os  # pylint: disable=import-outside-toplevel

    module = load_module(model_file)
    cls = model_class(torch, module, model_file)
    try:
        model = cls()
    except Exception as e:  # pylint: disable=broad-except
        raise ExportError(
            f"cannot create {cls.__name__}() without arguments, as "
            f"TorchServe does: {one_line(e)}") from e

    fit_state_dict(model, load_state_dict(torch, state_path), state_path)
    model.eval()

    scripted = to_torchscript(torch, model, example_path)

    buf = io.BytesIO()
    torch.jit.save(scripted, buf)
    data = buf.getvalue()

    # what is packed must load back
    try:
        torch.jit.load(io.BytesIO(data), map_location="cpu")
    except Exception as e:  # pylint: disable=broad-except
        raise ExportError(
            f"the TorchScript does not load back: {one_line(e)}") from e

    with os.fdopen(out_fd, "wb") as out:
        out.write(data)


if __name__ == "__main__":
    try:
        main(sys.argv)
    except ExportError as err:
        print(PREFIX + str(err), file=sys.stderr)
        sys.exit(1)
    except Exception as err:  # pylint: disable=broad-except
        print(f"{PREFIX}unexpected {type(err).__name__}: {one_line(err)}",
              file=sys.stderr)
        sys.exit(1)
