"""A fake fal queue (PROVIDERS.md 3 and 16) on a real port, for the Pika adapter: submit, status, result and cancel
under ``{owner}/{app}``, a JWKS of its own Ed25519 key, and webhooks signed the way fal signs them.

A request stays in the state the test sets (``IN_QUEUE`` at first; ``complete(request_id)`` finishes it), so a
test decides when the provider "is done" and the poller can only learn it by asking.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.webhooks import fal_message
from tests.fakes.server import FakeServer

VIDEO_BYTES = b"\x00\x00\x00\x18ftypmp42" + b"fake-fal-mp4" * 64
USER_ID = "fal-user-1"


@dataclass
class QueuedRequest:
    id: str
    app: str
    body: dict[str, Any]
    webhook: str | None
    status: str = "IN_QUEUE"
    status_polls: int = 0
    cancelled: bool = False


@dataclass
class Signer:
    """An Ed25519 key that signs webhooks as fal does; ``jwk`` is its public half as fal publishes it."""

    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    kid: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    @property
    def jwk(self) -> dict[str, str]:
        raw = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        x = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": self.kid, "use": "sig"}

    def headers(self, request_id: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        signature = self.key.sign(fal_message(request_id, USER_ID, ts, body)).hex()
        return {
            "X-Fal-Webhook-Request-Id": request_id,
            "X-Fal-Webhook-User-Id": USER_ID,
            "X-Fal-Webhook-Timestamp": ts,
            "X-Fal-Webhook-Signature": signature,
            "Content-Type": "application/json",
        }


class FakeFal(FakeServer):
    def __init__(self) -> None:
        super().__init__(
            [
                Route("/.well-known/jwks.json", self.jwks, methods=["GET"]),
                Route("/files/{name}", self.file, methods=["GET"]),
                Route("/{owner}/{app}/requests/{rid}/status", self.status, methods=["GET"]),
                Route("/{owner}/{app}/requests/{rid}/cancel", self.cancel, methods=["PUT"]),
                Route("/{owner}/{app}/requests/{rid}", self.result, methods=["GET"]),
                Route("/{endpoint:path}", self.submit, methods=["POST"]),
            ]
        )
        self.signer = Signer()
        self.requests: dict[str, QueuedRequest] = {}
        self.jwks_fetches = 0

    @property
    def jwks_url(self) -> str:
        return f"{self.base_url}/.well-known/jwks.json"

    def complete(self, request_id: str) -> None:
        self.requests[request_id].status = "COMPLETED"

    def webhook_body(self, request_id: str) -> bytes:
        payload = {"video": {"url": f"{self.base_url}/files/{request_id}.mp4"}}
        body = {"request_id": request_id, "gateway_request_id": request_id, "status": "OK", "payload": payload}
        return json.dumps(body).encode()

    async def send_webhook(
        self, request_id: str, *, signer: Signer | None = None, timestamp: int | None = None
    ) -> httpx.Response:
        """POST fal's webhook for this request to the URL given at submit, signed (by ``signer``, default ours)."""
        request = self.requests[request_id]
        assert request.webhook, "submitted without ?fal_webhook="
        body = self.webhook_body(request_id)
        headers = (signer or self.signer).headers(request_id, body, timestamp=timestamp)
        async with httpx.AsyncClient(timeout=5) as http:
            return await http.post(request.webhook, content=body, headers=headers)

    # ---- routes ------------------------------------------------------------------------------------------

    def _authorized(self, request: Request) -> bool:
        return request.headers.get("authorization", "").startswith("Key ")

    async def jwks(self, request: Request) -> Response:
        self.jwks_fetches += 1
        return JSONResponse({"keys": [self.signer.jwk]})

    async def submit(self, request: Request) -> Response:
        if not self._authorized(request):
            return JSONResponse({"detail": "no key"}, status_code=401)
        endpoint = request.path_params["endpoint"].strip("/")
        app = "/".join(endpoint.split("/")[:2])
        rid = str(uuid.uuid4())
        self.requests[rid] = QueuedRequest(rid, app, await request.json(), request.query_params.get("fal_webhook"))
        base = f"{self.base_url}/{app}/requests/{rid}"
        return JSONResponse(
            {"request_id": rid, "status_url": f"{base}/status", "response_url": base, "cancel_url": f"{base}/cancel"}
        )

    async def status(self, request: Request) -> Response:
        queued = self.requests.get(request.path_params["rid"])
        if queued is None or not self._authorized(request):
            return JSONResponse({"detail": "not found"}, status_code=404)
        queued.status_polls += 1
        code = 200 if queued.status == "COMPLETED" else 202
        return JSONResponse({"status": queued.status, "request_id": queued.id}, status_code=code)

    async def result(self, request: Request) -> Response:
        queued = self.requests.get(request.path_params["rid"])
        if queued is None or not self._authorized(request):
            return JSONResponse({"detail": "not found"}, status_code=404)
        if queued.status != "COMPLETED":
            return JSONResponse({"detail": "still in progress"}, status_code=400)
        return JSONResponse({"video": {"url": f"{self.base_url}/files/{queued.id}.mp4"}})

    async def cancel(self, request: Request) -> Response:
        queued = self.requests.get(request.path_params["rid"])
        if queued is None:
            return JSONResponse({"detail": "not found"}, status_code=404)
        queued.cancelled = True
        return JSONResponse({"status": "CANCELLATION_REQUESTED"}, status_code=202)

    async def file(self, request: Request) -> Response:
        return Response(VIDEO_BYTES, media_type="video/mp4")
