"""The C++ includes respect the layering (tools/check_layers.py), and the checker catches a
break of each kind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHECK = REPO / "tools" / "check_layers.py"


def check(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CHECK), "--root", str(root)], capture_output=True,
                          text=True, timeout=60)


def test_the_repository_respects_the_layering():
    result = check(REPO)
    assert result.returncode == 0, result.stdout


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_an_include_up_a_layer_sideways_or_into_no_layer_is_reported(tmp_path):
    write(tmp_path, "cpp/src/net/client.cc", '#include "store/disk_store.h"\n')
    write(tmp_path, "cpp/src/stream/plan.cc", '#include "memory/queue_manager.h"\n')
    write(tmp_path, "cpp/include/vmllm/new_thing.h", '#include "vmllm/status.h"\n')
    write(tmp_path, "cpp/src/engine/pager.cc", '#include "store/disk_store.h"\n'
                                               '#include "vmllm/tier.h"\n')  # Allowed.
    write(tmp_path, "cpp/tests/pager_test.cc", '#include "memory/queue_manager.h"\n')  # Tests may.
    result = check(tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any("net/client.cc (net) includes store/disk_store.h (store)" in l for l in lines)
    assert any("stream/plan.cc (stream) includes memory/queue_manager.h" in l
               and "siblings" in l for l in lines)
    assert any("new_thing.h: public header with no layer" in l for l in lines)
    assert not any("pager" in l for l in lines)
    assert len(lines) == 4  # Three violations and the summary.
