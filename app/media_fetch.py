"""Fetching the media a provider names (PROTOCOL.md 9.5): which URLs this server will fetch, and the guarded download.

A provider's status answer is untrusted input: its video URL must not make the server read its own files or reach
services only it can reach. The policy, as pure functions:

- ``check_url``: only ``https``, except a URL on the scheme, host and port of the provider's own configured base URL,
  which is trusted as the provider itself is (a provider on a private network, a local stand-in in tests);
- ``refusal``: an address is refused when it is loopback, private, link-local (cloud metadata), CGNAT, unspecified,
  multicast, reserved or documentation, also when wrapped in IPv6 (IPv4-mapped, NAT64, 6to4, IPv4-compatible);
- ``local_file``: only the ``local`` renderer hands over files, and only from under its own render directory.

``MediaFetcher`` applies it: redirects are followed by hand (at most ``max_redirects``), each hop checked again;
names are resolved with the event loop's ``getaddrinfo`` when connecting, every address must pass, and the socket
is opened to the checked address itself (TLS still verifies, and sends SNI for, the name), so DNS rebinding between
the check and the connection has no window. The size cap counts bytes as they arrive and refuses a larger
``Content-Length`` before reading the body.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpcore
import httpx

MAX_VIDEO_BYTES = 2 * 1024**3
MAX_REDIRECTS = 5
DEFAULT_TIMEOUT = httpx.Timeout(120, connect=10)

Origin = tuple[str, str, int]  # scheme, host (lower case, no brackets), port
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

_V4_REFUSED = {
    "0.0.0.0/8": "unspecified",
    "10.0.0.0/8": "private",
    "100.64.0.0/10": "shared (CGNAT)",
    "127.0.0.0/8": "loopback",
    "169.254.0.0/16": "link-local (metadata)",
    "172.16.0.0/12": "private",
    "192.0.0.0/24": "IETF protocol assignments",
    "192.0.2.0/24": "documentation",
    "192.88.99.0/24": "6to4 relay",
    "192.168.0.0/16": "private",
    "198.18.0.0/15": "benchmarking",
    "198.51.100.0/24": "documentation",
    "203.0.113.0/24": "documentation",
    "224.0.0.0/4": "multicast",
    "240.0.0.0/4": "reserved",
}
_V6_REFUSED = {
    "::/8": "reserved (unspecified, loopback, IPv4-compatible)",
    "64:ff9b:1::/48": "local NAT64",
    "100::/64": "discard",
    "2001::/23": "IETF protocol assignments (Teredo)",
    "2001:db8::/32": "documentation",
    "3fff::/20": "documentation",
    "fc00::/7": "unique local (private)",
    "fe80::/10": "link-local",
    "fec0::/10": "site-local",
    "ff00::/8": "multicast",
}
_REFUSED = [(ipaddress.ip_network(net), why) for net, why in (_V4_REFUSED | _V6_REFUSED).items()]
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class MediaRefused(Exception):
    """A provider's media URL this server will not fetch. Permanent: retrying cannot make it acceptable."""


class MediaTooLarge(MediaRefused):
    """The body is over the size cap."""


# ---- the policy (pure) --------------------------------------------------------------------------------------


def origin(url: str | httpx.URL) -> Origin | None:
    """(scheme, host, port) of an http(s) URL, the port made explicit; None for anything else or no host."""
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return None
    return parsed.scheme, parsed.host.rstrip(".").lower(), parsed.port or (443 if parsed.scheme == "https" else 80)


def refusal(address: str | Address) -> str | None:
    """Why this address may not be fetched from, or None when it is a public unicast address."""
    try:
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        nat64 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None
        embedded = ip.ipv4_mapped or ip.sixtofour or nat64
        if embedded is not None:
            why = refusal(embedded)
            return f"{why} (IPv4 inside IPv6)" if why else None
    for network, why in _REFUSED:
        if ip.version == network.version and ip in network:
            return why
    if ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast or ip.is_reserved or not ip.is_global:
        return "not a public address"  # whatever the tables above missed, as this Python knows it
    return None


def check_url(url: str | httpx.URL, trusted: Origin | None) -> bool:
    """Raise ``MediaRefused`` unless ``url`` may be fetched. True when it is on the trusted origin (the address
    check is then skipped); False when its addresses must still be checked when connecting."""
    if isinstance(url, str) and len(url) > 8192:
        raise MediaRefused("the URL is too long")
    target = origin(url)
    if target is None:
        scheme = (url.scheme if isinstance(url, httpx.URL) else urlsplit(url).scheme) or "none"
        raise MediaRefused(f"scheme {scheme[:20]!r} or a missing host is not allowed")
    if trusted is not None and target == trusted:
        return True
    if target[0] != "https":
        raise MediaRefused("only https URLs are fetched from a provider (besides its own base URL)")
    try:
        literal = ipaddress.ip_address(target[1])
    except ValueError:
        return False  # a name: its addresses are checked when connecting
    why = refusal(literal)
    if why:
        raise MediaRefused(f"the address {literal} is {why}")
    return False


def local_file(url: str, root: Path) -> Path:
    """The file a ``file://`` URL of the local renderer names, if it is a regular file under ``root`` (symlinks and
    ``..`` resolved first). Touches the file system: call it in a thread."""
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost") or parts.query or parts.fragment:
        raise MediaRefused("not a plain file:// URL")
    path = Path(unquote(parts.path)).resolve()
    base = root.resolve()
    if not path.is_relative_to(base):
        raise MediaRefused("the file is outside the local renderer's directory")
    if not path.is_file():
        raise MediaRefused("the file is not a regular file")
    return path


# ---- the guarded connection -----------------------------------------------------------------------------------


async def resolve(host: str, port: int) -> list[str]:
    """Every address of ``host``, from the event loop's resolver (a thread, never blocking the loop)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections only to checked addresses. ``trusted`` is set per request by ``MediaFetcher``: the
    provider's own origin, connected as named."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None, resolver: Resolver | None = None) -> None:
        self.inner = inner or httpcore.AnyIOBackend()
        self.resolver = resolver or resolve
        self.trusted = False

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if self.trusted:
            return await self.inner.connect_tcp(host, port, timeout, local_address, socket_options)
        try:
            addresses = await asyncio.wait_for(self.resolver(host, port), timeout)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        except OSError as exc:  # socket.gaierror: transient as far as we can tell
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        if not addresses:
            raise httpcore.ConnectError(f"{host} has no address")
        for address in addresses:  # all of them: a name must not mix a public address with an internal one
            why = refusal(address)
            if why:
                raise MediaRefused(f"{host} resolves to an address that is {why}")  # not which one: no DNS oracle
        error: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise MediaRefused("unix sockets are not fetched from")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (request mapping, exception translation) over a pool using ``GuardedBackend``.
    httpx 0.28 takes no network backend, so the pool it built is replaced: ``_pool`` is the one private name used."""

    def __init__(self, backend: GuardedBackend, ssl_context: Any) -> None:
        super().__init__(verify=ssl_context, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context, max_connections=4, max_keepalive_connections=2, network_backend=backend
        )


# ---- the download ----------------------------------------------------------------------------------------------


async def bounded(chunks: AsyncIterator[bytes], max_bytes: int) -> AsyncIterator[bytes]:
    """``chunks``, failing with ``MediaTooLarge`` as soon as more than ``max_bytes`` arrived."""
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > max_bytes:
            raise MediaTooLarge(f"the video is larger than {max_bytes} bytes")
        yield chunk


async def file_chunks(path: Path) -> AsyncIterator[bytes]:
    """A local file (the offline renderer's output) in pieces, read in a thread."""
    fh = await asyncio.to_thread(path.open, "rb")
    try:
        while chunk := await asyncio.to_thread(fh.read, 1 << 20):
            yield chunk
    finally:
        await asyncio.to_thread(fh.close)


def _next_hop(response: httpx.Response) -> httpx.URL:
    location = response.headers["location"]
    if len(location) > 8192:
        raise MediaRefused("the redirect's URL is too long")
    try:
        return response.url.join(location)
    except httpx.InvalidURL as exc:
        raise MediaRefused("the redirect's URL is not valid") from exc


class MediaFetcher:
    """Downloads a provider's media under the policy above. One short-lived client per download, so no connection
    made for one provider's trusted origin is ever reused for another's URL."""

    def __init__(
        self,
        *,
        max_bytes: int = MAX_VIDEO_BYTES,
        max_redirects: int = MAX_REDIRECTS,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        resolver: Resolver | None = None,
        network: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.timeout = timeout
        self.resolver = resolver
        self.network = network
        self._ssl = httpx.create_ssl_context()

    @contextlib.asynccontextmanager
    async def open(self, url: str, *, trusted_base: str | None = None) -> AsyncIterator[AsyncIterator[bytes]]:
        """The body of ``url`` as bounded chunks. Raises ``MediaRefused`` for a URL, redirect, address or size the
        policy refuses; httpx errors (timeouts, refused connections, HTTP errors) for what may pass on a retry."""
        trusted = origin(trusted_base) if trusted_base else None
        backend = GuardedBackend(self.network, self.resolver)
        transport = _GuardedTransport(backend, self._ssl)
        async with httpx.AsyncClient(transport=transport, timeout=self.timeout, trust_env=False) as client:
            check_url(url, trusted)
            target = httpx.URL(url)
            for _ in range(self.max_redirects + 1):
                backend.trusted = check_url(target, trusted)
                response = await client.send(client.build_request("GET", target), stream=True)
                try:
                    if response.has_redirect_location:
                        target = _next_hop(response)
                        continue
                    response.raise_for_status()
                    length = response.headers.get("content-length", "")
                    if length.isdigit() and int(length) > self.max_bytes:
                        raise MediaTooLarge(f"the video is larger than {self.max_bytes} bytes (Content-Length)")
                    yield bounded(response.aiter_bytes(1 << 16), self.max_bytes)
                    return
                finally:
                    await response.aclose()
            raise MediaRefused(f"more than {self.max_redirects} redirects")
