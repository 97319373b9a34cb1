"""The shipped `comprehensive_analysis` workflow on the real backends: one command on the
default config, and over HTTP for two principals, one of whose view leaves out `lookup`."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastmcp import Client
from fastmcp.client.transports import StreamableHttpTransport

from tests.conftest import PYTHON, ROOT, free_port
from tests.e2e.support import running

pytestmark = pytest.mark.e2e

OPS_KEY = "ops-key-0123456789abcdef"
ANALYST_KEY = "analyst-key-0123456789ab"


def test_comprehensive_analysis_runs_from_the_default_config_with_one_command(tmp_path: Path) -> None:
    env = {**os.environ, "LOOKUP_DATABASE_URL": f"sqlite:///{tmp_path / 'lookup.sqlite3'}"}
    done = subprocess.run(
        [PYTHON, "-m", "gateway", "call", "comprehensive_analysis", "--config", str(ROOT / "gateway.yaml")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    out = result["structuredContent"]
    assert not result["isError"] and out["statistics"]["count"] == 100
    assert (
        out["lowest"]["value"] == out["statistics"]["min"]
        and out["highest"]["value"] == out["statistics"]["max"]
    )
    assert isinstance(out["document_id"], int) and out["report"].startswith(
        "Sample dataset: 100 values, mean"
    )


def test_the_workflow_obeys_each_callers_view_and_leaves_every_step_in_the_audit(tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    config = tmp_path / "gateway.yaml"
    config.write_text(
        (ROOT / "gateway.yaml").read_text()
        + f"""
auth:
  api_keys:
    ops: {{key: "{OPS_KEY}"}}
    analyst: {{key: "{ANALYST_KEY}"}}
views:
  analyst:
    principals: [analyst]
    namespaces: [analytics, datagen]
audit:
  sink: {audit}
"""
    )
    port = free_port()
    env = {"LOOKUP_DATABASE_URL": f"sqlite:///{tmp_path / 'lookup.sqlite3'}"}
    url = f"http://127.0.0.1:{port}/mcp"

    async def call(key: str, arguments: dict[str, Any]) -> Any:
        transport = StreamableHttpTransport(url, headers={"Authorization": f"Bearer {key}"})
        async with Client(transport, timeout=120) as client:
            names = {t.name for t in await client.list_tools()}
            result = await client.call_tool("comprehensive_analysis", arguments, raise_on_error=False)
            return names, result

    with running(
        [PYTHON, "-m", "gateway", "run", "--config", str(config), "--port", str(port)],
        log=tmp_path / "gateway.log",
        ready_url=f"http://127.0.0.1:{port}/readyz",
        expect_status=200,
        env=env,
    ):
        ops_names, ops = anyio.run(call, OPS_KEY, {"rows": 20, "seed": 3})
        analyst_names, analyst = anyio.run(call, ANALYST_KEY, {"rows": 20, "seed": 3})
        _, plan = anyio.run(call, ANALYST_KEY, {"dry_run": True})

    assert "lookup_add_document" in ops_names and "lookup_add_document" not in analyst_names
    assert "comprehensive_analysis" in analyst_names
    assert not ops.is_error and isinstance(ops.structured_content["document_id"], int)
    # the analyst gets the statistics, but cannot store through the workflow what it cannot store
    assert analyst.structured_content is not None, analyst.content
    assert analyst.structured_content["statistics"] == ops.structured_content["statistics"]
    assert analyst.structured_content["document_id"] is None
    failed = analyst.structured_content["failed_steps"]["store"]
    assert "its tool is not available" in failed and "lookup" not in failed, "a hidden tool stays unnamed"
    store = next(s for r in plan.structured_content["plan"] for s in r["steps"] if s["step"] == "store")
    assert store["allowed"] is False and store["call"] == "(not available to this caller)"
    assert "arguments" not in store

    records = [json.loads(line) for line in audit.read_text().splitlines()]
    by = {who: [r for r in records if r["principal"] == who] for who in ("ops", "analyst")}
    steps = sorted(r["tool"] for r in by["ops"] if r["method"] == "tools/call")
    assert steps == ["analytics_analyze_dataset", "analytics_transform_data", "lookup_add_document"]
    reads = [r["tool"] for r in by["ops"] if r["method"] == "resources/read"]
    assert reads and all(uri.startswith("dataset://datagen/json/") for uri in reads), "reads are audited too"
    flows = [r for r in records if r["method"] == "workflow"]
    assert [(r["principal"], r["steps"]["store"]) for r in flows] == [("ops", "ok"), ("analyst", "failed")]
    assert not any(r["tool"] == "lookup_add_document" for r in by["analyst"])
