"""Regenerate full.normalized.json after a deliberate change to the config model's defaults.

.venv/bin/python tests/gateway/config/golden/regenerate.py
"""

import json
from pathlib import Path

from gateway.config import load_config

HERE = Path(__file__).parent
config = load_config(HERE / "full.yaml", environ={"DATAGEN_TOKEN": "s3cret-token"}).config
(HERE / "full.normalized.json").write_text(
    json.dumps(config.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"
)
