"""gateway.yaml → GatewayConfig: golden cases, every error naming its path, env variables."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from gateway.config import load_config, parse_config
from gateway.config.openapi import QUERY_CREDENTIALS
from gateway.config.schema import render_schema
from gateway.config.types import parse_duration
from gateway.errors import ConfigError
from gateway.front.guard import URL_CREDENTIALS

HERE = Path(__file__).parent
ROOT = HERE.parent.parent.parent
ENV = {"DATAGEN_TOKEN": "s3cret-token"}


def problems(text: str, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(textwrap.dedent(text), environ=environ or {})
    return caught.value.problems


class TestGolden:
    def test_full_example_normalizes_to_the_committed_dump(self) -> None:
        """The normalized model of golden/full.yaml is committed; a change to defaults shows up here."""
        loaded = load_config(HERE / "golden" / "full.yaml", environ=ENV)
        dumped = loaded.config.model_dump(mode="json")
        golden = HERE / "golden" / "full.normalized.json"
        expected = json.loads(golden.read_text())
        assert dumped == expected

    def test_secrets_never_appear_in_the_dump_or_repr(self) -> None:
        config = load_config(HERE / "golden" / "full.yaml", environ=ENV).config
        assert "s3cret-token" not in repr(config)
        assert "s3cret-token" not in json.dumps(config.model_dump(mode="json"))
        assert config.backends["datagen"].headers["Authorization"].get_secret_value() == "Bearer s3cret-token"

    def test_kinds_and_defaults(self) -> None:
        config = load_config(HERE / "golden" / "full.yaml", environ=ENV).config
        kinds = {name: b.kind for name, b in config.backends.items()}
        assert kinds == {"analytics": "stdio", "datagen": "http", "legacy": "sse", "lookup": "module"}
        assert config.namespace_of("lookup") == "db"
        assert config.namespace_of("analytics") == "analytics"
        assert config.backends["datagen"].request_timeout == 120.0
        assert config.backends["datagen"].connect_timeout == 0.5
        assert config.backends["analytics"].pool_size == 1
        assert config.backends["lookup"].pool_size == 4
        assert config.backends["analytics"].env == {"LEVEL": "info"}

    def test_the_shipped_gateway_yaml_is_valid(self) -> None:
        loaded = load_config(ROOT / "gateway.yaml", environ={})
        assert set(loaded.config.backends) == {"analytics", "datagen", "lookup"}

    def test_an_empty_file_is_a_gateway_with_no_backends(self) -> None:
        assert parse_config("", environ={}).backends == {}


class TestErrorsNameThePath:
    def test_a_typo_is_refused_with_its_path_line_and_a_suggestion(self) -> None:
        found = problems(
            """
            backends:
              analytics:
                comand: [python, -m, backends.analytics]
            """
        )
        assert any(
            "backends.analytics.comand (line 4): unknown field (did you mean 'command'?)" in p for p in found
        )

    def test_a_typo_in_a_nested_section(self) -> None:
        found = problems(
            """
            backends:
              a:
                url: http://127.0.0.1:1/mcp
                tools:
                  inclde: ["x"]
            """
        )
        assert any(
            p.startswith("backends.a.tools.inclde (line 6): unknown field (did you mean 'include'?)")
            for p in found
        )

    def test_a_missing_variable_names_the_path_that_needs_it(self) -> None:
        found = problems(
            """
            backends:
              a:
                url: http://127.0.0.1:1/mcp
                headers:
                  Authorization: Bearer ${NOT_SET_ANYWHERE}
            """
        )
        assert found == [
            "backends.a.headers.Authorization (line 6): environment variable NOT_SET_ANYWHERE is not set"
        ]

    def test_a_backend_needs_exactly_one_target(self) -> None:
        found = problems(
            """
            backends:
              a:
                url: http://127.0.0.1:1/mcp
                command: [srv]
            """
        )
        assert any("backends.a (line 3)" in p and "exactly one of command, url, module" in p for p in found)

    @pytest.mark.parametrize(
        ("url", "fragment"),
        [
            ("ftp://host/mcp", "http:// or https://"),
            ("http://user:pw@host/mcp", "must not carry credentials"),
        ],
    )
    def test_bad_backend_urls_are_refused(self, url: str, fragment: str) -> None:
        found = problems(f"backends:\n  a:\n    url: {url}\n")
        assert any(p.startswith("backends.a.url (line 3)") and fragment in p for p in found)
        assert not any("pw" in p for p in found)

    @pytest.mark.parametrize(
        "query",
        [
            "api_key=QUERY-SECRET-VALUE",
            "tenant=a&Token=QUERY-SECRET-VALUE",
            "CLIENT_SECRET=QUERY-SECRET-VALUE",
            "sig=QUERY-SECRET-VALUE&se=2030",
            "signature=QUERY-SECRET-VALUE",
            "password=QUERY-SECRET-VALUE",
            "access-token=QUERY-SECRET-VALUE",
            "key",
        ],
    )
    def test_a_backend_url_with_a_credential_in_its_query_is_refused(self, query: str) -> None:
        """Regression: `?api_key=...` passed validation, and `gateway check` printed the URL."""
        found = problems(f"backends:\n  a:\n    url: 'http://127.0.0.1:1/mcp?{query}'\n")
        assert found == [
            "backends.a.url (line 3): must not carry credentials in its query string; "
            "use `headers` with ${VAR} instead"
        ]

    @pytest.mark.parametrize(
        ("line", "path"),
        [
            ("spec: 'http://127.0.0.1:1/o.json?API_KEY=QUERY-SECRET-VALUE'", "backends.shop.openapi.spec"),
            ("base_url: 'http://127.0.0.1:1/v1?secret=QUERY-SECRET-VALUE'", "backends.shop.openapi.base_url"),
        ],
    )
    def test_an_openapi_url_with_a_credential_in_its_query_is_refused(self, line: str, path: str) -> None:
        """The API's document and base URL are held to the same rule, without repeating the value."""
        found = problems(f"backends:\n  shop:\n    openapi:\n      spec: s.json\n      {line}\n")
        assert any(
            p.startswith(path) and "must not carry credentials in its query string" in p for p in found
        )
        assert not any("QUERY-SECRET-VALUE" in p for p in found), found

    def test_a_query_without_credentials_is_fine(self) -> None:
        """Ordinary parameters (`tenant`, `format`) stay allowed."""
        config = parse_config(
            "backends:\n  a:\n    url: 'http://127.0.0.1:1/mcp?tenant=a&format=json'\n", environ={}
        )
        assert config.backends["a"].url == "http://127.0.0.1:1/mcp?tenant=a&format=json"

    def test_every_name_the_front_refuses_in_a_url_is_refused_in_a_backend_url(self) -> None:
        """The config's list extends the HTTP front's (`gateway.front.guard.URL_CREDENTIALS`)."""
        assert URL_CREDENTIALS <= QUERY_CREDENTIALS

    def test_durations_must_be_positive_and_well_formed(self) -> None:
        found = problems(
            "backends:\n  a:\n    command: [x]\n    request_timeout: 0s\n    connect_timeout: soon\n"
        )
        assert any(
            p.startswith("backends.a.request_timeout (line 4)") and "longer than zero" in p for p in found
        )
        assert any(
            p.startswith("backends.a.connect_timeout (line 5)") and "not a duration" in p for p in found
        )

    def test_two_backends_cannot_share_a_namespace(self) -> None:
        found = problems(
            """
            backends:
              a: {command: [x], namespace: shared}
              b: {command: [y], namespace: shared}
            """
        )
        assert any("'a' and 'b' share the namespace 'shared'" in p for p in found)

    def test_an_api_key_cannot_take_a_name_reserved_for_jwt_principals(self) -> None:
        """`jwt:` starts only JWT principals' names, so no key can pose as a token's subject."""
        found = problems('auth:\n  api_keys:\n    "jwt:ops": {key: ops-key-0123456789abcdef}\n')
        assert found == [
            "auth.api_keys (line 2): the name 'jwt:ops' starts with 'jwt:', reserved for JWT principals"
        ]

    def test_env_and_headers_only_where_they_apply(self) -> None:
        found = problems("backends:\n  a:\n    url: http://h/mcp\n    env: {A: b}\n")
        assert any("`env` and `cwd` apply only to stdio backends" in p for p in found)

    def test_invalid_yaml_names_line_and_column(self) -> None:
        found = problems("backends:\n  a: [unclosed\n")
        assert found and found[0].startswith("line ")

    def test_every_problem_is_reported_at_once(self) -> None:
        found = problems("backends:\n  a:\n    comand: [x]\n  b:\n    url: ftp://x\n")
        assert len(found) >= 2

    def test_a_missing_file_is_a_config_error(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="file not found"):
            load_config(tmp_path / "nope.yaml")


class TestEnvironment:
    def test_dotenv_beside_the_file_is_read_and_the_environment_wins(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        (tmp_path / ".env").write_text("TOKEN_A=from-dotenv\nTOKEN_B=from-dotenv\n")
        (tmp_path / "gateway.yaml").write_text(
            "backends:\n  a:\n    url: http://h/mcp\n    headers: {A: '${TOKEN_A}', B: '${TOKEN_B}'}\n"
        )
        monkeypatch.setenv("TOKEN_B", "from-env")
        headers = load_config(tmp_path / "gateway.yaml").config.backends["a"].headers
        assert headers["A"].get_secret_value() == "from-dotenv"
        assert headers["B"].get_secret_value() == "from-env"

    def test_defaults_and_escapes(self) -> None:
        config = parse_config(
            "backends:\n  a:\n    command: [x, '${MISSING:-fallback}', '$${literal}']\n", environ={}
        )
        assert config.backends["a"].command == ("x", "fallback", "${literal}")


class TestDurations:
    @pytest.mark.parametrize(
        ("text", "seconds"),
        [("250ms", 0.25), ("30s", 30.0), ("2m", 120.0), ("1h", 3600.0), (5, 5.0), ("1.5", 1.5)],
    )
    def test_parse(self, text: object, seconds: float) -> None:
        assert parse_duration(text) == seconds

    @pytest.mark.parametrize("text", ["soon", "-1s", True, "5 days"])
    def test_refuse(self, text: object) -> None:
        with pytest.raises(ValueError, match="duration"):
            parse_duration(text)


def test_the_committed_schema_is_current() -> None:
    """gateway.schema.json is generated from the model: regenerate with `make schema`."""
    committed = (ROOT / "gateway.schema.json").read_text()
    assert committed == render_schema(), "gateway.schema.json is stale: run `make schema`"


def test_a_bare_off_means_off_where_the_setting_is_a_word() -> None:
    """YAML 1.1 reads `off` as false; `audit.sink: off` and `lock: off` still mean `off`."""
    config = parse_config(
        "audit: {sink: off}\nbackends:\n  e: {module: tests.fakes.echo, lock: off}\n", environ={}
    )
    assert config.audit.sink == "off" and config.backends["e"].lock == "off"
