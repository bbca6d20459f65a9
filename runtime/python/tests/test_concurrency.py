"""handle() from several threads at once: an instance never runs two
batches at once; with more workers, batches run side by side."""

import threading

from .model_dirs import ModelDirTest, request

# records how many batches run in this instance at the same moment; the
# sleep releases the GIL, as a forward pass does
SLOW = {"handler.py": """\
    import threading
    import time

    lock = threading.Lock()
    running = 0
    most = 0
    batches = 0


    def handle(data, context):
        global running, most, batches
        if data is None:
            return None
        with lock:
            running += 1
            batches += 1
            most = max(most, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return [context.get_request_id(i) for i in range(len(data))]
    """}


def run_threads(service, count, batches_each):
    answers = []
    errors = []

    def client(n):
        try:
            for b in range(batches_each):
                rid = "t{}-{}".format(n, b)
                got = service.handle([request(request_id=rid)])
                answers.append((rid, got[0][2].decode()))
        except Exception as e:  # reported by the test
            errors.append(e)

    threads = [threading.Thread(target=client, args=(n,))
               for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers, errors


class Exclusivity(ModelDirTest):
    def test_one_instance_never_runs_two_batches(self):
        service = self.load_files(SLOW, workers=1)
        answers, errors = run_threads(service, 2, 4)
        self.assertEqual(errors, [])
        self.assertEqual(len(answers), 8)
        self.assertTrue(all(rid == got for rid, got in answers))
        module = service.instances[0].modules["handler"]
        self.assertEqual(module.most, 1)
        self.assertEqual(module.batches, 8)

    def test_two_workers_serve_in_parallel(self):
        service = self.load_files(SLOW, workers=2)
        answers, errors = run_threads(service, 2, 4)
        self.assertEqual(errors, [])
        self.assertTrue(all(rid == got for rid, got in answers))
        modules = [instance.modules["handler"]
                   for instance in service.instances]
        # each instance has its own module: never two batches in one
        self.assertEqual([m.most for m in modules], [1, 1])
        self.assertEqual(sum(m.batches for m in modules), 8)


class ConcurrentLoads(ModelDirTest):
    @staticmethod
    def files(answer):
        return {"model.py": "ANSWER = {!r}\n".format(answer),
                "handler.py": """\
                    import time

                    import model

                    time.sleep(0.01)  # let the other loads try to interleave


                    def handle(data, context):
                        if data is None:
                            return None
                        return [model.ANSWER for _ in data]
                    """}

    def test_same_named_archives_loaded_from_four_threads(self):
        dirs = [self.model_dir(self.files(str(n)), "handler.py")
                for n in range(4)]
        services = [None] * 4
        errors = []

        def loader(n):
            try:
                services[n] = self.load(dirs[n])
            except Exception as e:  # reported by the test
                errors.append(e)

        threads = [threading.Thread(target=loader, args=(n,))
                   for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(errors, [])
        self.assertEqual([s.handle([request()])[0][2] for s in services],
                         [b"0", b"1", b"2", b"3"])
