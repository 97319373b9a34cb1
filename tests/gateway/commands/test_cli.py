"""The `gateway` command: check, list, call, schema — as a user runs them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from gateway.cli import EXIT_CONFIG, EXIT_OK, EXIT_PROBLEMS, main
from gateway.commands.call import backends_for_call
from gateway.config import GatewayConfig, parse_config
from tests.conftest import PYTHON, ROOT


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gateway.yaml"
    path.write_text(text)
    return path


GOOD = f"""
backends:
  echo:
    module: tests.fakes.echo
  rich:
    module: tests.fakes.rich
    namespace: r
  st:
    command: [python, -m, tests.fakes.stateful]
    cwd: {ROOT}
"""


class TestCheck:
    def test_a_good_file_passes(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["check", "--config", str(write(tmp_path, GOOD))]) == EXIT_OK
        assert "ok (3 backends)" in capsys.readouterr().out

    def test_a_typo_is_named_with_its_path(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        config = write(tmp_path, "backends:\n  echo:\n    modul: tests.fakes.echo\n")
        assert main(["check", "--config", str(config)]) == EXIT_CONFIG
        err = capsys.readouterr().err
        assert "backends.echo.modul (line 3): unknown field (did you mean 'module'?)" in err

    def test_an_unreachable_backend_is_a_problem_named_by_its_key(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        config = write(
            tmp_path, "backends:\n  gone:\n    url: http://127.0.0.1:9/mcp\n    connect_timeout: 2s\n"
        )
        assert main(["check", "--config", str(config)]) == EXIT_PROBLEMS
        out = capsys.readouterr().out
        assert (
            "backends.gone: unavailable (http http://127.0.0.1:9/mcp): backend 'gone': connection refused"
            in out
        )

    def test_a_credential_in_a_backend_url_query_is_refused_and_printed_nowhere(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Regression: the URL passed validation and `check` printed it, credential included."""
        config = write(
            tmp_path, "backends:\n  gone:\n    url: 'http://127.0.0.1:9/mcp?api_key=QUERY-SECRET-VALUE'\n"
        )
        assert main(["check", "--config", str(config)]) == EXIT_CONFIG
        out, err = capsys.readouterr()
        assert "backends.gone.url (line 3): must not carry credentials in its query string" in err
        assert "QUERY-SECRET-VALUE" not in out + err

    def test_collisions_name_both_sources(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        config = write(
            tmp_path,
            "backends:\n  a: {module: tests.fakes.echo, namespace: ''}\n  b: {module: 'tests.fakes.echo:mcp', namespace: ''}\n",
        )
        assert main(["check", "--config", str(config)]) == EXIT_PROBLEMS
        out = capsys.readouterr().out
        assert "name collision: tool 'echo': backend 'a' ('echo') and backend 'b' ('echo')" in out


class TestListAndCall:
    def test_list_shows_each_name_and_where_it_comes_from(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["list", "--config", str(write(tmp_path, GOOD)), "--json"]) == EXIT_OK
        listed = json.loads(capsys.readouterr().out)
        tools = {t["name"]: t["source"] for t in listed["tools"]}
        assert tools["r_shape"] == "rich:shape"
        assert tools["st_increment"] == "st:increment"
        assert {t["name"] for t in listed["templates"]} >= {"echo://echo/items/{item_id}"}

    def test_the_table_flags_only_backends_that_really_are_down(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        config = (
            GOOD + "  gone:\n    url: http://127.0.0.1:9/mcp\n    optional: true\n    connect_timeout: 1s\n"
        )
        assert main(["list", "--config", str(write(tmp_path, config))]) == EXIT_OK
        flagged = [line for line in capsys.readouterr().out.splitlines() if line.startswith("!")]
        assert len(flagged) == 1 and flagged[0].startswith("! backend gone unavailable: ")

    def test_call_prints_the_result(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        config = str(write(tmp_path, GOOD))
        assert main(["call", "echo_echo", "--args", '{"text": "hi"}', "--config", config]) == EXIT_OK
        assert json.loads(capsys.readouterr().out)["structuredContent"] == {"result": "hi"}
        assert main(["call", "r_fail", "--args", '{"reason": "x"}', "--config", config]) == EXIT_PROBLEMS
        assert main(["call", "echo_echo", "--args", "[1]", "--config", config]) == EXIT_CONFIG

    def test_call_starts_only_the_backends_the_call_can_reach(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A backend the tool cannot come from is never started (here it could not be)."""
        config = GOOD + "  broken:\n    module: no.such.module\n"
        args = ["call", "echo_echo", "--args", '{"text": "hi"}', "--config", str(write(tmp_path, config))]
        assert main(args) == EXIT_OK
        assert json.loads(capsys.readouterr().out)["structuredContent"] == {"result": "hi"}


class TestBackendsForCall:
    CONFIG = """
backends:
  analytics: {module: tests.fakes.echo}
  datagen: {module: tests.fakes.echo}
  lookup: {module: tests.fakes.echo, namespace: db}
  plain: {module: tests.fakes.echo, namespace: ''}
workflows:
  flow:
    description: two backends
    steps:
      sample: {read: "dataset://datagen/json/{{ inputs.rows }}"}
      store: {call: db_add, arguments: {x: "{{ steps.sample }}"}}
    inputs: {rows: {type: integer, default: 1}}
  open:
    description: a step whose tool is a reference
    inputs: {tool: {type: string, default: db_add}}
    steps:
      any: {call: "{{ inputs.tool }}"}
"""

    def config(self) -> GatewayConfig:
        return parse_config(self.CONFIG, environ={})

    def test_a_tool_needs_the_backend_of_its_namespace_and_those_without_one(self) -> None:
        assert backends_for_call(self.config(), "analytics_mean") == {"analytics", "plain"}
        assert backends_for_call(self.config(), "db_add") == {"lookup", "plain"}
        assert backends_for_call(self.config(), "unprefixed") == {"plain"}

    def test_a_workflow_needs_the_backends_its_steps_name(self) -> None:
        assert backends_for_call(self.config(), "flow") == {"datagen", "lookup", "plain"}

    def test_a_target_written_as_a_reference_needs_every_backend(self) -> None:
        assert backends_for_call(self.config(), "open") is None
        assert backends_for_call(self.config(), "call_tool") is None


def test_schema_command_prints_the_committed_schema() -> None:
    done = subprocess.run(
        [PYTHON, "-m", "gateway", "schema"], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout == (ROOT / "gateway.schema.json").read_text()


def test_a_backend_that_cannot_be_built_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path, "backends:\n  x:\n    module: no.such.module\n")
    for command in ("check", "list"):
        assert main([command, "--config", str(config)]) == EXIT_CONFIG
        err = capsys.readouterr().err
        assert (
            f"{config}: backends.x.module: cannot import 'no.such.module'" in err and "Traceback" not in err
        )
