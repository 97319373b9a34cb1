"""The foundation end to end: `gateway run` as a real process, one backend deployed on its own over
HTTP, the others over stdio, driven by third-party clients from npm (the TypeScript SDK and the
MCP Inspector CLI)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PYTHON, ROOT, free_port
from tests.e2e.support import NODE, NODE_DIR, backend_command, gateway_command, running, ts_client

pytestmark = pytest.mark.e2e

INSPECTOR = (
    NODE_DIR
    / "node_modules"
    / "@modelcontextprotocol"
    / "inspector"
    / "clients"
    / "launcher"
    / "build"
    / "index.js"
)
SEED_VALUES = [10, 25, 30, 45, 50, 65, 70, 85, 90, 100]


@pytest.fixture(scope="module")
def gateway_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("foundation")
    analytics_port, gateway_port = free_port(), free_port()
    config = work / "gateway.yaml"
    config.write_text(
        f"""
backends:
  analytics:
    url: http://127.0.0.1:{analytics_port}/mcp      # deployed on its own
  datagen:
    command: [python, -m, backends.datagen]
    cwd: {ROOT}
  lookup:
    command: [python, -m, backends.lookup]
    cwd: {ROOT}
    env:
      LOOKUP_DATABASE_URL: sqlite:///{work / "lookup.sqlite3"}
    connect_timeout: 30s
"""
    )
    analytics = backend_command("analytics", "--transport", "http", "--port", str(analytics_port))
    with (
        running(analytics, log=work / "analytics.log", ready_url=f"http://127.0.0.1:{analytics_port}/mcp"),
        running(
            gateway_command(config, "run", "--port", str(gateway_port)),
            log=work / "gateway.log",
            ready_url=f"http://127.0.0.1:{gateway_port}/readyz",
            expect_status=200,
        ),
    ):
        yield f"http://127.0.0.1:{gateway_port}/mcp"


def call(url: str, *steps: dict[str, Any]) -> list[Any]:
    return list(ts_client({"target": {"url": url}, "steps": list(steps)})["steps"])


def test_a_third_party_client_sees_every_backend_namespaced(gateway_url: str) -> None:
    tools, templates = call(
        gateway_url, {"op": "listAll", "what": "tools"}, {"op": "listAll", "what": "resourceTemplates"}
    )
    names = {t["name"] for t in tools["tools"]}
    assert {
        "analytics_clean_json_data",
        "analytics_analyze_dataset",
        "analytics_transform_data",
        "datagen_generate_dataset",
        "lookup_query_user_data",
        "lookup_search_documents",
        "lookup_add_document",
    } <= names
    assert "dataset://datagen/sample/{rows}" in {t["uriTemplate"] for t in templates["resourceTemplates"]}


def test_the_seed_guide_figures(gateway_url: str) -> None:
    (result,) = call(
        gateway_url,
        {"op": "callTool", "name": "analytics_analyze_dataset", "arguments": {"values": SEED_VALUES}},
    )
    assert result["structuredContent"]["mean"] == 57
    assert result["structuredContent"]["median"] == 57.5


def test_invalid_json_names_its_line_and_column(gateway_url: str) -> None:
    (result,) = call(
        gateway_url,
        {"op": "callTool", "name": "analytics_clean_json_data", "arguments": {"data": '{\n"a": [1,\n}'}},
    )
    error = result["structuredContent"]["error"]
    assert result["structuredContent"]["valid"] is False and (error["line"], error["column"]) == (3, 1)


def test_a_paraphrase_finds_its_document(gateway_url: str) -> None:
    (result,) = call(
        gateway_url,
        {
            "op": "callTool",
            "name": "lookup_search_documents",
            "arguments": {"query": "tallest mountain on the planet", "top_k": 3},
        },
    )
    assert "Everest" in result["structuredContent"]["results"][0]["text"]


def test_the_sample_dataset_reads_through_the_gateway(gateway_url: str) -> None:
    (contents,) = call(gateway_url, {"op": "readResource", "uri": "dataset://datagen/sample/5/seed/3"})
    (item,) = contents["contents"]
    assert item["uri"] == "dataset://datagen/sample/5/seed/3" and item["mimeType"] == "text/csv"
    assert item["text"].startswith("id,value,category\n1,") and item["text"].count("\n") == 6


def test_the_prompt_names_tools_as_clients_see_them(gateway_url: str) -> None:
    (prompt,) = call(
        gateway_url,
        {
            "op": "getPrompt",
            "name": "analytics_data_analysis_workflow",
            "arguments": {"dataset_description": "x"},
        },
    )
    assert "analytics_analyze_dataset" not in prompt["messages"][0]["content"]["text"], (
        "the analytics backend here is deployed on its own without MCP_TOOL_PREFIX: it names its bare tools"
    )


def test_the_inspector_cli_lists_and_calls(gateway_url: str) -> None:
    listed = subprocess.run(
        [str(NODE), str(INSPECTOR), "--cli", gateway_url, "--method", "tools/list"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=NODE_DIR,
    )
    assert "lookup_search_documents" in listed.stdout
    called = subprocess.run(
        [
            str(NODE),
            str(INSPECTOR),
            "--cli",
            gateway_url,
            "--method",
            "tools/call",
            "--tool-name",
            "analytics_analyze_dataset",
            "--tool-arg",
            f"values={json.dumps(SEED_VALUES)}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=NODE_DIR,
    )
    assert '"median": 57.5' in called.stdout or '"median":57.5' in called.stdout


def test_gateway_check_passes_on_the_shipped_file(tmp_path: Path) -> None:
    env_db = {"LOOKUP_DATABASE_URL": f"sqlite:///{tmp_path / 'check.sqlite3'}"}
    done = subprocess.run(
        [PYTHON, "-m", "gateway", "check", "--config", str(ROOT / "gateway.yaml")],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
        env={**os.environ, **env_db},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok (3 backends)" in done.stdout
