"""Running a workflow: its steps through the gateway's own dispatch, as the caller.

Each step is a request the caller could have made: its tool (or resource) is looked up in the
caller's view, and it goes through the same pipeline as a direct call (rate limits, retries
where safe, circuit breakers, audit, metrics, a span under the workflow's span). Steps whose
inputs are ready run together; progress is reported after each step; a dry run returns the
plan without calling anything.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from mcp.shared.exceptions import MCPError

from gateway.config.templates import TemplateError, render
from gateway.config.workflows import Workflow, WorkflowStep, dependencies, input_schema, levels
from gateway.dispatch.forward import Dispatch
from gateway.dispatch.requester import Requester
from gateway.errors import GatewayError
from gateway.observability import requestid
from gateway.observability.metrics import Metrics
from gateway.observability.tracing import forward_span
from gateway.policies.active import ActivePolicies
from gateway.policies.visibility import Visibility
from gateway.routing.directory import Directory
from gateway.routing.index import Route, RouteIndex
from gateway.workflows.caller import StepCaller
from gateway.workflows.dryrun import dry_run
from gateway.workflows.plan import ArgumentError, bind


class StepFailed(GatewayError):
    """A step could not produce its output."""


@dataclass
class Run:
    """The state of one run."""

    inputs: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    failure: StepFailed | None = None
    """The failure that stops the run (the first step that failed without `continue`)."""
    reporter: Requester | None = None
    total: int = 0
    done: int = 0
    _reporting: anyio.Lock = field(default_factory=anyio.Lock)

    async def finished(self, name: str) -> None:
        """Tell the client a step has finished (progress: steps done of all steps)."""
        async with self._reporting:  # in order, whichever parallel step finishes first
            self.done += 1
            if self.reporter is not None:
                await self.reporter.progress(
                    float(self.done), float(self.total), f"step {name}: {self.status[name]}"
                )

    @property
    def scope(self) -> dict[str, dict[str, Any]]:
        return {"inputs": self.inputs, "steps": self.outputs}


class Workflows:
    """The workflows of the current config, as tools."""

    def __init__(
        self,
        directory: Directory,
        *,
        policies: ActivePolicies,
        visibility: Visibility,
        dispatch: Dispatch,
        metrics: Metrics,
        ready: Callable[[], Awaitable[None]],
    ) -> None:
        self._directory = directory
        self._policies = policies
        self._visibility = visibility
        self._dispatch = dispatch
        self._metrics = metrics
        self._ready = ready

    @property
    def defined(self) -> dict[str, Workflow]:
        return self._policies.current.config.workflows

    def tools(self) -> list[dict[str, Any]]:
        """The workflow tools, as `tools/list` items."""
        return [self.tool(name) for name in self.defined]

    def tool(self, name: str) -> dict[str, Any]:
        """The workflow `name` as a `tools/list` item."""
        workflow = self.defined[name]
        return {
            "name": name,
            "description": workflow.description,
            "inputSchema": input_schema(workflow),
            "annotations": {"title": name.replace("_", " "), "openWorldHint": True},
        }

    async def call(self, client: Requester, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Run (or, with `dry_run`, plan) the workflow `name` for `client`."""
        workflow = self.defined[name]
        arguments = dict(arguments)
        planning = bool(arguments.pop("dry_run", False))
        try:
            inputs = bind(workflow, arguments)
        except ArgumentError as error:
            return _error(f"{name}: {error.message}")
        caller = StepCaller(client)
        await self._ready()
        index = await self._visibility.index_for(caller)
        if planning:
            return _answer(dry_run(workflow, inputs, index, self._directory))
        run = Run(inputs)
        started = time.perf_counter()
        attributes = {"gateway.workflow": name, "gateway.request_id": requestid.ensure()}
        with forward_span("workflow", name, attributes):
            try:
                with anyio.fail_after(workflow.timeout):
                    await self._execute(workflow, run, caller, client, index)
                outcome, failed = "ok", None
            except TimeoutError:
                outcome, failed = "error", f"the workflow took longer than {workflow.timeout:g}s"
            except StepFailed as failure:
                outcome, failed = "error", failure.message
        elapsed = time.perf_counter() - started
        self._audit(name, caller, run, outcome, failed, elapsed)
        self._metrics.record("gateway", "workflow", name, outcome, elapsed)
        if failed is not None:
            report = {"workflow": name, "error": failed, "steps": run.status, "outputs": run.outputs}
            return _error(f"workflow {name} failed: {failed}", report)
        try:
            result = render(workflow.result, run.scope) if workflow.result is not None else run.outputs
        except TemplateError as problem:
            return _error(f"workflow {name}: result: {problem.message}")
        if not isinstance(result, dict):
            result = {"result": result}
        if any(status != "ok" for status in run.status.values()):
            result = {**result, "failed_steps": {k: run.errors[k] for k in run.errors}}
        return _answer(result)

    # -- execution ---------------------------------------------------------------------------

    async def _execute(
        self, workflow: Workflow, run: Run, caller: StepCaller, reporter: Requester, index: RouteIndex
    ) -> None:
        """Run the steps round by round; the steps of a round run at the same time."""
        run.reporter, run.total = reporter, len(workflow.steps)
        for round_ in levels(workflow):
            async with anyio.create_task_group() as group:
                for step_name in round_:
                    group.start_soon(
                        self._run_step, workflow, step_name, run, caller, index, group.cancel_scope
                    )
            if run.failure is not None:
                raise run.failure

    async def _run_step(
        self,
        workflow: Workflow,
        name: str,
        run: Run,
        caller: StepCaller,
        index: RouteIndex,
        round_scope: anyio.CancelScope,
    ) -> None:
        """Run one step; a failure that stops the workflow cancels the rest of its round."""
        step = workflow.steps[name]
        skipped = [d for d in dependencies(name, step) if run.status.get(d) == "skipped"]
        try:
            if skipped:
                raise StepFailed(f"step {name}: skipped, {skipped[0]} failed")
            output = await self._attempts(name, step, run, caller, index)
        except StepFailed as failure:
            if step.on_error == "continue":
                run.outputs[name] = step.default
                run.status[name] = "failed"
                run.errors[name] = failure.message
                await run.finished(name)
                return
            run.status[name] = "failed"
            run.failure = run.failure or failure
            round_scope.cancel()
            return
        run.outputs[name] = output
        run.status[name] = "ok"
        await run.finished(name)

    async def _attempts(
        self, name: str, step: WorkflowStep, run: Run, caller: StepCaller, index: RouteIndex
    ) -> Any:
        route, method, params, front = self._resolve(name, step, run, index)
        backend = self._directory.backends[route.backend]
        safe = backend.safe_to_retry(method, route.backend_id if method == "tools/call" else None)
        tries = 1 + (step.retries if safe else 0)
        with anyio.move_on_after(step.timeout if step.timeout is not None else float("inf")) as scope:
            for attempt in range(1, tries + 1):
                try:
                    return await self._once(name, route, method, dict(params), front, caller)
                except StepFailed:
                    if attempt == tries:
                        raise
        assert scope.cancelled_caught
        raise StepFailed(f"step {name}: took longer than {step.timeout:g}s")

    def _resolve(
        self, name: str, step: WorkflowStep, run: Run, index: RouteIndex
    ) -> tuple[Route, str, dict[str, Any], str]:
        try:
            if step.call is not None:
                front = str(render(step.call, run.scope))
                arguments = render(dict(step.arguments), run.scope)
            else:
                front = str(render(step.read, run.scope))
        except TemplateError as error:
            raise StepFailed(f"step {name}: {error.message}") from None
        if step.call is not None:
            route = index.tools.get(front)
            if route is None:
                raise StepFailed(f"step {name}: its tool is not available to this caller")
            return route, "tools/call", {"name": route.backend_id, "arguments": arguments}, front
        found = self._directory.resolve_uri(front, index)
        if found is None:
            raise StepFailed(f"step {name}: its resource is not available to this caller")
        return found[0], "resources/read", {"uri": found[1]}, front

    async def _once(
        self, name: str, route: Route, method: str, params: dict[str, Any], front: str, caller: StepCaller
    ) -> Any:
        raw = {"name": front, "arguments": params.get("arguments")} if method == "tools/call" else params
        try:
            result = await self._dispatch.forward(caller, route, method, params, front=front, raw=raw)
        except MCPError as error:
            raise StepFailed(f"step {name}: {error.error.message}") from None
        if result.get("resultType") == "input_required":
            raise StepFailed(f"step {name}: {front} asks the user for input, which a workflow cannot give")
        if result.get("isError"):
            raise StepFailed(f"step {name}: {front} failed: {_text_of(result) or 'no detail'}")
        return output_of(route, method, result)

    def _audit(
        self, name: str, caller: StepCaller, run: Run, outcome: str, error: str | None, seconds: float
    ) -> None:
        audit = self._policies.current.audit
        if audit.enabled:
            audit.write(
                request_id=requestid.ensure(),
                principal=caller.principal.name,
                kind=caller.principal.kind,
                method="workflow",
                tool=name,
                outcome=outcome,
                error=error,
                steps=dict(run.status),
                latency_ms=round(seconds * 1000, 3),
            )


def output_of(route: Route, method: str, result: dict[str, Any]) -> Any:
    """What later steps see of a step's result: structured content (unwrapped as FastMCP clients
    unwrap it), else the text parsed as JSON when it is JSON, else the text."""
    if method == "tools/call":
        structured = result.get("structuredContent")
        if structured is not None:
            schema = route.item.get("outputSchema") or {}
            if (
                isinstance(structured, dict)
                and schema.get("x-fastmcp-wrap-result")
                and "result" in structured
            ):
                return structured["result"]
            return structured
        return _maybe_json(_text_of(result))
    contents = result.get("contents") or []
    if not contents:
        return None
    first = contents[0]
    text = first.get("text")
    if text is None:
        return {"blob": first.get("blob"), "mimeType": first.get("mimeType")}
    return _maybe_json(text) if "json" in str(first.get("mimeType", "")) else text


def _text_of(result: dict[str, Any]) -> str:
    return "\n".join(c.get("text", "") for c in result.get("content") or [] if c.get("type") == "text")


def _maybe_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _answer(structured: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(structured, indent=2, ensure_ascii=False, default=str)
    return {"content": [{"type": "text", "text": text}], "structuredContent": structured, "isError": False}


def _error(message: str, detail: dict[str, Any] | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"content": [{"type": "text", "text": message}], "isError": True}
    if detail is not None:
        result["structuredContent"] = detail
    return result
