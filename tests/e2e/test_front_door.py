"""The front door through the real HTTP front: authentication, views, backend credentials, rate
limits, size limits, sessions, audit (RELIABILITY.md §5 items 21-33)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastmcp.server.auth.providers.jwt import RSAKeyPair

from tests.conftest import PYTHON, ROOT, free_port
from tests.e2e.support import INITIALIZE as INIT
from tests.e2e.support import MCP_HEADERS, gateway_command, running, ts_client

pytestmark = pytest.mark.e2e

OPS_KEY = "ops-key-0123456789abcdef"
ANALYST_KEY = "analyst-key-0123456789ab"
BACKEND_TOKEN = "backend-own-token-xyz"
PAIR = RSAKeyPair.generate()
ISSUER = "https://auth.example.com"
AUDIENCE = "mcp-gateway-tests"


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    work = tmp_path_factory.mktemp("front-door")
    recorder_port, gateway_port = free_port(), free_port()
    audit = work / "audit.jsonl"
    config = work / "gateway.yaml"
    config.write_text(
        f"""
auth:
  api_keys:
    ops: {{key: "${{OPS_KEY}}", scopes: [mcp, write]}}
    analyst: {{key: "${{ANALYST_KEY}}", scopes: [mcp]}}
  jwt:
    issuer: {ISSUER}
    audience: {AUDIENCE}
    public_key: "${{JWT_PUBLIC_KEY}}"
  required_scopes: [mcp]
views:
  analysts:
    principals: [analyst]
    namespaces: [an]
  jwt_readers:
    claims: {{team: research}}
    tools: ["an_*", "rich_*"]
tool_scopes:
  "rich_echo_meta": [write]
rate_limits:
  tools:
    "an_slow_count": {{rate: 2, per: 1m, burst: 2}}
limits:
  max_request_bytes: 65536
  max_argument_bytes: 4096
  max_response_bytes: 2048
  request_read_timeout: 1s
audit:
  sink: {audit}
backends:
  an:
    module: tests.fakes.echo
  rich:
    module: tests.fakes.rich
  rec:
    url: http://127.0.0.1:{recorder_port}/mcp
    bearer_token: "${{BACKEND_TOKEN}}"
    forward_identity: {{header: X-Caller}}
"""
    )
    env = {
        "OPS_KEY": OPS_KEY,
        "ANALYST_KEY": ANALYST_KEY,
        "BACKEND_TOKEN": BACKEND_TOKEN,
        "JWT_PUBLIC_KEY": PAIR.public_key,
        "PYTHONPATH": str(ROOT),
    }
    recorder = [PYTHON, "-m", "tests.fakes.recorder", "--transport", "http", "--port", str(recorder_port)]
    with (
        running(recorder, log=work / "recorder.log", ready_url=f"http://127.0.0.1:{recorder_port}/mcp"),
        running(
            gateway_command(config, "run", "--port", str(gateway_port)),
            log=work / "gateway.log",
            env=env,
            ready_url=f"http://127.0.0.1:{gateway_port}/readyz",
            expect_status=200,
        ) as gateway,
    ):
        yield {"base": f"http://127.0.0.1:{gateway_port}", "audit": audit, "gateway": gateway, "work": work}


def mcp_url(front: dict[str, Any]) -> str:
    return f"{front['base']}/mcp"


def as_client(front: dict[str, Any], token: str | None, *steps: dict[str, Any]) -> list[Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return list(
        ts_client({"target": {"url": mcp_url(front), "headers": headers}, "steps": list(steps)})["steps"]
    )


def post(front: dict[str, Any], body: Any, token: str | None = OPS_KEY, **headers: str) -> httpx2.Response:
    extra = {"authorization": f"Bearer {token}"} if token else {}
    return httpx2.post(mcp_url(front), content=json.dumps(body), headers={**MCP_HEADERS, **extra, **headers})


class TestAuthentication:
    def test_no_credentials_is_401_with_a_challenge(self, front: dict[str, Any]) -> None:
        response = post(front, INIT, token=None)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "resource_metadata=" in response.headers["www-authenticate"]

    def test_a_wrong_key_is_401(self, front: dict[str, Any]) -> None:
        assert post(front, INIT, token="not-a-key-0123456789").status_code == 401

    def test_a_token_in_the_query_string_is_refused(self, front: dict[str, Any]) -> None:
        response = httpx2.post(f"{mcp_url(front)}?access_token={OPS_KEY}", json=INIT, headers=MCP_HEADERS)
        assert response.status_code == 401

    def test_protected_resource_metadata_is_served(self, front: dict[str, Any]) -> None:
        response = httpx2.get(f"{front['base']}/.well-known/oauth-protected-resource/mcp")
        assert response.status_code == 200
        assert response.json()["authorization_servers"] == [f"{ISSUER}/"] or ISSUER in json.dumps(
            response.json()
        )

    @pytest.mark.parametrize(
        "token",
        [
            pytest.param(
                PAIR.create_token(subject="a", issuer=ISSUER, audience="other", scopes=["mcp"]), id="audience"
            ),
            pytest.param(
                PAIR.create_token(subject="a", issuer="https://x", audience=AUDIENCE, scopes=["mcp"]),
                id="issuer",
            ),
            pytest.param(
                PAIR.create_token(
                    subject="a", issuer=ISSUER, audience=AUDIENCE, scopes=["mcp"], expires_in_seconds=-10
                ),
                id="expired",
            ),
            pytest.param(
                RSAKeyPair.generate().create_token(
                    subject="a", issuer=ISSUER, audience=AUDIENCE, scopes=["mcp"]
                ),
                id="signature",
            ),
        ],
    )
    def test_bad_jwts_are_401(self, front: dict[str, Any], token: str) -> None:
        response = post(front, INIT, token=token)
        assert response.status_code == 401 and "www-authenticate" in response.headers

    def test_a_jwt_without_the_required_scope_is_403(self, front: dict[str, Any]) -> None:
        token = PAIR.create_token(subject="a", issuer=ISSUER, audience=AUDIENCE, scopes=["other"])
        response = post(front, INIT, token=token)
        assert response.status_code == 403 and "insufficient_scope" in response.headers["www-authenticate"]

    def test_a_good_jwt_gets_its_view(self, front: dict[str, Any]) -> None:
        token = PAIR.create_token(
            subject="reader",
            issuer=ISSUER,
            audience=AUDIENCE,
            scopes=["mcp"],
            additional_claims={"team": "research"},
        )
        (tools,) = as_client(front, token, {"op": "listAll", "what": "tools"})
        names = {t["name"] for t in tools["tools"]}
        assert "an_echo" in names and "rich_shape" in names and "rec_headers" not in names
        assert "rich_echo_meta" not in names, "needs the write scope"


class TestViews:
    def test_ops_sees_everything_and_the_analyst_only_its_namespace(self, front: dict[str, Any]) -> None:
        (ops,) = as_client(front, OPS_KEY, {"op": "listAll", "what": "tools"})
        (analyst,) = as_client(front, ANALYST_KEY, {"op": "listAll", "what": "tools"})
        ops_names = {t["name"] for t in ops["tools"]}
        assert {"an_echo", "rich_shape", "rec_headers", "rich_echo_meta"} <= ops_names
        assert {t["name"] for t in analyst["tools"]} == {"an_echo", "an_slow_count"}

    def test_a_hidden_tool_answers_exactly_like_a_missing_one(self, front: dict[str, Any]) -> None:
        hidden, missing = as_client(
            front,
            ANALYST_KEY,
            {"op": "callTool", "name": "rich_shape", "arguments": {"name": "x"}},
            {"op": "callTool", "name": "no_such_tool", "arguments": {"name": "x"}},
        )
        assert hidden["isError"] and missing["isError"]
        assert hidden["content"][0]["text"].replace("rich_shape", "X") == missing["content"][0][
            "text"
        ].replace("no_such_tool", "X")

    def test_hidden_resources_and_prompts_are_invisible(self, front: dict[str, Any]) -> None:
        resources, prompts, read = as_client(
            front,
            ANALYST_KEY,
            {"op": "listAll", "what": "resources"},
            {"op": "listAll", "what": "prompts"},
            {"op": "readResource", "uri": "rich://rich/docs/readme"},
        )
        assert all(r["uri"].startswith("echo://an/") for r in resources["resources"])
        assert {p["name"] for p in prompts["prompts"]} == {"an_shout"}
        assert "error" in read


class TestBackendCredentials:
    def test_a_backend_gets_its_own_token_and_the_callers_name_never_the_callers_token(
        self, front: dict[str, Any]
    ) -> None:
        (result,) = as_client(front, OPS_KEY, {"op": "callTool", "name": "rec_headers"})
        received = {k.lower(): v for k, v in result["structuredContent"].items()}
        assert received["authorization"] == f"Bearer {BACKEND_TOKEN}"
        assert received["x-caller"] == "ops"
        assert OPS_KEY not in json.dumps(received)


class TestRateLimits:
    def test_a_limited_tool_refuses_with_the_time_to_wait(self, front: dict[str, Any]) -> None:
        calls = [{"op": "callTool", "name": "an_slow_count", "arguments": {"n": 1}} for _ in range(3)]
        first, second, third = as_client(front, ANALYST_KEY, *calls)
        assert first["structuredContent"] == {"result": 1} and second["structuredContent"] == {"result": 1}
        assert "rate limit exceeded" in third["error"]["message"] and "retry in" in third["error"]["message"]

    def test_lists_do_not_count(self, front: dict[str, Any]) -> None:
        steps = [{"op": "listAll", "what": "tools"} for _ in range(5)]
        assert all("tools" in s for s in as_client(front, OPS_KEY, *steps))


class TestLimits:
    def test_an_oversized_body_is_413(self, front: dict[str, Any]) -> None:
        huge = {**INIT, "params": {**INIT["params"], "pad": "x" * 70_000}}
        assert post(front, huge).status_code == 413

    def test_deep_json_and_batches_are_400(self, front: dict[str, Any]) -> None:
        deep: Any = "x"
        for _ in range(40):
            deep = [deep]
        assert post(front, {**INIT, "params": {**INIT["params"], "deep": deep}}).status_code == 400
        assert post(front, [INIT, INIT]).status_code == 400

    def test_oversized_arguments_and_meta_are_refused_before_any_work(self, front: dict[str, Any]) -> None:
        args, meta = as_client(
            front,
            OPS_KEY,
            {"op": "callTool", "name": "an_echo", "arguments": {"text": "x" * 5000}},
            {"op": "callTool", "name": "an_echo", "arguments": {"text": "x"}},
        )
        assert "arguments are" in args["error"]["message"] and "the limit is 4096" in args["error"]["message"]
        assert meta["structuredContent"] == {"result": "x"}

    def test_an_oversized_answer_is_cut_with_a_marker(self, front: dict[str, Any]) -> None:
        (result,) = as_client(
            front, OPS_KEY, {"op": "callTool", "name": "an_echo", "arguments": {"text": "y" * 3000}}
        )
        assert "the rest was cut" in result["content"][-1]["text"]
        assert "structuredContent" not in result

    def test_a_slow_body_times_out(self, front: dict[str, Any]) -> None:
        port = int(front["base"].rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(
                f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {OPS_KEY}\r\n"
                "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
                "Content-Length: 100\r\n\r\n{".encode()
            )
            sock.settimeout(10)
            started = time.monotonic()
            reply = sock.recv(200).decode()
        assert reply.startswith("HTTP/1.1 408") and time.monotonic() - started < 5


class TestSessions:
    def test_another_principal_cannot_use_a_session(self, front: dict[str, Any]) -> None:
        opened = post(front, INIT)
        session = opened.headers["mcp-session-id"]
        assert len(session) >= 22 and all(0x21 <= ord(c) <= 0x7E for c in session)
        ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
        stolen = post(
            front,
            ping,
            token=ANALYST_KEY,
            **{"mcp-session-id": session, "mcp-protocol-version": "2025-11-25"},
        )
        assert stolen.status_code == 404
        unknown = post(front, ping, **{"mcp-session-id": "nope", "mcp-protocol-version": "2025-11-25"})
        assert unknown.status_code == 404

    def test_protocol_violations_are_400(self, front: dict[str, Any]) -> None:
        ping = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
        assert post(front, ping, **{"mcp-protocol-version": "2025-11-25"}).status_code == 400
        assert post(front, INIT, **{"mcp-protocol-version": "1999-01-01"}).status_code == 400

    def test_two_origin_headers_are_403(self, front: dict[str, Any]) -> None:
        response = httpx2.post(
            mcp_url(front),
            content=json.dumps(INIT),
            headers=[
                *MCP_HEADERS.items(),
                ("authorization", f"Bearer {OPS_KEY}"),
                ("origin", front["base"]),
                ("origin", "http://evil.example"),
            ],
        )
        assert response.status_code == 403


class TestAudit:
    def test_every_call_leaves_one_record_and_no_secret(self, front: dict[str, Any]) -> None:
        before = front["audit"].read_text().count("\n") if front["audit"].exists() else 0
        as_client(
            front,
            OPS_KEY,
            {"op": "callTool", "name": "an_echo", "arguments": {"text": "audit me"}},
            {"op": "callTool", "name": "rich_fail", "arguments": {"reason": "on purpose"}},
        )
        lines = front["audit"].read_text().splitlines()[before:]
        records = [json.loads(line) for line in lines]
        assert [(r["tool"], r["outcome"]) for r in records] == [
            ("an_echo", "ok"),
            ("rich_fail", "tool_error"),
        ]
        first = records[0]
        assert first["principal"] == "ops" and first["backend"] == "an" and first["backend_tool"] == "echo"
        assert len(first["args_sha256"]) == 64 and first["latency_ms"] >= 0 and first["attempts"] == 1
        text = front["audit"].read_text()
        assert OPS_KEY not in text and ANALYST_KEY not in text and "audit me" not in text

    def test_the_gateway_log_holds_no_secret(self, front: dict[str, Any]) -> None:
        log = front["gateway"].output()
        assert OPS_KEY not in log and ANALYST_KEY not in log and BACKEND_TOKEN not in log


def test_examples_auth_yaml_runs(tmp_path: Path) -> None:
    env = {
        "OPS_KEY": OPS_KEY,
        "ANALYST_KEY": ANALYST_KEY,
        "LOOKUP_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
    }
    port = free_port()
    with running(
        gateway_command(ROOT / "examples" / "auth.yaml", "run", "--port", str(port)),
        log=tmp_path / "gw.log",
        env=env,
        ready_url=f"http://127.0.0.1:{port}/readyz",
        expect_status=200,
    ):
        front = {"base": f"http://127.0.0.1:{port}"}
        (analyst,) = as_client(front, ANALYST_KEY, {"op": "listAll", "what": "tools"})
        (ops,) = as_client(front, OPS_KEY, {"op": "listAll", "what": "tools"})
    assert {t["name"].split("_", 1)[0] for t in analyst["tools"]} == {"analytics"}
    assert {t["name"].split("_", 1)[0] for t in ops["tools"]} == {"analytics", "datagen", "lookup"}
