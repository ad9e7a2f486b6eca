"""tokenizer= choices on VirtualMemory, Python-callable tokenizers, and chunking by kind."""
from __future__ import annotations

import sysconfig
import threading
from pathlib import Path

import pytest

import vmllm
from vmllm import _core, tokenizers
from vmllm.errors import InvalidArgumentError

DECODER = Path(sysconfig.get_paths()["stdlib"]) / "json" / "decoder.py"


def test_named_tokenizers_measure_pages_exactly(tmp_path: Path) -> None:
    text = DECODER.read_text()
    for name in ("o200k_base", "cl100k_base", "approx"):
        tok = tokenizers.get_tokenizer(name)
        with vmllm.VirtualMemory(str(tmp_path / name), page_tokens=300, tokenizer=name) as vm:
            ids = vm.ingest("decoder.py", text)
            assert "".join(vm.read_page(i) for i in ids) == text
            for i in ids:
                assert vm.page_table[i].tokens == tok.count(vm.read_page(i)) <= 300


def test_callable_tokenizer_cuts_pages_on_the_calling_thread(tmp_path: Path) -> None:
    threads = set()

    def words(text: str) -> int:
        threads.add(threading.get_ident())
        return len(text.split())

    text = DECODER.read_text()
    with vmllm.VirtualMemory(str(tmp_path / "s"), page_tokens=120, tokenizer=words) as vm:
        ids = vm.ingest("decoder.py", text)
        assert len(ids) > 5
        assert "".join(vm.read_page(i) for i in ids) == text
        for i in ids:
            assert vm.page_table[i].tokens == words(vm.read_page(i)) <= 120
        vm.request_page(ids[0])
        vm.semantic_find("JSONDecodeError")
    assert threads == {threading.get_ident()}


def test_callable_errors_reach_the_caller_and_store_nothing(tmp_path: Path) -> None:
    def broken(text: str) -> int:
        raise RuntimeError("tokenizer down")

    with vmllm.VirtualMemory(str(tmp_path / "s"), tokenizer=broken) as vm:
        with pytest.raises(RuntimeError, match="tokenizer down"):
            vm.ingest("a", "some text")
        assert vm.page_table.get("a::chunk_0000") is None
    with vmllm.VirtualMemory(str(tmp_path / "t"), tokenizer=lambda s: "many") as vm:
        with pytest.raises(TypeError, match="non-negative int"):
            vm.ingest("a", "some text")


def test_bad_tokenizer_arguments_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError):
        vmllm.VirtualMemory(str(tmp_path / "a"), tokenizer="gpt2")
    with pytest.raises(InvalidArgumentError):
        vmllm.VirtualMemory(str(tmp_path / "b"), tokenizer=42)  # type: ignore[arg-type]


def test_ingest_chunks_must_tile_the_text(tmp_path: Path) -> None:
    pager = _core.Pager(str(tmp_path / "s"))
    with pytest.raises(InvalidArgumentError):
        pager.ingest_chunks("d", "hello world", [(0, 5, 1), (6, 5, 1)])
    with pytest.raises(InvalidArgumentError):
        pager.ingest_chunks("d", "hello world", [(0, 5, 1)])
    assert pager.ingest_chunks("d", "hello world", [(0, 6, 1), (6, 5, 1)]) == [
        "d::chunk_0000", "d::chunk_0001"]
    assert pager.page_info("d::chunk_0001").tokens == 1
    pager.close()


def test_chunk_kinds_and_overlap_from_python() -> None:
    tok = tokenizers.get_tokenizer("cl100k_base")
    src = DECODER.read_text()
    raw = src.encode()
    pages = _core.chunk(src, 2000, tok, kind="auto", doc_id="decoder.py")
    assert all(c[2] <= 500 for c in pages)  # Code pages aim at 500 tokens.
    starts = [raw[o:o + l].decode().lstrip() for o, l, _ in pages[1:]]
    assert sum(s.startswith(("def ", "class ")) for s in starts) >= len(starts) // 2
    ov = _core.chunk_overlapping(src, 400, 40, tok, kind="python")
    assert b"".join(raw[o:o + l] for _, o, l, _ in ov) == raw
    for prefix_start, offset, _, _ in ov[1:]:
        assert 0 < tok.count(raw[prefix_start:offset].decode()) <= 40
    with pytest.raises(InvalidArgumentError):
        _core.chunk(src, 100, tok, kind="rust")
