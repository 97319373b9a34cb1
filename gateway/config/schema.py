"""`gateway.schema.json`: the JSON Schema of gateway.yaml, generated from the config model.

Editors use it for completion and checking (`# yaml-language-server: $schema=./gateway.schema.json`);
a test fails when the committed file is not what the model generates.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from gateway.config import GatewayConfig

SCHEMA_ID = "https://github.com/mcp-orchestration-gateway/gateway.schema.json"


def config_schema() -> dict[str, Any]:
    """The schema, as a dictionary."""
    schema = GatewayConfig.model_json_schema(mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def render_schema() -> str:
    """The schema, as the text committed in gateway.schema.json."""
    return json.dumps(config_schema(), indent=2, sort_keys=True) + "\n"


def write_schema(output: str) -> int:
    """Write the schema to a file, or stdout for '-'; returns the exit status."""
    text = render_schema()
    if output == "-":
        sys.stdout.write(text)
    else:
        Path(output).write_text(text, encoding="utf-8")
    return 0
