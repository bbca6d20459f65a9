"""Flask + torch (run under gunicorn, sync workers)."""
from flask import Flask, Response, request

import pymodels

app = Flask(__name__)


@app.route("/predictions/<name>", methods=["POST", "PUT"])
def predictions(name):
    if name not in pymodels.MODELS:
        return Response('{"code": 404}', status=404, mimetype="application/json")
    return Response(pymodels.predict(name, request.get_data()), mimetype="application/json")
