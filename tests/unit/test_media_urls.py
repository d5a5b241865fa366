"""The media policy of PROTOCOL.md 9.5, without sockets: which provider URLs the server fetches (schemes, every
address class, IPv6 forms, the provider's own base URL), and the guarded download over a fake network (the socket
goes to the checked address, each redirect hop is checked again, the size cap holds for chunked bodies)."""

from __future__ import annotations

from pathlib import Path

import httpcore
import httpx
import pytest

from app.media_fetch import (
    GuardedBackend,
    MediaFetcher,
    MediaRefused,
    MediaTooLarge,
    check_url,
    local_file,
    origin,
    refusal,
)

# ---- schemes and addresses --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "ftp://cdn.example/v.mp4",
        "gopher://cdn.example:70/_x",
        "data:video/mp4;base64,AAAA",
        "javascript:alert(1)",
        "http://cdn.example/v.mp4",
        "https:///v.mp4",
        "//cdn.example/v.mp4",
        "",
        "https://cdn.example/" + "a" * 9000,
    ],
)
def test_only_https_urls_with_a_host_are_fetched(url: str) -> None:
    """file://, plain http (off the provider's base), other schemes, no host and huge URLs are refused."""
    with pytest.raises(MediaRefused):
        check_url(url, None)


def test_https_names_wait_for_their_addresses() -> None:
    """An https URL naming a host passes the URL check untrusted: its addresses are checked when connecting."""
    assert check_url("https://cdn.example/v.mp4?sig=1", None) is False
    assert check_url("https://93.184.215.14/v.mp4", None) is False


REFUSED = [
    "127.0.0.1",
    "127.255.255.254",
    "10.0.0.1",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",  # AWS, GCP, Azure metadata
    "169.254.0.1",
    "100.64.0.1",
    "100.127.255.255",
    "100.100.100.200",  # Alibaba metadata, in CGNAT space
    "0.0.0.0",
    "0.1.2.3",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.0.192",
    "192.0.2.1",
    "198.18.0.1",
    "::",
    "::1",
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:0.0.0.0",
    "::127.0.0.1",
    "fe80::1",
    "fc00::1",
    "fd00:ec2::254",  # AWS metadata over IPv6
    "ff02::1",
    "fec0::1",
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b:1::1",
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "2001::1",  # Teredo
    "2001:db8::1",
    "100::1",
]


@pytest.mark.parametrize("address", REFUSED)
def test_internal_addresses_are_refused(address: str) -> None:
    """Loopback, private, link-local/metadata, CGNAT, unspecified, multicast, reserved, documentation, and each of
    them wrapped in IPv6, are refused, as a resolved address and as an https URL's literal host."""
    assert refusal(address)
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(MediaRefused):
        check_url(f"https://{host}:8443/v.mp4", None)


@pytest.mark.parametrize(
    "address",
    [
        "93.184.215.14",
        "8.8.8.8",
        "1.1.1.1",
        "100.63.255.255",
        "100.128.0.1",
        "172.32.0.1",
        "2606:4700:4700::1111",
        "2001:4860:4860::8888",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
        "2002:808:808::1",
    ],
)
def test_public_addresses_pass(address: str) -> None:
    """Public unicast addresses (the edges of the refused blocks included) are fetched from."""
    assert refusal(address) is None


def test_ipv6_literal_forms_are_normalised() -> None:
    """Spelling loopback another way in IPv6 does not get past the check."""
    for host in ("[0:0:0:0:0:0:0:1]", "[0::1]", "[::FFFF:127.0.0.1]", "[0:0:0:0:0:ffff:7f00:0001]"):
        with pytest.raises(MediaRefused):
            check_url(f"https://{host}/v.mp4", None)


# ---- the provider's own base URL ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "url", "trusted"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/files/x.mp4?_jwt=a", True),
        ("http://127.0.0.1:8080/v1", "HTTP://127.0.0.1:8080/other", True),
        ("https://api.example.com", "https://API.example.com:443/x", True),
        ("http://10.0.0.5", "http://10.0.0.5:80/x", True),
        ("http://[::1]:9000", "http://[::1]:9000/x", True),
        ("https://api.example.com", "https://cdn.example.com/x", False),
    ],
)
def test_the_providers_own_origin_is_trusted(base: str, url: str, trusted: bool) -> None:
    """Same scheme, host and port as the configured base URL: fetched as the provider is (no address check)."""
    assert check_url(url, origin(base)) is trusted


@pytest.mark.parametrize(
    ("base", "url"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8081/internal-admin"),  # another port
        ("http://127.0.0.1:8080", "https://127.0.0.1:8080/x"),  # another scheme: an ordinary https URL
        ("http://127.0.0.1:8080", "http://localhost:8080/x"),  # another spelling of the host
        ("https://api.example.com", "http://api.example.com/x"),
        ("http://10.0.0.5:8080", "http://10.0.0.6:8080/x"),
    ],
)
def test_only_exactly_that_origin_is_trusted(base: str, url: str) -> None:
    """Anything else on the same machine or network is an ordinary URL, and refused here."""
    with pytest.raises(MediaRefused):
        check_url(url, origin(base))


# ---- local files ------------------------------------------------------------------------------------------------


def test_local_files_only_from_under_the_render_directory(tmp_path: Path) -> None:
    """The local renderer's own file passes; anything outside its directory, by path, `..` or symlink, does not."""
    root = tmp_path / "render"
    (root / "local_ab12").mkdir(parents=True)
    video = root / "local_ab12" / "video.mp4"
    video.write_bytes(b"mp4")
    secret = tmp_path / ".env"
    secret.write_text("RUNWAY_API_KEY=secret")
    (root / "local_ab12" / "link.mp4").symlink_to(secret)
    assert local_file(video.as_uri(), root) == video.resolve()
    for url in (
        "file:///etc/passwd",
        secret.as_uri(),
        f"file://{root}/local_ab12/../../.env",
        (root / "local_ab12" / "link.mp4").as_uri(),
        (root / "local_ab12").as_uri(),
        f"file://evil.example{video}",
        video.as_uri() + "?x=1",
        f"https://cdn.example{video}",
        (tmp_path / "render-other" / "x.mp4").as_uri(),  # a sibling sharing the prefix
    ):
        with pytest.raises(MediaRefused):
            local_file(url, root)


# ---- the guarded download over a fake network ---------------------------------------------------------------------


def ok(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: %d\r\n\r\n" % len(body) + body


def redirect(location: str, code: int = 302) -> bytes:
    return b"HTTP/1.1 %d Found\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n" % (code, location.encode())


def chunked(chunks: int, size: int) -> bytes:
    body = b"".join(b"%x\r\n%s\r\n" % (size, b"v" * size) for _ in range(chunks))
    return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body + b"0\r\n\r\n"


class FakeStream(httpcore.AsyncNetworkStream):
    """One connection to a fake server: answers each request written to it from the server's path table."""

    def __init__(self, net: FakeNet, paths: dict[str, bytes]) -> None:
        self.net, self.paths, self.pending, self.written = net, paths, b"", b""

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        chunk, self.pending = self.pending[:max_bytes], self.pending[max_bytes:]
        return chunk

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.written += buffer
        while b"\r\n\r\n" in self.written:
            head, self.written = self.written.split(b"\r\n\r\n", 1)
            lines = head.decode().split("\r\n")
            path = lines[0].split(" ")[1]
            self.net.requests.append((path, dict(line.split(": ", 1) for line in lines[1:])))
            self.pending += self.paths.get(path, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")

    async def aclose(self) -> None:
        return None

    async def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> httpcore.AsyncNetworkStream:
        self.net.log.append(("tls", server_hostname))
        return self

    def get_extra_info(self, info: str) -> None:
        return None


class FakeNet(httpcore.AsyncNetworkBackend):
    """Servers by the (address, port) a socket is opened to; records every connection and request."""

    def __init__(self, servers: dict[tuple[str, int], dict[str, bytes]]) -> None:
        self.servers = servers
        self.log: list[tuple[str, object]] = []
        self.requests: list[tuple[str, dict[str, str]]] = []

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        self.log.append(("connect", (host, port)))
        if (host, port) not in self.servers:
            raise httpcore.ConnectError("connection refused")
        return FakeStream(self, self.servers[(host, port)])

    async def sleep(self, seconds: float) -> None:
        return None


def dns(table: dict[str, list[str]]):
    calls: list[str] = []

    async def resolver(host: str, port: int) -> list[str]:
        calls.append(host)
        return table.get(host, [])

    resolver.calls = calls  # type: ignore[attr-defined]
    return resolver


PUBLIC = "93.184.215.14"


async def fetch(fetcher: MediaFetcher, url: str, trusted_base: str | None = None) -> bytes:
    async with fetcher.open(url, trusted_base=trusted_base) as chunks:
        return b"".join([chunk async for chunk in chunks])


async def test_the_socket_goes_to_the_checked_address_with_the_name_kept() -> None:
    """A name is resolved once; the connection is opened to that checked address, while TLS (SNI, certificate) and
    the Host header still use the name, so a DNS answer changing between check and connect is never used."""
    net = FakeNet({(PUBLIC, 443): {"/v.mp4?sig=1": ok(b"video")}})
    resolver = dns({"cdn.example": [PUBLIC]})
    got = await fetch(MediaFetcher(resolver=resolver, network=net), "https://cdn.example/v.mp4?sig=1")
    assert got == b"video"
    assert net.log == [("connect", (PUBLIC, 443)), ("tls", "cdn.example")]
    assert net.requests[0][1]["Host"] == "cdn.example"
    assert resolver.calls == ["cdn.example"]


INWARD = [["127.0.0.1"], ["169.254.169.254"], ["::1"], ["::ffff:10.0.0.1"], [PUBLIC, "10.0.0.7"]]


@pytest.mark.parametrize("answer", INWARD)
async def test_names_resolving_inward_are_refused_before_connecting(answer: list[str]) -> None:
    """A name with any internal address among its answers is never connected to."""
    net = FakeNet({(a, 443): {"/v.mp4": ok(b"secret")} for a in answer})
    fetcher = MediaFetcher(resolver=dns({"rebind.example": answer}), network=net)
    with pytest.raises(MediaRefused, match="resolves to"):
        await fetch(fetcher, "https://rebind.example/v.mp4")
    assert net.log == []


async def test_a_name_that_does_not_resolve_is_a_transient_failure() -> None:
    """No address is not a refusal (DNS may come back): an ordinary connection error, retried by the poller."""
    with pytest.raises(httpx.ConnectError):
        await fetch(MediaFetcher(resolver=dns({}), network=FakeNet({})), "https://gone.example/v.mp4")


@pytest.mark.parametrize("host", ["localhost", "2130706433", "0x7f000001", "127.1", "0177.0.0.1", "017700000001"])
async def test_numeric_and_local_names_are_checked_after_real_resolution(host: str) -> None:
    """Decimal, hex, octal and short forms of 127.0.0.1, and localhost, through the event loop's getaddrinfo."""
    net = FakeNet({})
    with pytest.raises(MediaRefused):
        await GuardedBackend(net).connect_tcp(host, 443)
    with pytest.raises(MediaRefused):
        await fetch(MediaFetcher(network=net), f"https://{host}/v.mp4")
    assert net.log == []


async def test_redirects_are_followed_by_hand_within_the_trusted_origin() -> None:
    """A provider on a private network (its base URL) may redirect within itself; the hops are followed."""
    base = "http://10.0.0.5:8080"
    net = FakeNet({("10.0.0.5", 8080): {"/a": redirect("/b", 301), "/b": redirect(base + "/c", 307), "/c": ok(b"v")}})
    assert await fetch(MediaFetcher(resolver=dns({}), network=net), base + "/a", base) == b"v"
    assert [p for p, _ in net.requests] == ["/a", "/b", "/c"]


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.1:9999/internal-admin",
        "https://127.0.0.1:9999/internal-admin",
        "https://[::ffff:127.0.0.1]:9999/internal-admin",
        "http://10.0.0.5:9999/internal-admin",  # the provider's host, another port
        "https://inward.example/internal-admin",  # resolves to loopback
        "file:///etc/passwd",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
async def test_every_redirect_hop_is_checked_again(location: str) -> None:
    """From the trusted base or from a public CDN, a redirect inward is refused and never connected to."""
    net = FakeNet(
        {
            ("10.0.0.5", 8080): {"/hop": redirect(location)},
            (PUBLIC, 443): {"/hop": redirect(location)},
            ("127.0.0.1", 9999): {"/internal-admin": ok(b"admin")},
            ("10.0.0.5", 9999): {"/internal-admin": ok(b"admin")},
        }
    )
    fetcher = MediaFetcher(resolver=dns({"cdn.example": [PUBLIC], "inward.example": ["127.0.0.1"]}), network=net)
    with pytest.raises(MediaRefused):
        await fetch(fetcher, "http://10.0.0.5:8080/hop", "http://10.0.0.5:8080")
    with pytest.raises(MediaRefused):
        await fetch(fetcher, "https://cdn.example/hop")
    assert [p for p, _ in net.requests] == ["/hop", "/hop"]
    assert ("connect", ("127.0.0.1", 9999)) not in net.log and ("connect", ("10.0.0.5", 9999)) not in net.log


async def test_redirects_are_bounded() -> None:
    """A redirect loop ends after max_redirects hops with a refusal, not a hang."""
    net = FakeNet({(PUBLIC, 443): {"/loop": redirect("/loop")}})
    fetcher = MediaFetcher(resolver=dns({"cdn.example": [PUBLIC]}), network=net, max_redirects=3)
    with pytest.raises(MediaRefused, match="redirects"):
        await fetch(fetcher, "https://cdn.example/loop")
    assert len(net.requests) == 4


async def test_size_cap_counts_chunked_bytes_as_they_arrive() -> None:
    """A chunked body (no Content-Length) over the cap is refused once the cap is passed."""
    net = FakeNet({(PUBLIC, 443): {"/big": chunked(64, 1024), "/fits": chunked(4, 1024)}})
    fetcher = MediaFetcher(resolver=dns({"cdn.example": [PUBLIC]}), network=net, max_bytes=8 * 1024)
    assert len(await fetch(fetcher, "https://cdn.example/fits")) == 4096
    with pytest.raises(MediaTooLarge):
        await fetch(fetcher, "https://cdn.example/big")


async def test_a_content_length_over_the_cap_is_refused_before_the_body() -> None:
    """Content-Length over the cap: refused from the headers (the body, cut short here, is never read)."""
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 10737418240\r\n\r\n" + b"v" * 100
    net = FakeNet({(PUBLIC, 443): {"/huge": head}})
    fetcher = MediaFetcher(resolver=dns({"cdn.example": [PUBLIC]}), network=net, max_bytes=8 * 1024)
    with pytest.raises(MediaTooLarge, match="Content-Length"):
        await fetch(fetcher, "https://cdn.example/huge")
