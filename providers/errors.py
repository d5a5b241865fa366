"""The provider error tree. Adapters translate vendor errors into these once, with ``raise ... from exc``.

::

    ProviderError                     base; ``retryable`` says whether trying again may help
    ├── ProviderNotConfigured         no API key / bad settings on our side (never sent)
    ├── ProviderAuthError             the provider rejected our credentials (401/403)
    ├── ProviderInvalidRequest        the provider refused the request itself (400/422, content policy ...)
    ├── ProviderQuotaExceeded         billing / quota exhausted, not retryable
    │                                 (Kling 1100-1102, OpenAI insufficient_quota)
    ├── ProviderRateLimited           429 or equivalent; ``retry_after`` seconds when the provider said
    ├── ProviderUnavailable           transient: the provider answered 5xx, 408/409, "overloaded", an error chunk
    │   └── ProviderUnreachable       no answer at all: connection refused, DNS, timeouts; ``sent`` says whether
    │                                 the request may have reached the provider (False only before it left)
    ├── ProviderBadResponse           the provider answered something we cannot parse
    └── ProviderTaskFailed            a generation task ended in failure; ``message`` is the provider's reason

The app maps these to protocol error codes at one boundary (PROTOCOL.md 3.3): ``ProviderNotConfigured`` and
``ProviderUnreachable`` → ``unavailable`` (not configured, or unreachable); everything else, a 5xx answer
included, → ``provider_error`` (the provider answered, and refused or failed). Messages must never contain keys
or tokens.
"""

from __future__ import annotations


class ProviderError(Exception):
    retryable: bool = False

    def __init__(self, message: str, *, provider: str | None = None, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status_code = status_code

    def __str__(self) -> str:
        return self.message


class ProviderNotConfigured(ProviderError):
    pass


class ProviderAuthError(ProviderError):
    pass


class ProviderInvalidRequest(ProviderError):
    pass


class ProviderQuotaExceeded(ProviderError):
    pass


class ProviderRateLimited(ProviderError):
    retryable = True

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status_code: int | None = 429,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, provider=provider, status_code=status_code)
        self.retry_after = retry_after


class ProviderUnavailable(ProviderError):
    retryable = True


class ProviderBadResponse(ProviderError):
    pass


class ProviderTaskFailed(ProviderError):
    pass


class ProviderUnreachable(ProviderUnavailable):
    """No answer from the provider. ``sent`` is False when the request certainly never left (the connection was
    never made), so even a request that creates something (a paid generation) can be sent again."""

    def __init__(self, message: str, *, provider: str | None = None, sent: bool = True) -> None:
        super().__init__(message, provider=provider)
        self.sent = sent
