"""REST APIs as backends (`openapi:`): a real HTTP API, its OpenAPI document, the gateway between.

The API (tests/fakes/rest_api.py) runs under uvicorn on 127.0.0.1 and records every request, so
each test can say what reached it: method, path, query, body, and the Authorization header the
gateway took from the environment.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml
from mcp.shared.exceptions import MCPError as McpError

from gateway.config import parse_config
from gateway.errors import ConfigError
from gateway.upstream.links.openapi import (
    ApiErrors,
    GatewayHeaders,
    RefusedRequest,
    SameOrigin,
    origin_of,
    secret_values,
)
from tests.conftest import connected, free_port, make_gateway
from tests.fakes.rest_api import Api, serve_api

TOKEN = "shop-token-5ecret-0123456789"
API_KEY = "shop-key-abcdefghijklmnop"
ENV = {"API_TOKEN": TOKEN, "API_KEY": API_KEY}
OWNED = ["Authorization", "host", "X-Request-Id", "Content-Length", "Connection", "X-Gateway-Principal"]
"""Header parameters of `GET /tenant` that are the gateway's (and `Cookie`, declared for its path)."""
FORGED = {
    "Authorization": "Bearer forged",
    "host": "evil.test",
    "Cookie": "session=forged",
    "X-Request-Id": "forged",
    "Content-Length": "999",
    "Connection": "close",
    "X-Gateway-Principal": "root",
}


@pytest.fixture(scope="module")
def served() -> Iterator[Api]:
    with serve_api(token=TOKEN) as api:
        yield api


@pytest.fixture
def api(served: Api) -> Api:
    """The running API, with its items and request log as new."""
    served.reset()
    return served


def write_document(directory: Path, document: dict[str, Any], name: str = "shop.json") -> Path:
    path = directory / name
    path.write_text(json.dumps(document))
    return path


def shop(tmp_path: Path, api: Api, extra: str = "", *, document: dict[str, Any] | None = None) -> Any:
    """A gateway with the API as backend `shop` (document in shop.json beside gateway.yaml)."""
    write_document(tmp_path, document if document is not None else api.document())
    text = "backends:\n  shop:\n    openapi:\n      spec: ./shop.json\n      bearer_token: ${API_TOKEN}\n"
    return make_gateway(text + extra, environ=ENV, base_dir=tmp_path)


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, environ=ENV)
    return caught.value.problems


async def startup_error(gateway: Any) -> str:
    with pytest.raises(RuntimeError, match="Client failed to connect") as failed:
        async with connected(gateway):
            pass
    return str(failed.value)


@pytest.mark.asyncio
class TestTools:
    """Operations become namespaced tools whose calls reach the API."""

    async def test_operations_are_listed_namespaced_with_schemas_from_the_document(
        self, tmp_path: Path, api: Api, era: str
    ) -> None:
        async with connected(shop(tmp_path, api), mode=era) as client:
            tools = {t.name: t for t in await client.list_tools()}
        assert set(tools) == {
            "shop_listItems",
            "shop_createItem",
            "shop_getItem",
            "shop_whoami",
            "shop_echoAuth",
            "shop_slow",
        }
        get_item = tools["shop_getItem"]
        assert get_item.input_schema["properties"] == {"item_id": {"type": "integer"}}
        assert get_item.input_schema["required"] == ["item_id"]
        assert get_item.output_schema is not None
        assert get_item.output_schema["properties"]["name"] == {"type": "string"}
        assert tools["shop_createItem"].input_schema["required"] == ["name"]
        assert tools["shop_listItems"].output_schema is not None
        assert tools["shop_listItems"].output_schema["properties"]["result"]["type"] == "array"
        assert get_item.annotations is not None and get_item.annotations.read_only_hint is True
        create = tools["shop_createItem"].annotations
        assert create is not None and create.read_only_hint is False and create.idempotent_hint is False

    async def test_calls_reach_the_api_with_method_path_query_body_and_the_token(
        self, tmp_path: Path, api: Api, era: str
    ) -> None:
        async with connected(shop(tmp_path, api), mode=era) as client:
            one = await client.call_tool("shop_getItem", {"item_id": 2})
            created = await client.call_tool("shop_createItem", {"name": "fig"})
            listed = await client.call_tool("shop_listItems", {"limit": 1})
            me = await client.call_tool("shop_whoami", {})
        assert one.structured_content == {"id": 2, "name": "pear"}
        assert created.structured_content == {"id": 3, "name": "fig"}
        assert listed.structured_content == {"result": [{"id": 1, "name": "apple"}]}
        assert me.structured_content == {"user": "gateway"}
        seen = [(r.method, r.path, r.query, r.body) for r in api.calls()]
        assert seen == [
            ("GET", "/api/items/2", {}, None),
            ("POST", "/api/items", {}, {"name": "fig"}),
            ("GET", "/api/items", {"limit": "1"}, None),
            ("GET", "/api/me", {}, None),
        ]
        assert {r.headers["authorization"] for r in api.calls()} == {f"Bearer {TOKEN}"}
        assert api.calls()[1].headers["content-type"] == "application/json"

    async def test_an_api_key_header_and_a_yaml_document(self, tmp_path: Path, api: Api) -> None:
        """YAML reads `200:` as an integer; the document still loads."""
        document = api.document()
        for path in document["paths"].values():
            for operation in path.values():
                operation["responses"] = {int(k): v for k, v in operation["responses"].items()}
        (tmp_path / "shop.yaml").write_text(yaml.safe_dump(document))
        gateway = make_gateway(
            "backends:\n  shop:\n    namespace: s\n    openapi:\n      spec: shop.yaml\n"
            "      headers: {X-Api-Key: '${API_TOKEN}'}\n",
            environ=ENV,
            base_dir=tmp_path,
        )
        async with connected(gateway) as client:
            result = await client.call_tool("s_getItem", {"item_id": 1})
        assert result.structured_content == {"id": 1, "name": "apple"}
        assert api.calls()[0].headers["x-api-key"] == TOKEN
        assert "authorization" not in api.calls()[0].headers

    async def test_without_output_validation_the_output_schema_is_permissive(
        self, tmp_path: Path, api: Api
    ) -> None:
        async with connected(shop(tmp_path, api, "      validate_output: false\n")) as client:
            tools = {t.name: t for t in await client.list_tools()}
            result = await client.call_tool("shop_getItem", {"item_id": 1})
        assert tools["shop_getItem"].output_schema == {"type": "object", "additionalProperties": True}
        assert result.structured_content == {"id": 1, "name": "apple"}

    async def test_gateway_policies_apply_as_to_any_backend_a_per_tool_timeout(
        self, tmp_path: Path, api: Api
    ) -> None:
        extra = "    tool_timeouts: {slow: 300ms}\n"
        async with connected(shop(tmp_path, api, extra)) as client:
            started = time.monotonic()
            with pytest.raises(McpError, match=r"backend .shop.: no answer to tools/call within 0\.3s"):
                await client.call_tool("shop_slow", {"seconds": 5})
            elapsed = time.monotonic() - started
        assert elapsed < 2.0


@pytest.mark.asyncio
class TestSelection:
    """`include` / `exclude` choose operations by operationId glob or by method and path."""

    async def test_include_by_operation_id_and_exclude_by_method_and_path(
        self, tmp_path: Path, api: Api
    ) -> None:
        extra = "      include: ['*Item*', 'GET /me']\n      exclude: ['POST /items']\n"
        async with connected(shop(tmp_path, api, extra)) as client:
            names = {t.name for t in await client.list_tools()}
            hidden = await client.call_tool("shop_createItem", {"name": "x"}, raise_on_error=False)
        assert names == {"shop_listItems", "shop_getItem", "shop_whoami"}
        assert hidden.is_error
        assert api.calls() == []

    async def test_method_wildcards_and_path_globs(self, tmp_path: Path, api: Api) -> None:
        extra = "      include: ['* /items*']\n      exclude: ['GET /items/{item_id}']\n"
        async with connected(shop(tmp_path, api, extra)) as client:
            names = {t.name for t in await client.list_tools()}
        assert names == {"shop_listItems", "shop_createItem"}

    async def test_an_include_pattern_that_selects_nothing_is_logged(
        self, tmp_path: Path, api: Api, caplog: pytest.LogCaptureFixture
    ) -> None:
        extra = "      include: [getItem, getItme]\n"
        with caplog.at_level(logging.WARNING, logger="gateway.openapi"):
            async with connected(shop(tmp_path, api, extra)) as client:
                names = {t.name for t in await client.list_tools()}
        assert names == {"shop_getItem"}
        assert "openapi.include pattern 'getItme' selects no operation" in caplog.text


@pytest.mark.asyncio
class TestOwnedHeaders:
    """Header parameters cannot replace what the gateway sends: its credentials, Host, framing."""

    async def test_owned_header_parameters_are_left_out_of_the_tool_schema_with_a_warning(
        self, tmp_path: Path, api: Api, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Clients cannot even name them; the operator learns which operation declared which."""
        document = api.document(header_parameters=OWNED)
        with caplog.at_level(logging.WARNING, logger="gateway.openapi"):
            async with connected(shop(tmp_path, api, document=document)) as client:
                tools = {t.name: t for t in await client.list_tools()}
        schema = tools["shop_tenant"].input_schema
        assert set(schema["properties"]) == {"X-Tenant"}
        assert schema["required"] == ["X-Tenant"]
        [warning] = [r.getMessage() for r in caplog.records if "operation tenant" in r.getMessage()]
        assert warning.startswith("backend shop: operation tenant (GET /tenant) declares header parameters ")
        assert warning.endswith(", which the gateway sets; left out of the tool's arguments")
        for name in [*OWNED, "Cookie"]:
            assert f" {name}," in warning

    async def test_owned_headers_passed_as_arguments_anyway_never_reach_the_api(
        self, tmp_path: Path, api: Api, era: str
    ) -> None:
        """Raw arguments named like owned headers go nowhere: the API sees the token and base URL's Host."""
        document = api.document(header_parameters=OWNED)
        gateway = shop(tmp_path, api, "      timeout: 5s\n", document=document)
        async with connected(gateway, mode=era) as client:
            result = await client.call_tool("shop_tenant", {"X-Tenant": "acme", **FORGED})
        assert result.structured_content == {"tenant": "acme"}
        [seen] = api.calls()
        assert seen.headers["authorization"] == f"Bearer {TOKEN}"
        assert seen.headers["host"] == api.url.removeprefix("http://")
        assert seen.headers["x-tenant"] == "acme"
        assert "forged" not in json.dumps(seen.headers)
        for name in ("cookie", "x-request-id", "content-length", "x-gateway-principal"):
            assert name not in seen.headers

    async def test_a_header_the_config_sets_is_the_gateways_too(self, tmp_path: Path, api: Api) -> None:
        """`openapi.headers` are credentials like the bearer token: no argument replaces them."""
        document = api.document(header_parameters=["X-Api-Key"])
        gateway = shop(tmp_path, api, "      headers: {X-Api-Key: '${API_KEY}'}\n", document=document)
        async with connected(gateway) as client:
            tools = {t.name: t for t in await client.list_tools()}
            await client.call_tool("shop_tenant", {"X-Tenant": "acme", "X-Api-Key": "forged"})
        assert set(tools["shop_tenant"].input_schema["properties"]) == {"X-Tenant"}
        assert api.calls()[0].headers["x-api-key"] == API_KEY

    async def test_ordinary_header_parameters_still_reach_the_api(self, tmp_path: Path, api: Api) -> None:
        """Only the gateway's headers are taken out; the API's own (`X-Tenant`) work as declared."""
        document = api.document(header_parameters=["X-Trace-Tag"])
        async with connected(shop(tmp_path, api, document=document)) as client:
            tools = {t.name: t for t in await client.list_tools()}
            result = await client.call_tool("shop_tenant", {"X-Tenant": "acme", "X-Trace-Tag": "blue"})
        assert set(tools["shop_tenant"].input_schema["properties"]) == {"X-Tenant", "X-Trace-Tag"}
        assert result.structured_content == {"tenant": "acme"}
        [seen] = api.calls()
        assert (seen.headers["x-tenant"], seen.headers["x-trace-tag"]) == ("acme", "blue")


@pytest.mark.asyncio
class TestFailures:
    """What the API does wrong becomes a tool error that says what happened."""

    async def test_a_404_and_a_500_become_clear_tool_errors(self, tmp_path: Path, api: Api, era: str) -> None:
        async with connected(shop(tmp_path, api), mode=era) as client:
            missing = await client.call_tool("shop_getItem", {"item_id": 99}, raise_on_error=False)
            broken = await client.call_tool("shop_getItem", {"item_id": 500}, raise_on_error=False)
        assert missing.is_error and broken.is_error
        assert missing.content[0].text == (
            'GET /items/{item_id}: the API answered HTTP 404 Not Found: {"detail":"no such item"}'
        )
        assert broken.content[0].text == (
            "GET /items/{item_id}: the API answered HTTP 500 Internal Server Error: "
            '{"detail":"the database is on fire"}'
        )

    async def test_without_the_right_token_the_protected_route_answers_401(
        self, tmp_path: Path, api: Api
    ) -> None:
        write_document(tmp_path, api.document())
        gateway = make_gateway(
            "backends:\n  shop:\n    openapi: {spec: shop.json, bearer_token: '${API_TOKEN}'}\n",
            environ={"API_TOKEN": "not-the-token"},
            base_dir=tmp_path,
        )
        async with connected(gateway) as client:
            refused = await client.call_tool("shop_whoami", {}, raise_on_error=False)
        assert refused.is_error
        assert refused.content[0].text.startswith("GET /me: the API answered HTTP 401 Unauthorized")
        assert api.calls()[0].headers["authorization"] == "Bearer not-the-token"

    async def test_the_timeout_is_honoured(self, tmp_path: Path, api: Api) -> None:
        async with connected(shop(tmp_path, api, "      timeout: 200ms\n")) as client:
            started = time.monotonic()
            late = await client.call_tool("shop_slow", {"seconds": 5}, raise_on_error=False)
            elapsed = time.monotonic() - started
            quick = await client.call_tool("shop_slow", {"seconds": 0}, raise_on_error=False)
        assert late.is_error
        assert late.content[0].text == "GET /slow: the API did not answer within 0.2s"
        assert elapsed < 2.0
        assert not quick.is_error

    async def test_an_api_that_is_not_listening_is_a_tool_error(self, tmp_path: Path, api: Api) -> None:
        extra = f"      base_url: http://127.0.0.1:{free_port()}/api\n"
        async with connected(shop(tmp_path, api, extra)) as client:
            result = await client.call_tool("shop_getItem", {"item_id": 1}, raise_on_error=False)
        assert result.is_error
        assert result.content[0].text == "GET /items/{item_id}: cannot reach the API (ConnectError)"


class TestSecrets:
    @pytest.mark.asyncio
    async def test_the_token_never_appears_in_errors_logs_repr_or_dumps(
        self, tmp_path: Path, api: Api, caplog: pytest.LogCaptureFixture
    ) -> None:
        gateway = shop(tmp_path, api)
        with caplog.at_level(logging.DEBUG):
            async with connected(gateway) as client:
                echoed = await client.call_tool("shop_echoAuth", {}, raise_on_error=False)
                await client.call_tool("shop_getItem", {"item_id": 1})
        assert api.calls()[0].headers["authorization"] == f"Bearer {TOKEN}"  # the API did get it
        assert echoed.is_error
        assert (
            echoed.content[0].text
            == 'GET /echo-auth: the API answered HTTP 400 Bad Request: {"detail":"refusing ***"}'
        )
        backend = gateway.backends["shop"]
        config = gateway.config
        for text in (
            repr(config),
            str(config),
            config.model_dump_json(),
            json.dumps(config.model_dump(mode="json")),
            repr(backend),
            repr(backend.link),
            backend.link.describe(),
            caplog.text,
        ):
            assert TOKEN not in text

    def test_a_token_echoed_without_its_scheme_is_redacted_too(self) -> None:
        config = parse_config(
            "backends:\n  shop:\n    openapi: {spec: s.json, bearer_token: '${API_TOKEN}'}\n", environ=ENV
        )
        assert config.backends["shop"].openapi is not None
        errors = ApiErrors({}, secrets=secret_values(config.backends["shop"].openapi), timeout=1.0)
        assert errors.redact(f"token {TOKEN} and Bearer {TOKEN}") == "token *** and ***"


class TestRedaction:
    """Secrets echoed back by an API are redacted however they are echoed; the rest stays readable."""

    @pytest.fixture
    def errors(self) -> ApiErrors:
        config = parse_config(
            "backends:\n  shop:\n    openapi: {spec: s.json, bearer_token: '${API_TOKEN}',"
            " headers: {X-Api-Key: '${API_KEY}'}}\n",
            environ=ENV,
        )
        assert config.backends["shop"].openapi is not None
        return ApiErrors({}, secrets=secret_values(config.backends["shop"].openapi), timeout=1.0)

    def test_an_upper_cased_echo_is_redacted(self, errors: ApiErrors) -> None:
        """APIs that normalise what they echo still do not leak it."""
        text = f"AUTHORIZATION: BEARER {TOKEN.upper()} REFUSED; key {API_KEY.upper()}"
        assert errors.redact(text) == "AUTHORIZATION: *** REFUSED; key ***"

    def test_a_partial_echo_of_the_first_10_characters_is_redacted(self, errors: ApiErrors) -> None:
        """A truncated token (`shop-token...`) is still most of a secret."""
        assert errors.redact(f'invalid token "{TOKEN[:10]}..." for user bob') == (
            'invalid token "***..." for user bob'
        )
        assert errors.redact(f"key ending {API_KEY[-9:].upper()}!") == "key ending ***!"

    def test_a_fragment_under_8_characters_is_left_alone(self, errors: ApiErrors) -> None:
        """Short pieces give nothing away and would blank out ordinary words."""
        text = f"token starts with {TOKEN[:7]} and ends with {TOKEN[-7:]}"
        assert errors.redact(text) == text

    def test_the_rest_of_the_message_stays_readable(self, errors: ApiErrors) -> None:
        """Only the echoes go; the API's explanation around them is kept as it was."""
        text = f'{{"detail": "Bearer {TOKEN.upper()} expired", "hint": "{TOKEN[:12]}… is revoked"}}'
        assert errors.redact(text) == '{"detail": "*** expired", "hint": "***… is revoked"}'


@pytest.mark.asyncio
class TestDocument:
    """Where the document comes from, and what happens when it cannot be used."""

    async def test_a_missing_file_is_a_startup_error_naming_the_path(self, tmp_path: Path) -> None:
        gateway = make_gateway("backends:\n  shop:\n    openapi: {spec: ./nope.json}\n", base_dir=tmp_path)
        message = await startup_error(gateway)
        assert f"backends.shop.openapi.spec: file not found ({tmp_path / 'nope.json'})" in message

    @pytest.mark.parametrize(
        ("content", "fragment"),
        [
            ("{not json", "not valid JSON (line 1"),
            ("a: [unclosed", "not valid YAML"),
            ("- a list", "not an OpenAPI document (the top level is not a mapping)"),
            ('{"swagger": "2.0", "paths": {}}', "not an OpenAPI 3.x document (swagger 2.0)"),
            (
                '{"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": []}',
                "not a valid OpenAPI document: paths: Input should be a valid dictionary",
            ),
            ('{"openapi": "3.1.0", "paths": {}}', "not a valid OpenAPI document: info: Field required"),
        ],
    )
    async def test_an_invalid_document_is_a_startup_error_naming_the_path(
        self, tmp_path: Path, content: str, fragment: str
    ) -> None:
        (tmp_path / "bad.json").write_text(content)
        gateway = make_gateway(
            "backends:\n  shop:\n    openapi: {spec: bad.json, base_url: 'http://127.0.0.1:1'}\n",
            base_dir=tmp_path,
        )
        message = await startup_error(gateway)
        assert f"backends.shop.openapi.spec: {fragment}" in message

    async def test_a_document_without_servers_needs_a_base_url(self, tmp_path: Path, api: Api) -> None:
        message = await startup_error(shop(tmp_path, api, document=api.document(servers=[])))
        assert "backends.shop.openapi.base_url: the document lists no `servers`; set `base_url`" in message

    async def test_a_document_from_a_url_with_a_relative_server(
        self, tmp_path: Path, api: Api, era: str
    ) -> None:
        gateway = make_gateway(
            f"backends:\n  shop:\n    openapi: {{spec: '{api.url}/openapi.json', bearer_token: '${{API_TOKEN}}'}}\n",
            environ=ENV,
            base_dir=tmp_path,
        )
        async with connected(gateway, mode=era) as client:
            result = await client.call_tool("shop_getItem", {"item_id": 1})
        assert result.structured_content == {"id": 1, "name": "apple"}
        assert [(r.method, r.path) for r in api.requests] == [
            ("GET", "/openapi.json"),
            ("GET", "/api/items/1"),
        ]
        # the document's URL is not known to be the API's origin (no base_url): no credentials
        assert "authorization" not in api.requests[0].headers

    async def test_credentials_go_to_a_document_url_on_the_apis_own_origin(
        self, tmp_path: Path, api: Api
    ) -> None:
        gateway = make_gateway(
            f"backends:\n  shop:\n    openapi: {{spec: '{api.url}/openapi.json', base_url: '{api.url}/api',"
            " bearer_token: '${API_TOKEN}'}\n",
            environ=ENV,
            base_dir=tmp_path,
        )
        async with connected(gateway) as client:
            await client.list_tools()
        assert api.requests[0].headers["authorization"] == f"Bearer {TOKEN}"

    async def test_a_document_url_that_fails_at_startup_is_fetched_again_by_the_next_session(
        self, tmp_path: Path, api: Api, caplog: pytest.LogCaptureFixture
    ) -> None:
        api.flaky_left = 1
        gateway = make_gateway(
            f"backends:\n  shop:\n    optional: true\n    openapi: {{spec: '{api.url}/flaky/openapi.json'}}\n",
            base_dir=tmp_path,
        )
        with caplog.at_level(logging.WARNING, logger="gateway.openapi"):
            async with connected(gateway) as client:
                result = await client.call_tool("shop_getItem", {"item_id": 2})
        assert result.structured_content == {"id": 2, "name": "pear"}
        assert [r.path for r in api.requests].count("/flaky/openapi.json") == 2
        assert "openapi.spec" in caplog.text and "503" in caplog.text


class TestEgress:
    """The API and its document are network destinations like any backend's."""

    def test_a_base_url_outside_egress_allow_is_refused_at_load(self) -> None:
        found = problems("backends:\n  shop:\n    openapi: {spec: s.json, base_url: 'http://10.0.0.5/api'}\n")
        assert any(
            "backends.shop.openapi.base_url: 10.0.0.5 is 10.0.0.5, not in egress.allow" in p for p in found
        )

    def test_a_document_url_outside_egress_allow_is_refused_at_load(self) -> None:
        found = problems("backends:\n  shop:\n    openapi: {spec: 'http://169.254.169.254/openapi.json'}\n")
        assert any("backends.shop.openapi.spec: 169.254.169.254" in p and "link-local" in p for p in found)

    def test_widening_egress_allows_them(self) -> None:
        config = parse_config(
            "egress: {allow: ['10.0.0.0/8']}\n"
            "backends:\n  shop:\n    openapi: {spec: 'http://10.0.0.5/o.json', base_url: 'http://10.0.0.6'}\n",
            environ={},
        )
        assert config.backends["shop"].kind == "openapi"

    @pytest.mark.asyncio
    async def test_a_server_in_the_document_outside_egress_allow_is_a_startup_error(
        self, tmp_path: Path, api: Api
    ) -> None:
        document = api.document(servers=[{"url": "http://10.0.0.5/api"}])
        message = await startup_error(shop(tmp_path, api, document=document))
        assert "backends.shop.openapi.base_url: 10.0.0.5 is 10.0.0.5, not in egress.allow" in message

    @pytest.mark.asyncio
    async def test_the_api_client_sends_to_the_base_urls_origin_only(self) -> None:
        sent: list[str] = []

        def handler(request: httpx2.Request) -> httpx2.Response:
            sent.append(str(request.url))
            return httpx2.Response(200)

        transport = SameOrigin(httpx2.MockTransport(handler), origin_of("http://api.test/v1"))
        async with httpx2.AsyncClient(base_url="http://api.test/v1", transport=transport) as client:
            await client.get("/items")
            await client.get("http://API.test:80/v1/x")
            for elsewhere in (
                "http://evil.test/v1/items",
                "https://api.test/v1/items",
                "http://api.test:8080/",
            ):
                with pytest.raises(RefusedRequest, match="is not the API's origin"):
                    await client.get(elsewhere)
        assert sent == ["http://api.test/v1/items", "http://api.test/v1/x"]

    @pytest.mark.asyncio
    async def test_the_api_client_refuses_a_host_header_other_than_the_base_urls(self) -> None:
        """Another virtual host on the same address is another origin: refused, never sent."""
        sent: list[str] = []

        def handler(request: httpx2.Request) -> httpx2.Response:
            sent.append(request.headers["host"])
            return httpx2.Response(200)

        transport = SameOrigin(httpx2.MockTransport(handler), origin_of("http://api.test/v1"))
        async with httpx2.AsyncClient(base_url="http://api.test/v1", transport=transport) as client:
            for same in ("api.test", "API.test:80"):
                await client.get("/items", headers={"Host": same})
            for other in ("evil.test", "api.test:8080", "evil.test@api.test", "api.test/x", ""):
                with pytest.raises(
                    RefusedRequest, match=r"the Host header is not the API's host \(api.test:80\)"
                ):
                    await client.get("/items", headers={"Host": other})
            forged = client.build_request("GET", "/items")
            forged.headers = httpx2.Headers([*forged.headers.multi_items(), ("Host", "evil.test")])
            with pytest.raises(RefusedRequest, match="Host header"):
                await client.send(forged)
        assert sent == ["api.test", "API.test:80"]

    @pytest.mark.asyncio
    async def test_the_api_client_sends_the_configured_headers_over_any_other(self) -> None:
        """Whatever built the request, the API gets the configured credentials and honest framing."""
        received: list[httpx2.Request] = []

        def handler(request: httpx2.Request) -> httpx2.Response:
            received.append(request)
            return httpx2.Response(200)

        configured = {"Authorization": "Bearer the-token", "X-Api-Key": "the-key"}
        transport = GatewayHeaders(httpx2.MockTransport(handler), configured)
        async with httpx2.AsyncClient(base_url="http://api.test", transport=transport) as client:
            request = client.build_request("POST", "/items", content=b"{}")
            request.headers = httpx2.Headers(
                [
                    *request.headers.multi_items(),
                    ("Authorization", "Bearer forged"),
                    ("authorization", "Basic Zm9yZ2Vk"),
                    ("X-API-KEY", "forged"),
                    ("Proxy-Authorization", "forged"),
                    ("X-Request-Id", "forged"),
                    ("X-Gateway-Principal", "root"),
                    ("Connection", "close"),
                    ("Content-Length", "999"),
                    ("Transfer-Encoding", "chunked"),
                    ("X-Tenant", "acme"),
                ]
            )
            await client.send(request)
        headers = received[0].headers
        assert headers.get_list("authorization") == ["Bearer the-token"]
        assert headers.get_list("x-api-key") == ["the-key"]
        assert headers.get_list("content-length") == ["2"]
        for name in (
            "proxy-authorization",
            "x-request-id",
            "x-gateway-principal",
            "connection",
            "transfer-encoding",
        ):
            assert name not in headers
        assert headers["x-tenant"] == "acme"
        assert "the-token" not in repr(transport)


class TestConfig:
    """`openapi:` in gateway.yaml: errors name their path."""

    def test_the_api_timeout_must_be_shorter_than_the_request_timeout(self) -> None:
        found = problems(
            "backends:\n  shop:\n    request_timeout: 10s\n    openapi: {spec: s.json, timeout: 10s}\n"
        )
        assert any(
            "openapi.timeout (10s) must be shorter than request_timeout (10s)" in p
            and p.startswith("backends.shop")
            for p in found
        )

    def test_credentials_for_an_api_go_under_openapi(self) -> None:
        found = problems("backends:\n  shop:\n    openapi: {spec: s.json}\n    bearer_token: x\n")
        assert any(
            "an OpenAPI backend's `headers` and `bearer_token` go under `openapi:`" in p for p in found
        )

    def test_one_credential_source_for_authorization(self) -> None:
        found = problems(
            "backends:\n  shop:\n    openapi:\n      spec: s.json\n      bearer_token: a\n"
            "      headers: {authorization: b}\n"
        )
        assert any(p.startswith("backends.shop.openapi (line 3)") and "not both" in p for p in found)

    @pytest.mark.parametrize(
        ("line", "path", "fragment"),
        [
            ("include: ['FETCH /items']", "backends.shop.openapi.include", "not an HTTP method"),
            ("exclude: ['GET items']", "backends.shop.openapi.exclude", "neither an operationId glob"),
            ("spec: 'ftp://host/o.json'", "backends.shop.openapi.spec", "http:// or https://"),
            (
                "base_url: 'http://user:pw@host/'",
                "backends.shop.openapi.base_url",
                "must not carry credentials",
            ),
            ("base_url: 'http://host/?k=v'", "backends.shop.openapi.base_url", "query or fragment"),
            ("headers: {'bad header': x}", "backends.shop.openapi.headers", "should match pattern"),
            ("tiemout: 5s", "backends.shop.openapi.tiemout", "unknown field (did you mean 'timeout'?)"),
        ],
    )
    def test_mistakes_name_their_path(self, line: str, path: str, fragment: str) -> None:
        found = problems(f"backends:\n  shop:\n    openapi:\n      spec: s.json\n      {line}\n")
        assert any(p.startswith(path) and fragment in p for p in found), found
        assert not any("pw" in p for p in found)

    def test_exactly_one_target_includes_openapi(self) -> None:
        found = problems("backends:\n  shop:\n    url: http://127.0.0.1:1/mcp\n    openapi: {spec: s.json}\n")
        assert any(
            "needs exactly one of command, url, module, openapi (found: url, openapi)" in p for p in found
        )

    def test_defaults(self) -> None:
        config = parse_config("backends:\n  shop:\n    openapi: {spec: s.json}\n", environ={})
        api = config.backends["shop"].openapi
        assert api is not None
        assert (api.timeout, api.base_url, api.include, api.validate_output) == (30.0, None, (), True)
        assert config.backends["shop"].kind == "openapi"
