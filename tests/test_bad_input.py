"""Bad input gets a clear error and loses nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import vmllm
from conftest import paragraphs


def test_empty_text_makes_a_document_with_no_pages(vm):
    assert vm.ingest("empty", "") == []
    assert vm.ingest("empty-bytes", b"") == []


def test_invalid_utf8_is_rejected_and_stores_nothing(vm):
    with pytest.raises(vmllm.InvalidArgumentError, match="UTF-8"):
        vm.ingest("doc", b"valid start \xff\xfe then garbage")
    with pytest.raises(vmllm.InvalidArgumentError, match="surrogate"):
        vm.ingest("doc", "lone \ud800 surrogate")
    assert len(vm.page_table) == 0


def test_utf8_bytes_are_accepted_and_multibyte_text_survives_paging(vm):
    text = "Größe 東京 🚀 " * 200
    ids = vm.ingest("unicode", text.encode())
    assert "".join(vm.read_page(i) for i in ids) == text
    assert all(vm.request_page(i, full=True) for i in ids)


@pytest.mark.parametrize("doc_id", ["../../etc/passwd", "/abs/path", "a\0b", "d" * 10_000,
                                    "unicode 东西 🙂", "  spaces  "])
def test_hostile_doc_ids_are_stored_verbatim_and_never_become_paths(vm, store, doc_id):
    ids = vm.ingest(doc_id, "some text about " + doc_id[:20])
    assert ids == [f"{doc_id}::chunk_0000"]
    assert vm.page_table[ids[0]].doc_id == doc_id
    assert vm.request_page(ids[0]).startswith("some text")
    assert sorted(os.listdir(store)) <= ["store.db", "store.db-shm", "store.db-wal", "vectors"]


def test_bad_doc_ids_are_clear_errors(vm):
    with pytest.raises(vmllm.InvalidArgumentError, match="empty"):
        vm.ingest("", "text")
    with pytest.raises(vmllm.InvalidArgumentError, match="limit"):
        vm.ingest("x" * 70_000, "text")
    with pytest.raises(vmllm.InvalidArgumentError):
        vm.ingest(123, "text")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        vm.ingest("doc", 123)  # type: ignore[arg-type]


def test_malformed_hand_off_snapshots_are_invalid_arguments(vm):
    for bad in ("{not json", "[1, 2]", '{"active_page_ids": 5}', "", b"\xff"):
        with pytest.raises(vmllm.InvalidArgumentError):
            vm.receive_hand_off(bad)
    with pytest.raises(vmllm.InvalidArgumentError, match="JSON"):
        vm.hand_off({"not": object()})


def test_a_path_below_a_file_is_a_storage_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(vmllm.StorageError):
        vmllm.VirtualMemory(str(blocker / "store"))


def test_a_read_only_store_directory_is_a_clear_storage_error(tmp_path):
    if os.geteuid() == 0:
        # Root ignores permission bits; /proc/self is a directory nobody can create files in.
        store = "/proc/self"
    else:
        store = str(tmp_path / "ro")
        os.mkdir(store, 0o555)
    with pytest.raises(vmllm.StorageError) as info:
        vmllm.VirtualMemory(store)
    assert store in str(info.value)


def test_a_200_mb_document_is_ingested_in_bounded_memory(tmp_path, python_env):
    script = textwrap.dedent(f"""
        import resource, vmllm
        para = "The ledger entry 12345 was reconciled by the settlement service. " * 12 + "\\n\\n"
        text = para * (200_000_000 // len(para))
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with vmllm.VirtualMemory({str(tmp_path / "big")!r}) as vm:
            ids = vm.ingest("big", text)
            after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            assert vm.read_page(ids[-1]) == text[-len(vm.read_page(ids[-1])):]
            print(len(text), len(ids), (after - before) * 1024)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=python_env, timeout=600)
    assert result.returncode == 0, result.stderr
    size, pages, growth = map(int, result.stdout.split())
    assert size >= 199_000_000 and pages > 10_000
    # The text itself is already resident; ingest may add buffers, never another copy of it.
    assert growth < 150_000_000, f"ingest grew the peak RSS by {growth / 1e6:.0f} MB"


def test_closed_memory_refuses_calls_clearly(store):
    vm = vmllm.VirtualMemory(store)
    vm.close()
    with pytest.raises(vmllm.InvalidArgumentError, match="closed"):
        vm.ingest("doc", paragraphs(1))
