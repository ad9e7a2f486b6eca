"""The eviction policies added for message-stream paging also drive the pager by name."""

from __future__ import annotations

import pytest

import vmllm

from conftest import paragraphs


@pytest.mark.parametrize("policy", ["fifo-age", "clock", "working-set", "working-set:30", "arc"])
def test_pager_runs_each_policy_within_its_budget(store: str, policy: str) -> None:
    with vmllm.VirtualMemory(store, l1_tokens=300, page_tokens=100, policy=policy) as vm:
        ids = vm.ingest("doc", paragraphs(40))
        for page_id in ids[:8]:
            vm.request_page(page_id)
        assert vm.context_token_count() <= 300
        assert vm.stats()["evictions"] > 0
        assert ids[7] in vm.active_pages()  # The page just requested is never the victim.


def test_unknown_policy_names_are_rejected(store: str) -> None:
    with pytest.raises(vmllm.errors.InvalidArgumentError):
        vmllm.VirtualMemory(store, policy="working-set:-1")
