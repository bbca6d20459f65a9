"""FastAPI + a Python handler through ts._embed (run under uvicorn, uvloop +
httptools): see pyhandler.py. handle() runs inline in the async endpoint,
as py_fastapi.py's inference does."""
from fastapi import FastAPI, Request, Response

import pyhandler

app = FastAPI()


@app.post("/predictions/{name}")
async def predictions(name: str, request: Request):
    if name != pyhandler.NAME:
        return Response('{"code": 404}', status_code=404, media_type="application/json")
    body = await request.body()
    status, answer, ctype = pyhandler.predict(body, request.headers.items(), request.url.path)
    return Response(answer, status_code=status, media_type=ctype)
