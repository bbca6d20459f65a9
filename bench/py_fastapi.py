"""FastAPI + torch (run under uvicorn, uvloop + httptools). Inference runs
inline in the async endpoint: one intra-op thread per worker process, so a
thread pool would add hand-offs, not parallelism."""
from fastapi import FastAPI, Request, Response

import pymodels

app = FastAPI()


@app.post("/predictions/{name}")
async def predictions(name: str, request: Request):
    if name not in pymodels.MODELS:
        return Response('{"code": 404}', status_code=404, media_type="application/json")
    body = await request.body()
    return Response(pymodels.predict(name, body), media_type="application/json")
