"""Flask + a Python handler through ts._embed (run under gunicorn, sync
workers): see pyhandler.py."""
from flask import Flask, Response, request

import pyhandler

app = Flask(__name__)


@app.route("/predictions/<name>", methods=["POST", "PUT"])
def predictions(name):
    if name != pyhandler.NAME:
        return Response('{"code": 404}', status=404, mimetype="application/json")
    status, body, ctype = pyhandler.predict(request.get_data(), list(request.headers.items()),
                                            request.path)
    return Response(body, status=status, content_type=ctype)
