"""The retry rule for a request that creates a paid generation: sent again only when it certainly never arrived.

Runway's ``POST /v1/image_to_video`` (PROVIDERS.md section 1) mocked with respx; the policy is the one
``app/services/video.py`` applies to every provider's ``submit``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import respx

from providers.errors import ProviderError, ProviderRateLimited, ProviderUnavailable, ProviderUnreachable
from providers.http import certainly_not_received, with_retries
from providers.video.runway import RunwayProvider
from tests.providers.test_runway import BASE, make_config, make_job

CREATED = httpx.Response(200, json={"id": "497f6eca-6276-4993-bfeb-53cbbbba6f08"})


async def _no_sleep(_seconds: float) -> None:
    return None


@pytest.fixture
async def provider() -> AsyncIterator[RunwayProvider]:
    async with httpx.AsyncClient() as http:
        yield RunwayProvider(make_config(), http)


async def _submit(provider: RunwayProvider, *answers: httpx.Response | Exception) -> tuple[respx.Route, object]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        route = router.post("/v1/image_to_video").mock(side_effect=list(answers))
        try:
            outcome: object = await with_retries(
                lambda: provider.submit(make_job()), attempts=3, sleep=_no_sleep, retry_if=certainly_not_received
            )
        except ProviderError as exc:
            outcome = exc
    return route, outcome


@pytest.mark.parametrize(
    ("failure", "kind"),
    [
        (httpx.ReadTimeout("read timed out"), ProviderUnreachable),  # the provider may have accepted it
        (httpx.RemoteProtocolError("server disconnected"), ProviderUnreachable),
        (httpx.Response(500, json={"error": "internal"}), ProviderUnavailable),
        (httpx.Response(503, text="overloaded"), ProviderUnavailable),
        (httpx.Response(409, json={"error": "conflict"}), ProviderUnavailable),
        (httpx.Response(429, json={"error": "slow down"}), ProviderRateLimited),  # no Retry-After: not sure
    ],
)
async def test_a_create_that_may_have_arrived_is_not_sent_again(
    provider: RunwayProvider, failure: httpx.Response | Exception, kind: type[ProviderError]
) -> None:
    """A read timeout, a dropped connection, 5xx and 409 may follow a generation the provider started: sending it
    again could bill a second one. The failure is raised after exactly one request."""
    route, outcome = await _submit(provider, failure, CREATED)
    assert route.call_count == 1
    assert isinstance(outcome, kind) and outcome.retryable


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("connection refused"),
        httpx.ConnectTimeout("connect timed out"),
        httpx.Response(429, json={"error": "slow down"}, headers={"Retry-After": "0"}),
    ],
)
async def test_a_create_that_never_arrived_is_sent_again(
    provider: RunwayProvider, failure: httpx.Response | Exception
) -> None:
    """No connection was made, or the provider refused with a Retry-After: it did not act on the request, so the
    create is sent again and the generation starts."""
    route, outcome = await _submit(provider, failure, CREATED)
    assert route.call_count == 2
    assert getattr(outcome, "task_id", None) == "497f6eca-6276-4993-bfeb-53cbbbba6f08"


async def test_status_checks_keep_the_full_policy() -> None:
    """Without ``retry_if`` (reads: status GETs) every retryable failure is retried, read timeouts included."""
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ProviderUnreachable("runway: ReadTimeout talking to the provider", provider="runway", sent=True)
        return "ok"

    assert await with_retries(flaky, sleep=_no_sleep) == "ok" and calls == 2


def test_transport_errors_say_whether_the_request_left() -> None:
    """Only failures before the connection was made are marked as never sent."""
    from providers.http import transport_error

    assert transport_error(httpx.ConnectError("x"), provider="p").sent is False
    assert transport_error(httpx.PoolTimeout("x"), provider="p").sent is False
    assert transport_error(httpx.ReadTimeout("x"), provider="p").sent is True
    assert transport_error(httpx.WriteTimeout("x"), provider="p").sent is True
