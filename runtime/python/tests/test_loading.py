"""load(): handler kinds, the default BaseHandler's model loading, errors
reported at load, isolation of archives with the same file names, the
working directory during load, and close()."""

import gc
import os
import sys
import textwrap
import weakref

import torch
from torch import nn

from ts import _embed
from ts.torch_handler.base_handler import BaseHandler

from .model_dirs import ModelDirTest, json_request, request

LINEAR_MODEL = """\
    import torch
    from torch import nn


    class Linear3(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 2)

        def forward(self, x):
            return self.fc(x)
    """

# a BaseHandler whose preprocess reads a JSON list per request
LIST_HANDLER = """\
    import torch
    from ts.torch_handler.base_handler import BaseHandler


    class ListHandler(BaseHandler):
        def preprocess(self, data):
            return torch.tensor([row["body"] for row in data])
    """


def linear3():
    torch.manual_seed(0)

    class Linear3(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 2)

        def forward(self, x):
            return self.fc(x)

    return Linear3()


def state_dict_bytes(model):
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"),
                        "ts-test-{}.pt".format(os.getpid()))
    torch.save(model.state_dict(), path)
    with open(path, "rb") as f:
        data = f.read()
    os.unlink(path)
    return data


def body(answer):
    return answer[2]


class FunctionHandler(ModelDirTest):
    FILES = {"handler.py": """\
        calls = []


        def handle(data, context):
            calls.append((data, context.model_name))
            if data is None:
                return None
            return [len(calls)] * len(data)
        """}

    def test_called_once_at_load_with_none(self):
        service = self.load_files(self.FILES, model_name="fn")
        module = service.instances[0].modules["handler"]
        self.assertEqual(module.calls, [(None, "m")])
        self.assertEqual(body(service.handle([request(b"x")])[0]), b"2")

    def test_named_function_and_directory_part(self):
        files = {"handler.py": """\
            def handle(data, context):
                return ["handle"] * len(data or [])


            def other(data, context):
                return ["other"] * len(data or [])
            """}
        service = self.load_files(files, handler="src/handler.py:other")
        self.assertEqual(body(service.handle([request()])[0]), b"other")

    def test_context_at_load(self):
        files = {"handler.py": """\
            seen = {}


            def handle(data, context):
                if data is None:
                    seen.update(context.system_properties)
                    seen["manifest"] = context.manifest["model"]["handler"]
                    seen["yaml"] = context.model_yaml_config
                return data
            """}
        model_dir = self.model_dir(files, "handler.py")
        service = self.load(model_dir, workers=1, batch_size=4, gpu_id=None)
        seen = service.instances[0].modules["handler"].seen
        self.assertEqual(seen["model_dir"], os.path.realpath(model_dir))
        self.assertIsNone(seen["gpu_id"])
        self.assertEqual(seen["batch_size"], 4)
        self.assertEqual(seen["server_name"], "MMS")
        self.assertEqual(seen["server_version"], "0.12.0")
        self.assertIs(seen["limit_max_image_pixels"], True)
        self.assertEqual(seen["manifest"], "handler.py")
        self.assertEqual(seen["yaml"], {})


class ClassHandler(ModelDirTest):
    FILES = {"handler.py": """\
        from collections import OrderedDict  # imported: does not count


        class Handler:
            def __init__(self):
                self.initialized = 0

            def initialize(self, context):
                self.initialized += 1

            def handle(self, data, context):
                return [self.initialized for _ in data]
        """}

    def test_initialized_once(self):
        service = self.load_files(self.FILES)
        self.assertEqual(body(service.handle([request()])[0]), b"1")

    def test_two_classes_fail(self):
        files = {"handler.py": """\
            class A:
                def handle(self, data, context):
                    return data


            class B:
                pass
            """}
        with self.assertRaises(_embed.LoadError) as caught:
            self.load_files(files)
        self.assertIn("Expected only one class", caught.exception.message)

    def test_model_yaml_config(self):
        files = dict(self.FILES)
        files["model-config.yaml"] = "batchSize: 4\nhandler:\n  k: v\n"
        model_dir = self.model_dir(files, "handler.py",
                                   configFile="model-config.yaml")
        service = self.load(model_dir)
        self.assertEqual(service.instances[0].context.model_yaml_config,
                         {"batchSize": 4, "handler": {"k": "v"}})

    def test_requirements_named_not_installed(self):
        files = dict(self.FILES, **{"requirements.txt": "numpy\n"})
        service = self.load(self.model_dir(
            files, "handler.py", requirementsFile="requirements.txt"))
        self.assertEqual(service.requirements, "requirements.txt")


class DefaultBaseHandler(ModelDirTest):
    def test_torchscript_pt(self):
        model = torch.jit.script(linear3())
        files = {}
        model_dir = self.model_dir(files, "base_handler",
                                   serialized_file="model.pt")
        model.save(os.path.join(model_dir, "model.pt"))
        service = self.load(model_dir)
        handler = service.instances[0].entry.__self__
        self.assertIsInstance(handler, BaseHandler)
        self.assertIsInstance(handler.model, torch.jit.ScriptModule)
        self.assertFalse(handler.model.training)
        x = torch.tensor([[1.0, 2.0, 3.0]])
        self.assertTrue(torch.equal(handler.inference(x), model(x)))
        # TorchServe's BaseHandler.preprocess is torch.as_tensor(data):
        # a list of dicts cannot become a tensor, so the batch fails
        with self.assertRaises(_embed.BatchError) as caught:
            service.handle([json_request([1.0, 2.0, 3.0])])
        self.assertEqual(caught.exception.code, 503)
        self.assertTrue(caught.exception.message.startswith(
            "Prediction failed: "))

    def test_eager_model_file_and_state_dict(self):
        model = linear3().eval()
        files = {"linear_model.py": LINEAR_MODEL, "handler.py": LIST_HANDLER,
                 "weights.pth": state_dict_bytes(model)}
        service = self.load_files(files, model_file="linear_model.py",
                                  serialized_file="weights.pth")
        rows = [[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]]
        answers = service.handle([json_request(row) for row in rows])
        with torch.no_grad():
            expected = model(torch.tensor(rows)).tolist()
        import json
        self.assertEqual([json.loads(a[2]) for a in answers], expected)
        self.assertEqual(answers[0][2], json.dumps(expected[0],
                                                   indent=2).encode())

    def test_index_to_name_mapping(self):
        files = {"linear_model.py": LINEAR_MODEL, "handler.py": LIST_HANDLER,
                 "index_to_name.json": '{"0": ["n01", "cat"], "1": "dog"}'}
        service = self.load_files(files, model_file="linear_model.py")
        handler = service.instances[0].entry.__self__
        self.assertEqual(handler.mapping, {"0": "cat", "1": "dog"})

    def test_model_file_with_two_classes(self):
        files = {"linear_model.py": textwrap.dedent(LINEAR_MODEL) +
                 "\n\nclass Other:\n    pass\n", "handler.py": LIST_HANDLER}
        with self.assertRaises(_embed.LoadError) as caught:
            self.load_files(files, model_file="linear_model.py")
        self.assertIn("Expected only one class as model definition",
                      caught.exception.message)

    def test_no_weights(self):
        with self.assertRaises(_embed.LoadError) as caught:
            self.load_files({}, handler="base_handler")
        self.assertIn("RuntimeError: No model weights could be loaded",
                      caught.exception.message)

    def test_wrong_state_dict_is_reported(self):
        files = {"linear_model.py": LINEAR_MODEL, "handler.py": LIST_HANDLER,
                 "weights.pth": state_dict_bytes(nn.Linear(4, 4))}
        with self.assertRaises(_embed.LoadError) as caught:
            self.load_files(files, model_file="linear_model.py",
                            serialized_file="weights.pth")
        self.assertTrue(caught.exception.message.startswith(
            "RuntimeError: Error(s) in loading state_dict for Linear3"))
        self.assertNotIn("\n", caught.exception.message)

    def test_load_pickled_model_override(self):
        files = {
            "tagger.py": """\
                from torch import nn


                class Scaled(nn.Module):
                    def __init__(self, factor):
                        super().__init__()
                        self.factor = factor

                    def forward(self, x):
                        return x * self.factor
                """,
            "factor.txt": "3\n",
            "handler.py": """\
                import torch
                from ts.torch_handler.base_handler import BaseHandler


                class Handler(BaseHandler):
                    def _load_pickled_model(self, model_dir, model_file,
                                            model_pt_path):
                        self.seen = (model_dir, model_file, model_pt_path)
                        from tagger import Scaled
                        with open("factor.txt") as f:  # cwd is model_dir
                            return Scaled(int(f.read()))

                    def preprocess(self, data):
                        return torch.tensor([row["body"] for row in data])
                """}
        model_dir = self.model_dir(files, "handler.py", model_file="tagger.py")
        service = self.load(model_dir)
        handler = service.instances[0].entry.__self__
        self.assertEqual(handler.seen,
                         (os.path.realpath(model_dir), "tagger.py", None))
        self.assertEqual(body(service.handle([json_request([1, 2])])[0]),
                         b"[\n  3,\n  6\n]")


class LoadErrors(ModelDirTest):
    def test_missing_module_named_with_line(self):
        files = {"handler.py": """\
            import os

            import not_installed_module


            def handle(data, context):
                return data
            """}
        with self.assertRaises(_embed.LoadError) as caught:
            self.load_files(files)
        error = caught.exception
        self.assertEqual(error.message,
                         "ModuleNotFoundError: No module named "
                         "'not_installed_module' (handler.py:3)")
        self.assertIn("Traceback", error.detail)
        self.assertIn("not_installed_module", error.detail)
        self.assertNotIn("ts.torch_handler", error.detail)

    def test_missing_module_of_a_built_in_name(self):
        # TorchServe retries ts.torch_handler.<name> and reports that
        files = {"image_classifier.py": "import not_installed_module\n"}
        with self.assertRaises(_embed.LoadError) as caught:
            self.load_files(files, handler="image_classifier")
        self.assertEqual(caught.exception.message,
                         "ModuleNotFoundError: No module named "
                         "'not_installed_module' (image_classifier.py:1)")

    def test_missing_handler_file(self):
        with self.assertRaises(_embed.LoadError) as caught:
            self.load_files({}, handler="handler.py")
        self.assertEqual(caught.exception.message,
                         "ModuleNotFoundError: No module named 'handler'")

    def test_syntax_error(self):
        files = {"handler.py": "def handle(data, context):\n    return [\n"}
        with self.assertRaises(_embed.LoadError) as caught:
            self.load_files(files)
        self.assertRegex(caught.exception.message,
                         r"^SyntaxError: .* \(handler\.py:2\)$")

    def test_initialize_error_in_imported_module(self):
        files = {
            "helper.py": """\
                def check(context):
                    raise ValueError("no labels in "
                                     + context.model_name)
                """,
            "handler.py": """\
                import helper


                class Handler:
                    def initialize(self, context):
                        helper.check(context)

                    def handle(self, data, context):
                        return data
                """}
        with self.assertRaises(_embed.LoadError) as caught:
            self.load_files(files)
        self.assertEqual(caught.exception.message,
                         "ValueError: no labels in m (helper.py:2)")

    def test_failed_load_leaves_nothing(self):
        files = {"handler.py": "import helper\nraise SystemExit(3)\n",
                 "helper.py": "X = 1\n"}
        cwd = os.getcwd()
        with self.assertRaises(_embed.LoadError) as caught:
            self.load_files(files)
        self.assertEqual(caught.exception.message, "SystemExit: 3 "
                         "(handler.py:2)")
        self.assertNotIn("helper", sys.modules)
        self.assertNotIn("handler", sys.modules)
        self.assertEqual(os.getcwd(), cwd)


class Isolation(ModelDirTest):
    @staticmethod
    def files(answer):
        return {
            "model.py": """\
                ANSWER = {!r}


                class Net:
                    def forward(self):
                        return ANSWER
                """.format(answer),
            "handler.py": """\
                from model import Net
                import model


                class Handler:
                    def initialize(self, context):
                        import model as again
                        self.net = again.Net()
                        assert model.ANSWER == again.ANSWER

                    def handle(self, data, context):
                        return [self.net.forward() + "/" + Net().forward()
                                for _ in data]
                """}

    def test_same_module_names_side_by_side(self):
        a = self.load_files(self.files("a"))
        b = self.load_files(self.files("b"))
        self.assertEqual(body(a.handle([request()])[0]), b"a/a")
        self.assertEqual(body(b.handle([request()])[0]), b"b/b")
        self.assertEqual(body(a.handle([request()])[0]), b"a/a")
        self.assertNotIn("model", sys.modules)
        self.assertNotIn("handler", sys.modules)

    def test_handle_time_leak_does_not_reach_the_next_load(self):
        # a handler that puts its own dir on sys.path and imports its
        # model at handle time leaves it in sys.modules
        leaky = self.files("a")
        leaky["handler.py"] = """\
            import sys


            def handle(data, context):
                if data is None:
                    sys.path.append(context.system_properties["model_dir"])
                    return None
                import model
                return [model.ANSWER for _ in data]
            """
        a = self.load_files(leaky)
        self.assertEqual(body(a.handle([request()])[0]), b"a")
        self.assertIn("model", sys.modules)
        b = self.load_files(self.files("b"))
        self.assertEqual(body(b.handle([request()])[0]), b"b/b")
        a.close()
        self.assertNotIn("model", sys.modules)
        self.assertNotIn(a.model_dir, sys.path)

    def test_workers_have_their_own_modules(self):
        files = {"handler.py": """\
            count = 0


            def handle(data, context):
                global count
                count += 1
                return [count for _ in data or []]
            """}
        service = self.load_files(files, workers=2)
        first, second = service.instances
        self.assertIsNot(first.context, second.context)
        self.assertIsNot(first.modules["handler"], second.modules["handler"])
        self.assertEqual(first.modules["handler"].count, 1)
        self.assertEqual(second.modules["handler"].count, 1)


class WorkingDirectory(ModelDirTest):
    def test_load_runs_in_model_dir(self):
        files = {
            "labels.txt": "x y\n",
            "handler.py": """\
                import os

                with open("labels.txt") as f:
                    LABELS = f.read().split()


                class Handler:
                    def initialize(self, context):
                        self.cwd = os.getcwd()

                    def handle(self, data, context):
                        return [LABELS for _ in data]
                """}
        before = os.getcwd()
        model_dir = self.model_dir(files, "handler.py")
        service = self.load(model_dir)
        self.assertEqual(os.getcwd(), before)
        self.assertEqual(service.instances[0].entry.__self__.cwd,
                         os.path.realpath(model_dir))
        self.assertEqual(body(service.handle([request()])[0]),
                         b'[\n  "x",\n  "y"\n]')


class Close(ModelDirTest):
    def test_close_drops_modules_and_instances(self):
        files = {"model.py": "class Net:\n    pass\n",
                 "handler.py": """\
                    from model import Net


                    class Handler:
                        def initialize(self, context):
                            self.net = Net()

                        def handle(self, data, context):
                            return data
                    """}
        service = self.load_files(files)
        module = weakref.ref(service.instances[0].modules["model"])
        handler = weakref.ref(service.instances[0].entry.__self__)
        service.close()
        gc.collect()
        self.assertIsNone(handler())
        self.assertIsNone(module())
        self.assertEqual(service.instances, [])
        with self.assertRaises(_embed.BatchError) as caught:
            service.handle([request()])
        self.assertEqual(caught.exception.code, 503)
