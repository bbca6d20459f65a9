"""handle(): what the handler receives (data, decoding by content type,
forms, headers, explain and url_path, request ids, batches) and how its
return value becomes answers (statuses, headers, content types, bytes)."""

import io
import json

import torch

from .model_dirs import ModelDirTest, json_request, request

# answers each request with what it received, typed
ECHO = {"handler.py": """\
    def typed(value):
        if isinstance(value, bytes):
            return {"bytes": value.decode("latin-1")}
        if isinstance(value, str):
            return {"str": value}
        return {"json": value}


    def handle(data, context):
        if data is None:
            return None
        return [{"data": {name: typed(value) for name, value in row.items()},
                 "id": context.get_request_id(idx)}
                for idx, row in enumerate(data)]
    """}


def multipart(fields, boundary="XyZ"):
    """fields: [(name, value bytes, filename or None, content type)]"""
    lines = []
    for name, value, filename, content_type in fields:
        disposition = 'form-data; name="{}"'.format(name)
        if filename is not None:
            disposition += '; filename="{}"'.format(filename)
        part = "--{}\r\nContent-Disposition: {}\r\n".format(boundary,
                                                            disposition)
        if content_type:
            part += "Content-Type: {}\r\n".format(content_type)
        lines.append(part.encode() + b"\r\n" + value + b"\r\n")
    return b"".join(lines) + "--{}--\r\n".format(boundary).encode()


class Decoding(ModelDirTest):
    def setUp(self):
        super().setUp()
        self.service = self.load_files(ECHO)

    def data(self, req):
        answer = self.service.handle([req])[0]
        self.assertEqual(answer[0], 200)
        return json.loads(answer[2])["data"]

    def test_json(self):
        self.assertEqual(self.data(json_request({"a": [1, 2]})),
                         {"body": {"json": {"a": [1, 2]}}})

    def test_bad_json_stays_bytes(self):
        self.assertEqual(self.data(request(b"{nope", "application/json")),
                         {"body": {"bytes": "{nope"}})

    def test_json_type_must_be_exact(self):
        # TorchServe compares the type without parameters exactly
        self.assertEqual(
            self.data(request(b"[1]", "application/json; charset=utf-8")),
            {"body": {"json": [1]}})
        self.assertEqual(self.data(request(b"[1]", "application/jsonx")),
                         {"body": {"bytes": "[1]"}})
        self.assertEqual(self.data(request(b"[1]", "Application/JSON")),
                         {"body": {"bytes": "[1]"}})

    def test_text(self):
        self.assertEqual(self.data(request("é".encode(), "text/plain")),
                         {"body": {"str": "é"}})
        self.assertEqual(self.data(request(b"", "text/csv")),
                         {"body": {"str": ""}})

    def test_text_not_utf8_stays_bytes(self):
        self.assertEqual(self.data(request(b"\xff", "text/plain")),
                         {"body": {"bytes": "\xff"}})

    def test_no_content_type_is_bytes(self):
        self.assertEqual(self.data(request(b"\x00\x01")),
                         {"body": {"bytes": "\x00\x01"}})
        self.assertEqual(self.data(request(b"[1]", "image/png")),
                         {"body": {"bytes": "[1]"}})

    def test_multipart(self):
        body = multipart([
            ("data", b"\x89PNG\r\n", "a.png", "image/png"),
            ("meta", b'{"k": 1}', "m.json", "application/json"),
            ("note", "héllo".encode(), "n.txt", "text/plain; charset=utf-8"),
            ("plain", b"field", None, None),
            ("data", b"second", "b.bin", None),  # the last one is kept
        ])
        self.assertEqual(
            self.data(request(body, 'multipart/form-data; boundary="XyZ"')),
            {"data": {"bytes": "second"}, "meta": {"json": {"k": 1}},
             "note": {"str": "héllo"}, "plain": {"bytes": "field"}})

    def test_multipart_without_boundary_is_a_plain_body(self):
        self.assertEqual(self.data(request(b"x", "multipart/form-data")),
                         {"body": {"bytes": "x"}})

    def test_urlencoded(self):
        self.assertEqual(
            self.data(request(b"a=1&b=h%C3%A9+llo&c&a=2",
                              "application/x-www-form-urlencoded")),
            {"a": {"bytes": "2"}, "b": {"bytes": "hé llo".encode()
                                        .decode("latin-1")},
             "c": {"bytes": ""}})

    def test_malformed_multipart_fails_only_its_request(self):
        bad = request(b"no delimiter here",
                      "multipart/form-data; boundary=XyZ", request_id="bad")
        good = json_request([1], request_id="good")
        answers = self.service.handle([bad, good])
        self.assertEqual(answers[0][0], 400)
        self.assertEqual(answers[0][3], "application/json")
        self.assertEqual(json.loads(answers[0][2])["type"],
                         "BadRequestException")
        self.assertEqual(answers[1][0], 200)
        self.assertEqual(json.loads(answers[1][2]),
                         {"data": {"body": {"json": [1]}}, "id": "good"})


class Batches(ModelDirTest):
    def test_four_requests_in_one_call(self):
        files = {"handler.py": """\
            sizes = []


            def handle(data, context):
                if data is None:
                    return None
                sizes.append(len(data))
                return [[row["body"], context.get_request_id(i)]
                        for i, row in enumerate(data)]
            """}
        service = self.load_files(files, batch_size=4)
        answers = service.handle([json_request(i, request_id="id%d" % i)
                                  for i in range(4)])
        self.assertEqual([json.loads(a[2]) for a in answers],
                         [[i, "id%d" % i] for i in range(4)])
        self.assertEqual(service.instances[0].modules["handler"].sizes, [4])
        context = service.instances[0].context
        self.assertEqual(context.request_ids,
                         {0: "id0", 1: "id1", 2: "id2", 3: "id3"})


class Headers(ModelDirTest):
    FILES = {"handler.py": """\
        def handle(data, context):
            if data is None:
                return None
            return [{
                "ua": context.get_request_header(i, "user-agent"),
                "UA": context.get_request_header(i, "USER-AGENT"),
                "explain": context.get_request_header(i, "explain"),
                "url_path": context.get_request_header(i, "url_path"),
                "body": context.get_request_header(i, "body"),
                "names": sorted(context.get_all_request_header(i)),
            } for i in range(len(data))]
        """}

    def test_headers_through_context(self):
        service = self.load_files(self.FILES)
        answers = service.handle([
            request(b"{}", "application/json",
                    headers=[("User-Agent", "curl/8"), ("X-Two", "a")]),
            request(b"", explain=True, url_path="a/b",
                    headers=[("user-agent", "x")])])
        first, second = [json.loads(a[2]) for a in answers]
        self.assertEqual(first["ua"], "curl/8")
        self.assertEqual(first["UA"], "curl/8")
        self.assertEqual(first["explain"], "False")
        self.assertEqual(first["url_path"], "")
        self.assertEqual(first["body"], {"content-type": "application/json"})
        self.assertEqual(first["names"], ["Content-Type", "User-Agent",
                                          "X-Two", "body", "explain",
                                          "url_path"])
        self.assertEqual(second["ua"], "x")
        self.assertEqual(second["explain"], "True")
        self.assertEqual(second["url_path"], "a/b")
        self.assertEqual(second["body"], {"content-type": ""})

    def test_client_explain_header_does_not_win(self):
        service = self.load_files(self.FILES)
        answer = service.handle([request(headers=[("Explain", "True")])])[0]
        self.assertEqual(json.loads(answer[2])["explain"], "False")


class Responses(ModelDirTest):
    def test_status_headers_and_content_type(self):
        files = {"handler.py": """\
            def handle(data, context):
                if data is None:
                    return None
                context.set_response_status(599, "Custom", idx=1)
                context.set_response_header(1, "X-Custom", "yes")
                context.set_response_content_type(1, "text/plain")
                context.set_response_header(0, "Content-Type", "x/y")
                return [{"a": 1}, "two"]
            """}
        service = self.load_files(files)
        first, second = service.handle([request(), request()])
        self.assertEqual(first, (200, "", b'{\n  "a": 1\n}', "x/y", []))
        self.assertEqual(second, (599, "Custom", b"two", "text/plain",
                                  [("X-Custom", "yes")]))

    def test_set_all_response_status(self):
        files = {"handler.py": """\
            def handle(data, context):
                if data is None:
                    return None
                context.set_all_response_status(202, "Accepted")
                return [b"" for _ in data]
            """}
        service = self.load_files(files)
        answers = service.handle([request(), request()])
        self.assertEqual([a[:2] for a in answers],
                         [(202, "Accepted"), (202, "Accepted")])

    def test_status_resets_per_batch(self):
        files = {"handler.py": """\
            def handle(data, context):
                if data is None:
                    return None
                if data[0]["body"] == b"set":
                    context.set_response_status(201)
                    context.set_response_header(0, "X-Once", "1")
                return [b"" for _ in data]
            """}
        service = self.load_files(files)
        self.assertEqual(service.handle([request(b"set")])[0][0], 201)
        self.assertEqual(service.handle([request(b"x")])[0],
                         (200, "", b"", None, []))

    def test_item_conversions(self):
        files = {"handler.py": """\
            import torch


            def handle(data, context):
                if data is None:
                    return None
                return [b"raw\\x00", bytearray(b"ba"), "str é",
                        torch.tensor([1.5, 2.0]),
                        {"k": [1, 2.5, None, "é"]}, 7, None]
            """}
        service = self.load_files(files)
        answers = service.handle([request() for _ in range(7)])
        self.assertEqual([a[2] for a in answers[:3]],
                         [b"raw\x00", b"ba", "str é".encode()])
        self.assertEqual([a[3] for a in answers[:4]], [None] * 4)
        tensor = torch.load(io.BytesIO(answers[3][2]))
        self.assertTrue(torch.equal(tensor, torch.tensor([1.5, 2.0])))
        self.assertEqual(answers[4][2], json.dumps(
            {"k": [1, 2.5, None, "é"]}, indent=2).encode())
        self.assertIn(b"\\u00e9", answers[4][2])  # ASCII-escaped
        self.assertEqual(answers[4][3], "application/json")
        self.assertEqual(answers[5][2], b"7")
        self.assertEqual(answers[6][2], b"null")
