"""Fails when a C++ include goes up a layer or sideways between front ends.

Layers, bottom up (DESIGN.md): util -> text -> chat -> net -> store -> engine ->
{documents, stream, memory} -> bindings. A file may include its own layer and the layers below
it; the three front ends may not include one another. Public headers in cpp/include/vmllm/
belong to the layer of the concept they declare (the table below: a new header must be added
to it, so its layer is a decision, not an accident). Tests, test helpers, fuzzers and
benchmarks may include anything.

    python3 tools/check_layers.py [--root DIR]   # exit 1 and one line per violation
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # --root checks another tree (the tests do).
ORDER = ["util", "text", "chat", "net", "store", "engine", "front", "bindings"]
FRONT_ENDS = {"documents", "stream", "memory"}

# The layer of each public header: where the concept it declares lives.
PUBLIC = {
    "status.h": "util", "clock.h": "util", "backend_events.h": "util", "page.h": "util",
    "utf8.h": "util", "json_limits.h": "util",
    "tokenizer.h": "text", "chunker.h": "text", "embedder.h": "text", "compressor.h": "text",
    "async_compressor.h": "text", "provided_embedder.h": "text",
    "wire_format.h": "chat", "tool_schemas.h": "chat",
    "llm_client.h": "net", "redis_options.h": "net",
    "tier.h": "store", "redis_tier.h": "store", "memory_records.h": "store",
    "pager.h": "engine", "eviction_policy.h": "engine",
    "stream.h": "stream", "replay.h": "stream",
    "conversation_memory.h": "memory",
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)


def layer_of_source(path: Path) -> str | None:
    rel = path.relative_to(ROOT / "cpp")
    parts = rel.parts
    if parts[0] == "include":
        return PUBLIC.get(parts[-1], "?")
    if parts[0] == "bindings":
        return "bindings"
    if parts[0] == "src":
        return "util" if len(parts) == 2 else parts[1]  # cpp/src/*.cc: status, clock, ...
    return None  # tests, testing, fuzz, bench


def layer_of_include(target: str) -> str | None:
    head, _, name = target.partition("/")
    if head == "vmllm":
        return PUBLIC.get(name, "?")
    if head in ("testing",):
        return "testing"
    return head if name else None


def rank(layer: str) -> int:
    return ORDER.index("front" if layer in FRONT_ENDS else layer)


def violations() -> list[str]:
    found = []
    for path in sorted((ROOT / "cpp").rglob("*")):
        if path.suffix not in (".h", ".cc", ".inc") or not path.is_file():
            continue
        source = layer_of_source(path)
        if source is None:
            continue
        rel = path.relative_to(ROOT)
        if source == "?":
            found.append(f"{rel}: public header with no layer: add it to PUBLIC in {__file__}")
            continue
        for target in INCLUDE.findall(path.read_text(encoding="utf-8")):
            layer = layer_of_include(target)
            if layer is None or layer == source:
                continue
            if layer in ("?", "testing") or layer not in FRONT_ENDS and layer not in ORDER:
                found.append(f"{rel}: includes {target}, which belongs to no layer")
            elif source in FRONT_ENDS and layer in FRONT_ENDS:
                found.append(f"{rel} ({source}) includes {target} ({layer}): front ends are "
                             "siblings; move what both need down to the engine")
            elif rank(layer) > rank(source):
                found.append(f"{rel} ({source}) includes {target} ({layer}): a layer above")
    return found


def main() -> int:
    global ROOT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository to check")
    ROOT = parser.parse_args().root.resolve()
    found = violations()
    for line in found:
        print(line)
    if found:
        print(f"check_layers: {len(found)} include(s) break the layering "
              f"({' -> '.join(ORDER[:-2])} -> {{documents, stream, memory}} -> bindings)")
        return 1
    print("check_layers: every include respects the layering")
    return 0


if __name__ == "__main__":
    sys.exit(main())
