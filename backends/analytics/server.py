"""The analytics MCP server: JSON cleaning, statistics, record transforms, an analysis prompt.

Tools are pure functions of their input (read-only, idempotent). The prompt names the tools as a
client of the gateway sees them: the gateway mounts this server under a namespace, so names get
a prefix. `create_server(tool_prefix=...)` sets it; by default it is read from the environment
variable `MCP_TOOL_PREFIX` (the gateway sets it for the stdio children it starts, e.g.
`analytics_`), and is empty when the server is used directly.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

from fastmcp import FastMCP
from fastmcp.exceptions import ToolError
from pydantic import Field
from typing_extensions import TypedDict

from backends.analytics import jsonparse, stats, transform

PURE = {"readOnlyHint": True, "idempotentHint": True, "destructiveHint": False, "openWorldHint": False}
INSTRUCTIONS = (
    "Data tools: validate JSON (clean_json_data), describe a list of numbers (analyze_dataset), "
    "and reshape lists of records (transform_data). Use the data_analysis_workflow prompt for a plan."
)


# What each tool and the prompt say they do. Given to FastMCP as descriptions rather than read
# from docstrings: a docstring makes FastMCP load griffe to parse it, a tenth of a second of the
# server's start (and of a one-off `gateway call`), for text that has no sections to parse.
CLEAN_JSON_DATA = """Parse and validate JSON text.

Valid input returns the parsed value and its JSON type (object, array, string, number,
boolean, null); invalid input returns where the problem is (line, column) and what it is."""
ANALYZE_DATASET = (
    "Describe a list of numbers: count, mean, median, sample and population standard\n"
    "deviation and variance, min, max, range, and quartiles (linear interpolation)."
)
TRANSFORM_DATA = "Transform a list of records with one operation (see the parameter descriptions)."
DATA_ANALYSIS_WORKFLOW = "A step-by-step plan for analysing a dataset with this server's tools."


class CleanResult(TypedDict, total=False):
    valid: bool
    data: Any
    type: str
    error: jsonparse.JsonError


class TransformResult(TypedDict):
    operation: str
    count: int
    records: list[dict[str, Any]]


def create_server(tool_prefix: str | None = None) -> FastMCP:
    """Build the analytics server; `tool_prefix` is how clients see tool names (see module doc)."""
    prefix = os.environ.get("MCP_TOOL_PREFIX", "") if tool_prefix is None else tool_prefix
    server: FastMCP = FastMCP("analytics", instructions=INSTRUCTIONS)

    @server.tool(annotations=PURE, tags={"analytics"}, description=CLEAN_JSON_DATA)
    def clean_json_data(
        data: Annotated[str, Field(description="Text that should be JSON")],
    ) -> CleanResult:
        size = len(data.encode())
        if size > jsonparse.MAX_JSON_BYTES:
            raise ToolError(f"data is {size} bytes; the limit is {jsonparse.MAX_JSON_BYTES} bytes")
        value, error = jsonparse.parse(data)
        if error is not None:
            return {"valid": False, "error": error}
        return {"valid": True, "data": value, "type": jsonparse.json_type(value)}

    @server.tool(annotations=PURE, tags={"analytics"}, description=ANALYZE_DATASET)
    def analyze_dataset(
        values: Annotated[list[float], Field(description="The numbers to describe")],
    ) -> stats.Summary:
        try:
            return stats.summarize(values)
        except stats.DatasetError as error:
            raise ToolError(str(error)) from None

    @server.tool(annotations=PURE, tags={"analytics"}, description=TRANSFORM_DATA)
    def transform_data(
        records: Annotated[list[dict[str, Any]], Field(description="The records (JSON objects)")],
        operation: Annotated[
            str,
            Field(description="uppercase_keys, remove_nulls, sort_by, select_fields, filter or deduplicate"),
        ],
        key: Annotated[str | None, Field(description="sort_by / filter: the field (sort_by: id)")] = None,
        value: Annotated[Any, Field(description="filter: the value to compare with")] = None,
        op: Annotated[str, Field(description="filter: eq, ne, gt, gte, lt, lte or contains")] = "eq",
        fields: Annotated[
            list[str] | None, Field(description="select_fields: keys to keep; deduplicate: keys to compare")
        ] = None,
        descending: Annotated[bool, Field(description="sort_by: largest first")] = False,
    ) -> TransformResult:
        try:
            result = transform.apply(
                records, operation, key=key, value=value, op=op, fields=fields, descending=descending
            )
        except transform.TransformError as error:
            raise ToolError(str(error)) from None
        return {"operation": operation, "count": len(result), "records": result}

    @server.prompt(tags={"analytics"}, description=DATA_ANALYSIS_WORKFLOW)
    def data_analysis_workflow(
        dataset_description: Annotated[str, Field(description="What the dataset is")],
    ) -> str:
        return (
            f"Please analyze this dataset: {dataset_description}\n\n"
            "Follow these steps:\n"
            f"1. If the data is JSON text, validate it with {prefix}clean_json_data.\n"
            f"2. Compute statistics of the numeric columns with {prefix}analyze_dataset.\n"
            f"3. Clean and reshape the records with {prefix}transform_data "
            "(remove_nulls, sort_by, select_fields, filter, deduplicate).\n"
            "4. Report patterns, outliers and anomalies, citing the figures.\n\n"
            "Show your work at each step."
        )

    return server


mcp = create_server()
