"""Failures of a whole batch: BatchError with TorchServe's status codes."""

from ts import _embed

from .model_dirs import ModelDirTest, request

RAISING = {"handler.py": """\
    from ts.utils.util import PredictionException


    def fail(kind):
        if kind == b"value":
            raise ValueError("bad\\nvalue")
        if kind == b"prediction":
            raise PredictionException("no such word", 422)
        if kind == b"memory":
            raise MemoryError()
        if kind == b"cuda":
            raise RuntimeError("CUDA out of memory. Tried to allocate 2 GiB")
        if kind == b"exit":
            raise SystemExit(1)


    def handle(data, context):
        if data is None:
            return None
        fail(data[0]["body"])
        if data[0]["body"] == b"not a list":
            return "x"
        if data[0]["body"] == b"short":
            return data[1:]
        if data[0]["body"] == b"object":
            return [object() for _ in data]
        return [b"ok" for _ in data]
    """}


class BatchErrors(ModelDirTest):
    def setUp(self):
        super().setUp()
        self.service = self.load_files(RAISING)

    def error(self, *bodies):
        with self.assertRaises(_embed.BatchError) as caught:
            self.service.handle([request(b) for b in bodies])
        return caught.exception

    def test_exception_is_503_with_traceback(self):
        error = self.error(b"value")
        self.assertEqual(error.code, 503)
        self.assertEqual(error.message, "Prediction failed: ValueError: bad "
                         "value")
        self.assertIn("Traceback (most recent call last)", error.detail)
        self.assertIn('handler.py", line 6, in fail', error.detail)

    def test_prediction_exception_code_and_message(self):
        error = self.error(b"prediction")
        self.assertEqual((error.code, error.message), (422, "no such word"))

    def test_memory_error_is_507(self):
        self.assertEqual(self.error(b"memory").code, 507)

    def test_cuda_message_is_507(self):
        error = self.error(b"cuda")
        self.assertEqual(error.code, 507)
        self.assertIn("CUDA out of memory", error.message)

    def test_system_exit_does_not_escape(self):
        self.assertEqual(self.error(b"exit").code, 503)

    def test_not_a_list(self):
        error = self.error(b"not a list")
        self.assertEqual((error.code, error.message),
                         (503, "Invalid model predict output"))

    def test_wrong_count(self):
        error = self.error(b"short", b"x", b"y")
        self.assertEqual((error.code, error.message),
                         (503, "number of batch response mismatched"))

    def test_output_that_is_not_json(self):
        error = self.error(b"object")
        self.assertEqual(error.code, 503)
        self.assertTrue(error.message.startswith(
            "Unsupported model output data type"))

    def test_instance_is_free_again_after_an_error(self):
        self.error(b"value")
        self.assertEqual(self.service.handle([request(b"x")])[0][2], b"ok")
