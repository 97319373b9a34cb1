"""Workflows in memory: the generated tool, data flowing between steps, parallel rounds, retries
by the safe-retry rules, on_error, timeouts, progress per step, dry runs, audit and bad config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gateway.errors import ConfigError
from tests.conftest import connected, make_gateway, span_exporter
from tests.fakes import steps as fake

CONFIG = """
backends:
  s:
    module: tests.fakes.steps
    trust_annotations: true     # the safe-retry rules: its idempotentHint counts
workflows:
  pipeline:
    description: Numbers and a table, described, the summary stored.
    inputs:
      count: {type: integer, default: 4, minimum: 1, maximum: 100, description: How many numbers.}
      label: {type: string, default: run}
    steps:
      nums: {call: s_numbers, arguments: {count: "{{ inputs.count }}"}}
      table: {read: "steps://s/table/{{ inputs.count }}"}
      desc: {call: s_describe, arguments: {values: "{{ steps.nums }}"}}
      desc_table: {call: s_describe, arguments: {values: "{{ steps.table.rows[*].value }}"}}
      keep:
        call: s_store
        arguments: {text: "{{ inputs.label }}: sum {{ steps.desc.sum }}", tags: ["{{ inputs.label }}"]}
    result:
      sum: "{{ steps.desc.sum }}"
      table_max: "{{ steps.desc_table.max }}"
      id: "{{ steps.keep.id }}"
      numbers: "{{ steps.nums }}"
  together:
    description: Two steps that can only finish when they run at the same time.
    steps:
      a: {call: s_meet, arguments: {side: a, other: b}}
      b: {call: s_meet, arguments: {side: b, other: a}}
  retrying:
    description: A safe step retried.
    inputs: {key: {type: string, required: true}}
    steps:
      f: {call: s_flaky, arguments: {key: "{{ inputs.key }}", failures: 2}, retries: 2}
  unsafe:
    description: A step that is not safe to retry.
    steps:
      f: {call: s_fragile, arguments: {key: once}, retries: 3}
  tolerant:
    description: A failed step that does not stop the workflow.
    steps:
      f: {call: s_fragile, arguments: {key: tolerated}, on_error: continue, default: fallback}
      after: {call: s_store, arguments: {text: "got {{ steps.f }}"}}
  slow:
    description: A step slower than its timeout.
    steps:
      n: {call: s_nap, arguments: {ms: 3000}, timeout: 100ms}
  missing:
    description: A step whose tool is not there.
    steps:
      m: {call: s_nope}
"""


@pytest.fixture(autouse=True)
def fresh_backend() -> None:
    fake.reset()


def structured(result: Any) -> Any:
    return result.structured_content


@pytest.mark.asyncio
async def test_a_workflow_is_a_tool_with_a_generated_input_schema(era: str) -> None:
    async with connected(make_gateway(CONFIG), mode=era) as client:
        tools = {t.name: t for t in await client.list_tools()}
    pipeline = tools["pipeline"]
    assert pipeline.description == "Numbers and a table, described, the summary stored."
    schema = pipeline.inputSchema
    assert schema["properties"]["count"] == {
        "type": "integer", "description": "How many numbers.", "default": 4, "minimum": 1, "maximum": 100
    }  # fmt: skip
    assert schema["properties"]["dry_run"]["type"] == "boolean"
    assert schema["additionalProperties"] is False and "required" not in schema
    assert tools["retrying"].inputSchema["required"] == ["key"]
    assert "s_numbers" in tools  # the backend's own tools are still there


@pytest.mark.asyncio
async def test_data_flows_between_steps_with_types_kept(era: str) -> None:
    async with connected(make_gateway(CONFIG), mode=era) as client:
        result = await client.call_tool("pipeline", {"count": 3, "label": "q3"})
    out = structured(result)
    assert out == {"sum": 6.0, "table_max": 30.0, "id": 1, "numbers": [1.0, 2.0, 3.0]}
    assert fake.stored == ["q3: sum 6"]
    assert json.loads(result.content[0].text) == out


@pytest.mark.asyncio
async def test_called_with_no_arguments_it_uses_the_defaults() -> None:
    async with connected(make_gateway(CONFIG)) as client:
        out = structured(await client.call_tool("pipeline", {}))
    assert out["numbers"] == [1.0, 2.0, 3.0, 4.0] and fake.stored == ["run: sum 10"]


@pytest.mark.asyncio
async def test_independent_steps_run_at_the_same_time() -> None:
    async with connected(make_gateway(CONFIG)) as client:
        out = structured(await client.call_tool("together", {}))
    assert out == {"a": "a met b", "b": "b met a"}


@pytest.mark.asyncio
async def test_progress_is_reported_after_each_step() -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def progress(value: float, total: float | None, message: str | None) -> None:
        seen.append((value, total, message))

    async with connected(make_gateway(CONFIG)) as client:
        await client.call_tool("pipeline", {}, progress_handler=progress)
    assert [v for v, _, _ in seen] == [1, 2, 3, 4, 5] and {t for _, t, _ in seen} == {5}
    assert {m for _, _, m in seen} == {
        f"step {s}: ok" for s in ("nums", "table", "desc", "desc_table", "keep")
    }


@pytest.mark.asyncio
async def test_bad_arguments_are_refused_naming_the_argument() -> None:
    async with connected(make_gateway(CONFIG)) as client:
        for arguments, expected in (
            ({"count": "many"}, "argument 'count' must be integer"),
            ({"count": 0}, "argument 'count' must be at least 1"),
            ({"colour": "red"}, "unknown argument 'colour'"),
        ):
            result = await client.call_tool("pipeline", arguments, raise_on_error=False)
            assert result.is_error and expected in result.content[0].text
        missing = await client.call_tool("retrying", {}, raise_on_error=False)
        assert missing.is_error and "argument 'key' is required" in missing.content[0].text
    assert fake.calls["numbers"] == 0


@pytest.mark.asyncio
async def test_a_safe_step_is_retried_and_an_unsafe_one_is_not() -> None:
    async with connected(make_gateway(CONFIG)) as client:
        ok = await client.call_tool("retrying", {"key": "k1"})
        failed = await client.call_tool("unsafe", {}, raise_on_error=False)
    assert structured(ok) == {"f": "k1 ok"} and fake.calls["flaky:k1"] == 3
    assert (
        failed.is_error
        and "step f" in failed.content[0].text
        and "fragile once broke" in failed.content[0].text
    )
    assert fake.calls["fragile:once"] == 1  # retries: 3, but the tool is not idempotent


@pytest.mark.asyncio
async def test_on_error_continue_uses_the_default_and_reports_the_failure() -> None:
    async with connected(make_gateway(CONFIG)) as client:
        out = structured(await client.call_tool("tolerant", {}))
    assert out["f"] == "fallback" and out["after"] == {"id": 1, "tags": []}
    assert "fragile tolerated broke" in out["failed_steps"]["f"]
    assert fake.stored == ["got fallback"]


@pytest.mark.asyncio
async def test_a_step_timeout_and_a_missing_tool_fail_clearly() -> None:
    async with connected(make_gateway(CONFIG)) as client:
        slow = await client.call_tool("slow", {}, raise_on_error=False)
        missing = await client.call_tool("missing", {}, raise_on_error=False)
    assert slow.is_error and "step n: took longer than 0.1s" in slow.content[0].text
    assert missing.is_error and "its tool is not available" in missing.content[0].text
    assert "s_nope" not in missing.content[0].text, "a missing or hidden tool stays unnamed"
    assert structured(slow)["steps"] == {"n": "failed"}


@pytest.mark.asyncio
async def test_a_dry_run_shows_the_plan_and_calls_nothing() -> None:
    async with connected(make_gateway(CONFIG)) as client:
        plan = structured(await client.call_tool("pipeline", {"count": 2, "dry_run": True}))
    assert sum(fake.calls.values()) == 0 and fake.stored == []
    rounds = [[s["step"] for s in r["steps"]] for r in plan["plan"]]
    assert rounds == [["nums", "table"], ["desc", "desc_table"], ["keep"]]
    first = plan["plan"][0]["steps"]
    assert first[0] == {
        "step": "nums", "waits_for": [], "call": "s_numbers", "arguments": {"count": 2},
        "allowed": True, "backend": "s", "retries": 0, "on_error": "fail",
    }  # fmt: skip
    assert first[1]["read"] == "steps://s/table/2" and first[1]["allowed"] is True
    keep = plan["plan"][2]["steps"][0]
    # what only a run can know stays as written; the inputs are filled in elsewhere
    assert keep["arguments"] == {"text": "{{ inputs.label }}: sum {{ steps.desc.sum }}", "tags": ["run"]}
    assert keep["waits_for"] == ["desc"]


@pytest.mark.asyncio
async def test_every_step_and_the_workflow_are_audited(tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    gateway = make_gateway(CONFIG + f"audit:\n  sink: {audit}\n")
    async with connected(gateway) as client:
        await client.call_tool("pipeline", {"count": 2})
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    steps = [r for r in records if r["method"] == "tools/call"]
    assert sorted(r["tool"] for r in steps) == ["s_describe", "s_describe", "s_numbers", "s_store"]
    flow = [r for r in records if r["method"] == "workflow"]
    assert len(flow) == 1 and flow[0]["tool"] == "pipeline" and flow[0]["outcome"] == "ok"
    assert flow[0]["steps"] == {s: "ok" for s in ("nums", "table", "desc", "desc_table", "keep")}
    assert {r["request_id"] for r in records} == {flow[0]["request_id"]}  # one request, one id
    metrics = gateway.metrics.exposition().decode()
    assert (
        'mcp_gateway_calls_total{backend="gateway",method="workflow",outcome="ok",tool="pipeline"} 1.0'
        in metrics
    )


@pytest.mark.asyncio
async def test_the_steps_are_spans_under_the_workflow_span() -> None:
    spans = span_exporter()
    async with connected(make_gateway(CONFIG)) as client:
        await client.call_tool("pipeline", {"count": 2})
    ours = [s for s in spans.get_finished_spans() if s.instrumentation_scope.name == "mcp_gateway"]
    flow = [s for s in ours if s.name == "workflow pipeline"]
    assert len(flow) == 1
    children = [s for s in ours if s.parent is not None and s.parent.span_id == flow[0].context.span_id]
    assert sorted(s.name for s in children) == [
        "resources/read steps://s/table/2",
        "tools/call s_describe",
        "tools/call s_describe",
        "tools/call s_numbers",
        "tools/call s_store",
    ]
    assert all(s.context.trace_id == flow[0].context.trace_id for s in children)


@pytest.mark.parametrize(
    ("steps", "problem"),
    [
        (
            "a: {call: t, arguments: {x: '{{ steps.b }}'}}\n      b: {call: t, arguments: {x: '{{ steps.a }}'}}",
            "cycle",
        ),
        ("a: {call: t, arguments: {x: '{{ inputs.nope }}'}}", "steps.a.arguments: no input named 'nope'"),
        ("a: {call: t, arguments: {x: '{{ steps.zz.y }}'}}", "no other step named 'zz'"),
        ("a: {call: t, read: 'x://y'}", "exactly one of `call`"),
        ("a: {call: t, arguments: {x: '{{ steps.a.y[oops] }}'}}", "cannot read"),
        ("a: {call: t, needs: [a]}", "needs: no other step named 'a'"),
    ],
)
def test_a_bad_workflow_is_refused_at_load_naming_where(steps: str, problem: str) -> None:
    text = f"workflows:\n  w:\n    description: d\n    steps:\n      {steps}\n"
    with pytest.raises(ConfigError) as refused:
        make_gateway(text)
    assert any("workflows.w" in p and problem in p for p in refused.value.problems), refused.value.problems
