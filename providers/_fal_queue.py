"""fal's queue API (PROVIDERS.md section 3), shared by the Pika video adapter and the fal image adapter (section 17).

What a submit answers (``QueueRequest``: the request id, the ``{owner}/{app}`` its status/result/cancel URLs hang
from, and those URLs, only ever followed on the configured host), fal's error reasons (``detail`` and
``error_type``) and which result-fetch failures are transient. Auth, polling and cancelling stay in the adapters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from providers.errors import ProviderBadResponse, ProviderError
from providers.http import classify_http_error


@dataclass(frozen=True)
class QueueRequest:
    """What the task id carries: fal's request id, the ``{owner}/{app}`` it runs under, and the URLs submit gave."""

    request_id: str
    app: str
    status_url: str | None = None
    response_url: str | None = None
    cancel_url: str | None = None

    def url(self, kind: str, base: str) -> str:
        """The stored URL of ``kind`` (status/response/cancel) when it hangs from ``base``, else rebuilt on
        ``base``: the key is never sent to a host other than the configured one."""
        stored = {"status": self.status_url, "response": self.response_url, "cancel": self.cancel_url}[kind]
        if stored and stored.startswith(f"{base}/"):
            return stored
        suffix = "" if kind == "response" else f"/{kind}"
        return f"{base}/{self.app}/requests/{self.request_id}{suffix}"


def app_id(endpoint_id: str) -> str:
    """``fal-ai/pika/v2.2/image-to-video`` → ``fal-ai/pika``: the queue's status/result URLs drop the sub-path."""
    return "/".join(endpoint_id.strip("/").split("/")[:2])


def parse_submit(data: dict[str, Any], endpoint_id: str, *, provider: str) -> QueueRequest:
    """A submit answer → the ``QueueRequest`` to poll."""
    request_id = data.get("request_id")
    if not isinstance(request_id, str) or not request_id:
        raise ProviderBadResponse(f"{provider}: submit response has no request_id", provider=provider)

    def text(key: str) -> str | None:
        value = data.get(key)
        return value if isinstance(value, str) and value else None

    return QueueRequest(request_id, app_id(endpoint_id), text("status_url"), text("response_url"), text("cancel_url"))


def with_type(reason: str, error_type: Any) -> str:
    return f"{reason} ({error_type})" if isinstance(error_type, str) and error_type else reason


def error_reason(response: httpx.Response) -> str:
    """fal's human reason: ``detail`` (a string, or a list of ``{loc, msg}``) and ``error_type``."""
    try:
        body = response.json()
    except ValueError:
        body = None
    reason: str | None = None
    error_type: Any = response.headers.get("x-fal-error-type")
    if isinstance(body, dict):
        detail = body.get("detail")
        if isinstance(detail, str):
            reason = detail
        elif isinstance(detail, list):
            items = []
            for item in detail:
                if isinstance(item, dict) and isinstance(item.get("msg"), str):
                    loc = item.get("loc")
                    where = ".".join(str(p) for p in loc if p != "body") if isinstance(loc, list) else ""
                    items.append(f"{where}: {item['msg']}" if where else item["msg"])
            reason = "; ".join(items) or None
        if reason is None and isinstance(body.get("error"), str):
            reason = body["error"]
        error_type = body.get("error_type") or error_type
    reason = (reason or response.reason_phrase or "error").strip()[:500]
    return with_type(reason, error_type)


def http_error(response: httpx.Response, secret: str, *, provider: str) -> ProviderError:
    message = f"{provider}: {error_reason(response)} (HTTP {response.status_code})".replace(secret, "***")
    return classify_http_error(response, message, provider=provider)


def result_is_transient(response: httpx.Response) -> bool:
    """Result-fetch failures that say nothing about the run: rate limits, and bare gateway errors (no
    ``x-fal-request-id``), which fal's own client retries. Every other non-2xx is the run's failure."""
    code = response.status_code
    return code in (408, 409, 429) or (code in (502, 503, 504) and "x-fal-request-id" not in response.headers)
