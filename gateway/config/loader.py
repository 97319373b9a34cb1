"""Reading gateway.yaml: YAML → `${VAR}` expansion → validation → one `ConfigError` listing
every problem, each as `<yaml path>: <what is wrong>` with its line number.

`${VAR}` and `${VAR:-default}` inside string values are read from the environment, after a
`.env` file beside the config (variables already in the environment win). `$${` writes a
literal `${`. A missing variable is an error naming the YAML path that needs it.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from dotenv import dotenv_values
from pydantic import BaseModel, ValidationError

from gateway.config.model import GatewayConfig
from gateway.errors import ConfigError

_VAR = re.compile(r"\$(\$)?\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class LoadedConfig:
    """A validated configuration and where it came from."""

    config: GatewayConfig
    path: Path | None

    @property
    def base_dir(self) -> Path:
        """Directory relative paths in the config are resolved against."""
        return self.path.parent if self.path is not None else Path.cwd()


def load_config(path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None) -> LoadedConfig:
    """Read, expand and validate a config file. Raises `ConfigError` naming every problem."""
    file = Path(path)
    source = str(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"file not found (looked in {file.resolve().parent})"], source=source) from None
    except OSError as error:
        raise ConfigError([f"cannot read file: {error.strerror}"], source=source) from None
    env = dict(environ) if environ is not None else environment(file.parent)
    return LoadedConfig(parse_config(text, source=source, environ=env), file)


def parse_config(text: str, *, source: str = "gateway.yaml", environ: Mapping[str, str]) -> GatewayConfig:
    """Validate config text (already read) against the model."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(error, "problem", None) or "not valid YAML"
        raise ConfigError([f"{where}{problem}"], source=source) from None
    lines = _line_index(root)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(["the top level must be a mapping (backends: ...)"], source=source)
    problems: list[str] = []
    expanded = _expand(data, (), environ, problems, lines)
    if problems:
        raise ConfigError(problems, source=source)
    try:
        return GatewayConfig.model_validate(expanded)
    except ValidationError as error:
        raise ConfigError(_describe(error, GatewayConfig, lines), source=source) from None


def environment(directory: Path) -> dict[str, str]:
    """The variables `${VAR}` reads for a config in `directory`: its `.env`, then the environment."""
    values = {k: v for k, v in dotenv_values(directory / ".env").items() if v is not None}
    values.update(os.environ)
    return values


def _expand(
    value: Any, path: Path_, environ: Mapping[str, str], problems: list[str], lines: dict[Path_, int]
) -> Any:
    if isinstance(value, dict):
        return {k: _expand(v, (*path, str(k)), environ, problems, lines) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, (*path, i), environ, problems, lines) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        escaped, name, default = match.groups()
        if escaped:
            return match.group(0)[1:]
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        problems.append(f"{_where(path, lines)}: environment variable {name} is not set")
        return ""

    return _VAR.sub(substitute, value)


def _line_index(
    node: yaml.Node | None, path: Path_ = (), out: dict[Path_, int] | None = None
) -> dict[Path_, int]:
    """Map every YAML path to the line it starts on (1-based)."""
    out = {} if out is None else out
    if node is None:
        return out
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = (*path, str(key_node.value))
            out[key] = key_node.start_mark.line + 1
            _line_index(value_node, key, out)
            out[key] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _line_index(item, (*path, index), out)
    return out


def _where(path: Path_, lines: dict[Path_, int]) -> str:
    dotted = ".".join(str(p) for p in path) or "(top level)"
    probe = path
    while probe and probe not in lines:
        probe = probe[:-1]
    line = lines.get(probe)
    return f"{dotted} (line {line})" if line is not None else dotted


def _describe(error: ValidationError, model: type[BaseModel], lines: dict[Path_, int]) -> list[str]:
    problems: list[str] = []
    for item in error.errors(include_url=False, include_input=False):
        loc = tuple(p for p in item["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown field" + _suggest(model, loc)
        elif item["type"] == "missing":
            message = "required field is missing"
        problems.append(f"{_where(loc, lines)}: {message}")
    return problems


def _suggest(model: type[BaseModel], loc: Path_) -> str:
    """` (did you mean 'command'?)` for a misspelt key, found by walking the model along `loc`."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int) or current is None:
            continue
        fields = getattr(current, "model_fields", None)
        if fields is None:
            continue
        field = fields.get(str(part))
        if field is None:
            continue  # a dict key (a backend's name): stay on the value type below
        current = _model_of(field.annotation)
    fields = getattr(current, "model_fields", None)
    if not fields or not isinstance(loc[-1], str):
        return ""
    close = difflib.get_close_matches(loc[-1], list(fields), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _model_of(annotation: Any) -> Any:
    """The pydantic model inside an annotation like `dict[str, BackendConfig]` or `Section`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None
