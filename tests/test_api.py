"""The VirtualMemory API: the seed's verbs, on embedded defaults."""

from __future__ import annotations

import os
import pydoc

import pytest

import vmllm
from conftest import paragraphs


def test_ingest_returns_seed_page_ids_whose_pages_rebuild_the_document(vm):
    text = paragraphs(20)
    ids = vm.ingest("microservices_guide", text)
    assert ids[:2] == ["microservices_guide::chunk_0000", "microservices_guide::chunk_0001"]
    assert "".join(vm.read_page(i) for i in ids) == text
    assert all(vm.page_table[i].tokens <= 100 for i in ids)
    assert all(vm.page_table[i].tier == "L4" for i in ids)
    assert len(vm.page_table) == len(ids)
    assert list(vm.page_table) == ids


def test_request_page_faults_once_then_hits_l1(vm):
    ids = vm.ingest("doc", paragraphs(10))
    assert vm.request_page(ids[4]) == vm.read_page(ids[4])
    vm.request_page(ids[4])
    entry = vm.page_table[ids[4]]
    assert (entry.tier, entry.access_count, entry.fault_count) == ("L1", 2, 1)
    stats = vm.stats()
    assert stats["faults"] == 1
    assert stats["tiers"]["L1"]["hits"] == 1
    assert stats["tiers"]["L4"]["hits"] == 1
    assert vm.active_pages() == [ids[4]]
    assert vm.context_token_count() == entry.tokens


def test_l1_never_exceeds_its_budget_and_evicts_by_policy(vm):
    ids = vm.ingest("doc", paragraphs(40))
    for page_id in ids:
        vm.request_page(page_id)
        assert vm.context_token_count() <= 400
    stats = vm.stats()
    assert stats["evictions"] >= len(ids) - len(vm.active_pages())
    assert vm.active_pages() == ids[-len(vm.active_pages()):]  # LRU keeps the newest.
    assert vm.page_table[ids[0]].tier in ("L2", "L3")


def test_release_compresses_and_full_brings_the_original_back(vm):
    ids = vm.ingest("doc", paragraphs(10))
    full = vm.request_page(ids[0])
    assert vm.release_page(ids[0], compress=True) is True
    entry = vm.page_table[ids[0]]
    assert entry.compressed and entry.summary and len(entry.summary) < len(full)
    assert entry.tier == "L2"
    assert vm.request_page(ids[0], full=False) == entry.summary
    assert "[COMPRESSED SUMMARY]" in vm.build_context()
    assert vm.request_page(ids[0], full=True) == full
    assert "[COMPRESSED SUMMARY]" not in vm.build_context()
    assert vm.release_page(ids[1]) is False  # Not resident.


def test_request_page_after_release_returns_the_whole_page_from_l2(vm):
    ids = vm.ingest("doc", paragraphs(10))
    original = vm.read_page(ids[0])
    assert vm.request_page(ids[0]) == original
    assert vm.release_page(ids[0], compress=True) is True
    summary = vm.page_table[ids[0]].summary
    assert summary and len(summary) < len(original)
    l2_hits = vm.stats()["tiers"]["L2"]["hits"]
    assert vm.request_page(ids[0]) == original  # The default is the page, not its summary.
    assert vm.stats()["tiers"]["L2"]["hits"] == l2_hits + 1
    entry = vm.page_table[ids[0]]
    assert entry.tier == "L1" and not entry.resident_as_summary
    assert "[COMPRESSED SUMMARY]" not in vm.build_context()


def test_request_page_full_false_asks_for_the_summary(vm):
    ids = vm.ingest("doc", paragraphs(10))
    vm.request_page(ids[0])
    vm.release_page(ids[0], compress=True)
    summary = vm.page_table[ids[0]].summary
    assert vm.request_page(ids[0], full=False) == summary
    assert vm.page_table[ids[0]].resident_as_summary
    # A resident summary is upgraded by a plain request, and several pages work alike.
    assert vm.request_pages([ids[0], ids[1]]) == [vm.read_page(ids[0]), vm.read_page(ids[1])]
    assert not vm.page_table[ids[0]].resident_as_summary
    vm.release_page(ids[1], compress=True)
    assert vm.request_pages([ids[1]], full=False) == [vm.page_table[ids[1]].summary]


def test_build_context_uses_seed_sections(vm):
    ids = vm.ingest("doc", paragraphs(10))
    a = vm.request_page(ids[1])
    b = vm.request_page(ids[0])
    assert vm.build_context() == f"=== [{ids[1]}] ===\n{a}\n\n=== [{ids[0]}] ===\n{b}"


def test_pinned_page_survives_any_amount_of_paging(vm):
    ids = vm.ingest("doc", paragraphs(40))
    vm.pin(ids[0])
    for page_id in ids[1:]:
        vm.request_page(page_id)
    assert ids[0] in vm.active_pages()
    assert vm.page_table[ids[0]].pinned
    with pytest.raises(vmllm.InvalidArgumentError):
        vm.release_page(ids[0])
    vm.unpin(ids[0])
    assert vm.release_page(ids[0])


def test_pinning_past_the_budget_is_a_capacity_error(vm):
    ids = vm.ingest("doc", paragraphs(40))
    pinned = 0
    with pytest.raises(vmllm.CapacityError, match="budget"):
        for page_id in ids:
            vm.pin(page_id)
            pinned += 1
    assert 0 < pinned < len(ids)


def test_semantic_find_and_fault(vm):
    vm.ingest("filler", paragraphs(30))
    ids = vm.ingest("libs", "Resilience4j (Java), PyBreaker (Python) and Polly (.NET) "
                            "implement the circuit breaker pattern.")
    for mode in ("hybrid", "vector", "keyword"):
        assert vm.semantic_find("PyBreaker Resilience4j libraries", n=3, mode=mode)[0] == ids[0]
    resident = vm.fault("which libraries implement circuit breakers like PyBreaker", n=3)
    assert resident[0] == ids[0]
    assert ids[0] in vm.active_pages()
    assert vm.context_token_count() <= 400
    with pytest.raises(vmllm.InvalidArgumentError):
        vm.semantic_find("x", mode="fuzzy")
    with pytest.raises(vmllm.InvalidArgumentError):
        vm.fault("x", n=-1)


def test_unknown_page_is_a_key_error(vm):
    with pytest.raises(KeyError):
        vm.request_page("nope::chunk_0000")
    with pytest.raises(vmllm.PageNotFoundError, match="nope"):
        vm.page_table["nope"]
    assert "nope" not in vm.page_table
    assert 42 not in vm.page_table


def test_stats_report_every_tier(vm):
    ids = vm.ingest("doc", paragraphs(20))
    for page_id in ids:
        vm.request_page(page_id)
    s = vm.stats()
    assert set(s["tiers"]) == {"L1", "L2", "L3", "L4"}
    assert sum(t["pages"] for t in s["tiers"].values()) == len(ids)
    assert s["tiers"]["L1"]["tokens"] == vm.context_token_count()
    assert s["l1_budget"] == 400 and s["policy"] == "lru"


def test_reopen_restores_pages_and_metadata(store):
    with vmllm.VirtualMemory(store, l1_tokens=400, page_tokens=100) as vm:
        ids = vm.ingest("doc", paragraphs(10))
        vm.request_page(ids[3])
        vm.request_page(ids[3])
    with vmllm.VirtualMemory(store, l1_tokens=400, page_tokens=100) as vm:
        assert len(vm.page_table) == len(ids)
        entry = vm.page_table[ids[3]]
        assert (entry.access_count, entry.fault_count, entry.tier) == (2, 1, "L3")
        assert vm.semantic_find("Section 7 about topic", n=1)


def test_temporary_store_is_removed_on_close():
    vm = vmllm.VirtualMemory()
    path = vm.path
    vm.ingest("doc", "hello world")
    assert os.path.isdir(path)
    vm.close()
    vm.close()  # Idempotent.
    assert not os.path.exists(path)
    assert "closed" in repr(vm)


def test_every_policy_by_name(store):
    assert {"lru", "lfu", "gdsf"} <= set(vmllm.eviction_policies())
    for policy in vmllm.eviction_policies():
        with vmllm.VirtualMemory(None, l1_tokens=300, page_tokens=100, policy=policy) as vm:
            ids = vm.ingest("doc", paragraphs(20))
            for page_id in ids:
                vm.request_page(page_id)
            assert vm.context_token_count() <= 300
            assert vm.stats()["policy"] == policy
    with pytest.raises(vmllm.InvalidArgumentError, match="lru"):
        vmllm.VirtualMemory(store, policy="random")


def test_bad_options_are_clear_errors(store):
    with pytest.raises(vmllm.InvalidArgumentError, match="page_tokens"):
        vmllm.VirtualMemory(store, l1_tokens=100, page_tokens=200)
    with pytest.raises(vmllm.InvalidArgumentError):
        vmllm.VirtualMemory(store, l1_tokens=0)


def test_public_api_is_documented():
    text = pydoc.render_doc(vmllm.VirtualMemory, renderer=pydoc.plaintext)
    for name in ("ingest", "request_page", "release_page", "pin", "unpin", "semantic_find",
                 "fault", "build_context", "context_token_count", "active_pages", "page_table",
                 "stats", "hand_off", "receive_hand_off", "close"):
        assert name in text
        assert getattr(vmllm.VirtualMemory, name).__doc__, name
    assert vmllm.errors.PageNotFoundError.__mro__[1:3] == (vmllm.VmllmError, KeyError)
    assert issubclass(vmllm.StorageError, OSError)
    assert issubclass(vmllm.BackendUnavailableError, ConnectionError)
    assert issubclass(vmllm.InvalidArgumentError, ValueError)
