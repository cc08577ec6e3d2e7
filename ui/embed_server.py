"""`newsdesk embed serve`: the packaged embedding model behind an OpenAI-compatible API.

Why: a newsroom's indexers and answering machines can share one embedding machine (the
biggest CPU box, or one with a GPU running TEI/vLLM instead) through `NEWSDESK_EMBED_URL`;
this is the server that needs nothing but Newsdesk's own install: the same ONNX graph and
tokenizer as local embedding (`index.embed.Embedder`), so its vectors equal the local ones.

Endpoints: `POST /v1/embeddings` (`input`: a string or a list of strings; `model`: this
server's model name, or omitted; `encoding_format`: "float" or "base64"), `GET /v1/models`,
`GET /health`. One forward pass at a time (the embedder's lock); requests wait their turn in
uvicorn's thread pool. Errors are OpenAI-shaped JSON: `{"error": {"message", "type"}}`.
"""

from __future__ import annotations

import base64
import hmac
import sys

import numpy as np

MAX_INPUTS = 2048  # texts per request; more is refused with 413 (clients split batches)


def build_app(embedder, name: str, api_key: str = ""):
    """The Starlette app over one loaded `Embedder`; `name` is the model name it answers to."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    def error(status: int, message: str, kind: str = "invalid_request_error"):
        return JSONResponse({"error": {"message": message, "type": kind}}, status_code=status)

    def authorised(request: Request) -> bool:
        if not api_key:
            return True
        given = request.headers.get("authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {api_key}".encode())

    async def embeddings(request: Request):
        if not authorised(request):
            return error(401, "missing or wrong API key", "authentication_error")
        try:
            body = await request.json()
        except ValueError:
            return error(400, "the request body is not JSON")
        if not isinstance(body, dict):
            return error(400, "the request body must be a JSON object")
        texts = body.get("input")
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            return error(400, "'input' must be a string or a list of strings (token arrays "
                              "are not supported)")
        if len(texts) > MAX_INPUTS:
            return error(413, f"batch of {len(texts)} inputs is too large; "
                              f"send at most {MAX_INPUTS}")
        model = body.get("model") or name
        if model != name:
            return error(404, f"model '{model}' is not served here; this server serves "
                              f"'{name}'", "model_not_found")
        wanted = body.get("dimensions")
        if wanted is not None and wanted != embedder.dimension:
            return error(400, f"this model gives {embedder.dimension} dimensions, "
                              f"not {wanted}")
        encoding = body.get("encoding_format") or "float"
        if encoding not in ("float", "base64"):
            return error(400, "'encoding_format' must be 'float' or 'base64'")
        vectors = await run_in_threadpool(embedder.embed, texts) if texts else \
            np.zeros((0, embedder.dimension), dtype=np.float32)
        tokens = int(sum(embedder.count_tokens(texts))) if texts else 0
        data = [{"object": "embedding", "index": i,
                 "embedding": (base64.b64encode(v.astype("<f4").tobytes()).decode("ascii")
                               if encoding == "base64" else v.tolist())}
                for i, v in enumerate(vectors)]
        return JSONResponse({"object": "list", "data": data, "model": name,
                             "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

    async def models(request: Request):
        if not authorised(request):
            return error(401, "missing or wrong API key", "authentication_error")
        return JSONResponse({"object": "list", "data": [
            {"id": name, "object": "model", "owned_by": "newsdesk",
             "dimension": embedder.dimension, "max_tokens": embedder.max_tokens}]})

    async def health(request: Request):
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[
        Route("/v1/embeddings", embeddings, methods=["POST"]),
        Route("/embeddings", embeddings, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
    ])


def serve_forever(settings, host: str, port: int, api_key: str = "") -> None:
    """Load the model (exporting its ONNX graph once if needed), then serve until SIGTERM or
    Ctrl-C. Always the model in this process: a server never forwards to another server."""
    import uvicorn

    from index.embed import get_embedder

    embedder = get_embedder(settings.embed_model, settings.embed_batch_size,
                            settings.model_cache)
    # A bulk-sized warm-up: loads the ONNX graph (exporting it from the packaged weights the
    # first time), so the first client does not pay for it.
    embedder.embed(["warm-up"] * 16)
    print(f"serving {embedder.name} ({embedder.dimension} dimensions, {embedder.engine}) on "
          f"http://{host}:{port}/v1", file=sys.stderr, flush=True)
    uvicorn.run(build_app(embedder, embedder.name, api_key), host=host, port=port,
                log_level="warning", access_log=False)
