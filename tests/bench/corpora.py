"""Inputs for the benchmarks: the Python standard library's sources, and synthetic pages."""

from __future__ import annotations

import random
import re
import sysconfig
import zlib
from pathlib import Path


def stdlib_files(limit_bytes: int) -> list[tuple[str, str]]:
    """(relative path, text) of standard-library .py files, sorted, up to ``limit_bytes``."""
    root = Path(sysconfig.get_paths()["stdlib"])
    files: list[tuple[str, str]] = []
    total = 0
    for path in sorted(root.rglob("*.py")):
        if "site-packages" in path.parts or "test" in path.parts:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        files.append((str(path.relative_to(root)), text))
        total += len(text.encode())
        if total >= limit_bytes:
            break
    return files


def synthetic_pages(count: int, seed: int = 8) -> list[str]:
    """``count`` paragraphs of about 50 words from a 5,000-word made-up vocabulary."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocabulary = sorted({"".join(rng.choices(letters, k=rng.randint(3, 9))) for _ in range(5200)})
    return [" ".join(rng.choices(vocabulary, k=50)) + "." for _ in range(count)]


_WORD = re.compile(r"\w+")


class PythonHashingEmbedding:
    """A local embedding function for chromadb, in pure Python: signed feature hashing of the
    lower-cased words into ``dimension`` buckets, L2-normalised (the idea of vmllm's own
    HashingEmbedder, since chromadb's default model cannot be downloaded here)."""

    def __init__(self, dimension: int = 384) -> None:
        self.dimension = dimension

    def __call__(self, input: list[str]) -> list[list[float]]:  # noqa: A002 - chromadb's name
        return [self.embed(text) for text in input]

    def embed(self, text: str) -> list[float]:
        """One text's vector."""
        vector = [0.0] * self.dimension
        for word in _WORD.findall(text.lower()):
            h = zlib.crc32(word.encode())
            vector[h % self.dimension] += 1.0 if h & 0x80000000 else -1.0
        norm = sum(x * x for x in vector) ** 0.5 or 1.0
        return [x / norm for x in vector]

    @staticmethod
    def name() -> str:
        """chromadb asks embedding functions for a name."""
        return "python-hashing"

    def embed_documents(self, input: list[str]) -> list[list[float]]:  # noqa: A002
        return self(input)

    def embed_query(self, input: list[str]) -> list[list[float]]:  # noqa: A002
        return self(input)

    def is_legacy(self) -> bool:
        return False

    def get_config(self) -> dict[str, int]:
        return {"dimension": self.dimension}

    @staticmethod
    def build_from_config(config: dict[str, int]) -> "PythonHashingEmbedding":
        return PythonHashingEmbedding(config.get("dimension", 384))

    def default_space(self) -> str:
        return "cosine"

    def supported_spaces(self) -> list[str]:
        return ["cosine", "ip", "l2"]


def chroma_client(path: str):  # type: ignore[no-untyped-def]
    """A persistent chromadb client with telemetry off (no network here)."""
    import chromadb
    from chromadb.config import Settings

    return chromadb.PersistentClient(path=path, settings=Settings(anonymized_telemetry=False))
