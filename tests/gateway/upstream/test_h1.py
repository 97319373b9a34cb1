"""The backend hop's HTTP/1.1 client (`gateway.upstream.h1`) against a scripted server on 127.0.0.1:
keep-alive reuse, every way an answer's body can end, decoding, flow control, and each failure
told apart (never sent, or broken after sending)."""

from __future__ import annotations

import asyncio
import datetime
import gzip
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gateway.upstream.h1 import HIGH_WATER, IDLE_SECONDS, MAX_HEAD_BYTES, Broken, NotSent
from tests.gateway.upstream.h1server import connect, fixed, pool, serving

pytestmark = pytest.mark.asyncio


async def test_a_request_carries_its_head_and_body_and_connections_are_reused() -> None:
    async with serving(fixed(b"{}")) as server:
        http = pool(server, authorization="Bearer fixed")
        for _ in range(3):
            async with http.post(b'{"a":1}', {"mcp-session-id": "s1"}) as response:
                assert (response.status, await response.read()) == (200, b"{}")
        http.close()
    head, _, body = server.requests[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /mcp?x=1 HTTP/1.1"
    assert {b"host: localhost:%d" % server.port, b"mcp-session-id: s1", b"content-length: 7"} <= set(lines)
    assert b"authorization: Bearer fixed" in lines and body == b'{"a":1}'
    assert server.connections == 1, "keep-alive: one connection for three requests"


async def test_a_request_header_replaces_a_fixed_one_of_the_same_name() -> None:
    async with serving(fixed(b"")) as server:
        http = pool(server, Accept="a/b")
        async with http.post(b"", {"accept": "c/d"}) as response:
            await response.read()
    lines = server.requests[0].lower().split(b"\r\n")
    assert b"accept: c/d" in lines and b"accept: a/b" not in lines


async def test_a_header_that_would_split_the_head_is_refused_before_anything_is_sent() -> None:
    async with serving(fixed(b"")) as server:
        with pytest.raises(ValueError, match="mcp-name"):
            pool(server).post(b"", {"mcp-name": "x\r\nevil: 1"})
    assert server.requests == []


async def test_chunked_event_streams_arrive_chunk_by_chunk() -> None:
    events = [b"data: one\n\n", b"data: two\n\n"]
    answer = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    answer += b"".join(b"%x\r\n%b\r\n" % (len(e), e) for e in events) + b"0\r\n\r\n"
    async with serving(lambda _: answer) as server:
        http = pool(server)
        async with http.post(b"{}", {}) as response:
            assert response.headers["content-type"] == "text/event-stream"
            assert b"".join([c async for c in response.chunks()]) == b"".join(events)
        async with http.post(b"{}", {}) as response:
            await response.read()
    assert server.connections == 1


async def test_an_answer_without_a_length_ends_with_its_connection() -> None:
    async with serving(lambda _: b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nthe whole body") as server:
        server.close_after_answer = True
        async with pool(server).post(b"", {}) as response:
            assert await response.read() == b"the whole body"
            assert response.complete


async def test_a_compressed_body_is_decoded() -> None:
    body = gzip.compress(b'{"ok":true}')
    async with (
        serving(fixed(body, extra=b"content-encoding: gzip\r\n")) as server,
        pool(server).post(b"", {}) as response,
    ):
        assert await response.read() == b'{"ok":true}'


async def test_a_large_body_pauses_reading_and_arrives_whole() -> None:
    body = bytes(range(256)) * (4 * HIGH_WATER // 256)
    async with serving(fixed(body)) as server, pool(server).post(b"", {}) as response:
        for _ in range(200):  # the backend writes while nothing reads: what is held stays bounded
            await asyncio.sleep(0)
        assert HIGH_WATER <= response._buffered < 2 * HIGH_WATER
        assert await response.read() == body


async def test_an_answer_not_read_to_its_end_closes_its_connection() -> None:
    # 5 bytes of 100 written, the rest never: the answer cannot end while it is read
    async with serving(lambda _: b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nstart") as server:
        http = pool(server)
        for _ in range(2):
            async with http.post(b"", {}) as response:
                assert response.status == 200 and not response.complete
    assert server.connections == 2


async def test_an_idle_connection_past_its_time_is_not_reused() -> None:
    now = [0.0]
    async with serving(fixed(b"")) as server:
        http = pool(server, clock=lambda: now[0])
        for step in (0.0, IDLE_SECONDS - 0.5, IDLE_SECONDS + 0.1):
            now[0] += step
            async with http.post(b"", {}) as response:
                await response.read()
    assert server.connections == 2


async def test_a_refused_connection_is_not_sent() -> None:
    async with serving(fixed(b"")) as server:
        port = server.port
    http = connect(f"http://127.0.0.1:{port}/mcp", limit=1)
    with pytest.raises(NotSent, match="no connection"):
        async with http.post(b"", {}):
            pass


async def test_a_resolver_refusal_is_not_sent() -> None:
    async def refuse(host: str, port: int) -> str:
        raise OSError("egress refused: not allowed")

    http = connect("http://example.com/mcp", limit=1, resolve=refuse)
    with pytest.raises(NotSent):
        async with http.post(b"", {}):
            pass


async def test_a_connection_closed_before_the_answer_is_broken() -> None:
    async with serving(lambda _: None) as server:
        with pytest.raises(Broken, match="closed before"):
            async with pool(server).post(b"{}", {}):
                pass
    assert len(server.requests) == 1, "it was sent: it may have run"


async def test_an_answer_cut_short_is_broken() -> None:
    async with serving(lambda _: b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nshort") as server:
        server.close_after_answer = True  # 5 of 100 bytes, then the connection closes
        async with pool(server).post(b"{}", {}) as response:
            with pytest.raises(Broken):
                await response.read()


async def test_a_head_over_its_cap_and_garbage_are_broken() -> None:
    huge = b"HTTP/1.1 200 OK\r\nx-big: " + b"a" * MAX_HEAD_BYTES + b"\r\ncontent-length: 0\r\n\r\n"
    for answer, match in ((huge, "head is over"), (b"NOT HTTP AT ALL\r\n\r\n", "not valid HTTP")):
        async with serving(lambda _, answer=answer: answer) as server:
            with pytest.raises(Broken, match=match):
                async with pool(server).post(b"{}", {}):
                    pass


async def test_at_most_limit_connections_at_once() -> None:
    gate = asyncio.Event()
    async with serving(fixed(b"")) as server:
        http = connect(f"http://127.0.0.1:{server.port}/mcp", limit=2)

        async def one() -> None:
            async with http.post(b"", {}) as response:
                await response.read()
                await gate.wait()

        tasks = [asyncio.create_task(one()) for _ in range(5)]
        await server.until(2)
        for _ in range(20):
            await asyncio.sleep(0)
        assert len(server.requests) == 2, "the other three wait for a connection"
        gate.set()
        await asyncio.gather(*tasks)
    assert len(server.requests) == 5 and server.connections == 2


def certificate(tmp_path: Path, name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A self-signed certificate for `name`: (the server's context, a client context trusting it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return server, client


async def test_tls_verifies_the_host_name_it_was_given(tmp_path: Path) -> None:
    server_tls, client_tls = certificate(tmp_path, "backend.test")
    async with serving(fixed(b"{}"), tls=server_tls) as server:
        for host, works in (("backend.test", True), ("other.test", False)):
            # the name resolves to 127.0.0.1; the certificate says who it is
            http = connect(f"https://{host}:{server.port}/mcp", limit=1, tls=client_tls)
            if works:
                async with http.post(b"{}", {}) as response:
                    assert await response.read() == b"{}"
                assert server.requests[0].split(b"\r\n")[1] == b"host: backend.test:%d" % server.port
            else:
                with pytest.raises(NotSent, match="no connection"):
                    async with http.post(b"{}", {}):
                        pass
            http.close()
    assert len(server.requests) == 1, "nothing was sent to a server whose certificate names another host"


async def test_a_connection_paused_by_a_whole_body_is_read_again_for_the_next_answer() -> None:
    """The body's last bytes put it over the mark as it completed: reading it whole resumes the
    connection, so the next answer on it arrives."""
    body = b"x" * (HIGH_WATER + 10)
    async with serving(fixed(body)) as server:
        http = pool(server)
        async with http.post(b"", {}) as response:
            async with asyncio.timeout(5):  # everything in before it is read
                while not response.complete:  # noqa: ASYNC110 - the connection's own record
                    await asyncio.sleep(0)
            assert await response.read() == body
        async with asyncio.timeout(5), http.post(b"", {}) as response:
            assert await response.read() == body
    assert server.connections == 1
