"""Threads and processes: one VirtualMemory from many threads, one store from many processes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import vmllm
from conftest import paragraphs


def test_eight_threads_sharing_one_virtual_memory_stay_consistent(store):
    with vmllm.VirtualMemory(store, l1_tokens=600, page_tokens=100) as vm:
        ids = vm.ingest("doc", paragraphs(60))
        originals = {i: vm.read_page(i) for i in ids}
        errors: list[BaseException] = []

        def worker(t: int) -> None:
            try:
                for i in range(150):
                    page_id = ids[(t * 7 + i * 3) % len(ids)]
                    assert vm.request_page(page_id, full=True) == originals[page_id]
                    if i % 10 == 0:
                        vm.release_page(page_id)
                    if i % 30 == 0:
                        assert vm.semantic_find("circuit breaker", n=3)
                    if i % 50 == 0:
                        vm.ingest(f"extra-{t}-{i}", paragraphs(3, topic=f"t{t}"))
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert not errors, errors
        s = vm.stats()
        assert s["l1_used"] <= 600
        assert s["tiers"]["L1"]["hits"] + s["tiers"]["L1"]["misses"] == s["requests"]
        assert sum(t["pages"] for t in s["tiers"].values()) == len(vm.page_table)


def test_blocking_calls_release_the_gil(store):
    text = paragraphs(20000)  # ~1.3 MB: long enough to observe.
    with vmllm.VirtualMemory(store) as vm:
        ticks = 0
        done = threading.Event()

        def ingest() -> None:
            vm.ingest("big", text)
            done.set()

        started = time.perf_counter()
        t = threading.Thread(target=ingest)
        t.start()
        while not done.is_set():
            ticks += 1  # Pure-Python work: only runs while the ingest thread holds no GIL.
            time.sleep(0)
        t.join()
        elapsed = time.perf_counter() - started
        assert elapsed > 0.05, "ingest too quick to observe; make the document larger"
        assert ticks > 100, f"only {ticks} ticks in {elapsed:.2f} s: the GIL was held"


def test_a_thread_pool_pages_in_parallel(store):
    with vmllm.VirtualMemory(store, l1_tokens=100_000, page_tokens=100) as vm:
        ids = vm.ingest("doc", paragraphs(200))
        with ThreadPoolExecutor(8) as pool:
            texts = list(pool.map(lambda i: vm.request_page(i, full=True), ids))
        assert texts == [vm.read_page(i) for i in ids]
        assert set(vm.active_pages()) == set(ids)


_WRITER = textwrap.dedent("""
    import sys, vmllm
    store, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with vmllm.VirtualMemory(store, l1_tokens=400, page_tokens=100) as vm:
        for i in range(count):
            vm.ingest(f"{name}-{i}", f"{name} writes document {i}: " + "zebra quokka " * 40)
        # Search must see what the other process wrote before it searched.
        print(len(vm.page_table))
""")


def test_two_processes_share_one_store_without_corrupting_it(store, python_env):
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, store, name, "40"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=python_env) for name in ("alpha", "beta")]
    outputs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, err
    with vmllm.VirtualMemory(store, l1_tokens=400, page_tokens=100) as vm:
        docs = {vm.page_table[i].doc_id for i in vm.page_table}
        assert docs == {f"{n}-{i}" for n in ("alpha", "beta") for i in range(40)}
        for name in ("alpha", "beta"):
            hits = vm.semantic_find(f"{name} writes document 7", n=5)
            assert f"{name}-7::chunk_0000" in hits


def test_hand_off_to_another_process(store, python_env):
    with vmllm.VirtualMemory(store, l1_tokens=400, page_tokens=100) as a:
        ids = a.ingest("doc", paragraphs(20))
        a.request_page(ids[2])
        a.request_page(ids[5])
        snapshot = a.hand_off({"phase": "analysis", "next": ids[6]})
        a.flush()
        receiver = textwrap.dedent("""
            import json, sys, vmllm
            with vmllm.VirtualMemory(sys.argv[1], l1_tokens=400, page_tokens=100) as b:
                state = b.receive_hand_off(sys.stdin.read())
                print(json.dumps({"state": state, "active": b.active_pages(),
                                  "text": b.build_context()}))
        """)
        result = subprocess.run([sys.executable, "-c", receiver, store], input=snapshot,
                                capture_output=True, text=True, env=python_env, timeout=120)
        assert result.returncode == 0, result.stderr
        got = json.loads(result.stdout)
        assert got["state"] == {"phase": "analysis", "next": ids[6]}
        assert got["active"] == [ids[2], ids[5]]
        assert a.read_page(ids[5]) in got["text"]
        assert a.read_page(ids[2]) not in snapshot  # Pointers, not payloads.
