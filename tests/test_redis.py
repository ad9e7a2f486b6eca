"""The Redis L2 against a real redis-server: namespacing, TTL refresh, AUTH, unix sockets,
degradation when the server dies and recovery when it returns, and the two-process hand-off."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import vmllm
from conftest import paragraphs

redis = pytest.importorskip("redis")
from redis_process import RedisProcess, free_port, started as _started  # noqa: E402

if shutil.which("redis-server") is None:  # .ci/install installs it; CI never skips.
    pytest.skip("redis-server is not installed (apt-get install redis-server)",
                allow_module_level=True)


@pytest.fixture
def redis_server() -> Iterator[RedisProcess]:
    yield from _started()


@pytest.fixture
def redis_auth_server() -> Iterator[RedisProcess]:
    yield from _started("--requirepass", "s3cret",
                        "--user", "alice", "on", ">wonderland", "~*", "&*", "+@all")


@pytest.fixture
def redis_unix_server() -> Iterator[RedisProcess]:
    # Socket paths are limited to ~100 bytes: pytest's tmp_path can be longer.
    directory = tempfile.mkdtemp(prefix="vmllm-redis-")
    try:
        yield from _started(unix_socket=os.path.join(directory, "redis.sock"))
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _fill(vm: vmllm.VirtualMemory, pages: int = 12) -> list[str]:
    ids = vm.ingest("doc", paragraphs(pages))
    for page_id in ids:
        vm.request_page(page_id, full=True)
    for page_id in vm.active_pages():
        vm.release_page(page_id, compress=False)
    return ids


def _l2(vm: vmllm.VirtualMemory) -> dict[str, int]:
    return dict(vm.stats()["tiers"]["L2"])


def test_bad_l2_values_raise_invalid_argument_and_hide_passwords(store: str) -> None:
    for bad in ("redis://h:99999/0", "redis://h:1/zero", "redis://h:1/0?nope=1", "rediss://h:1",
                "unix://relative.sock", "postgres://u:pw@h/db", "memcached"):
        with pytest.raises(vmllm.InvalidArgumentError) as info:
            vmllm.VirtualMemory(store, l2=bad)
        assert "pw" not in str(info.value)
    with pytest.raises(vmllm.InvalidArgumentError, match="bad Redis URL") as info:
        vmllm.VirtualMemory(store, l2="redis://bob:hunter2@h:1/x")
    assert "hunter2" not in str(info.value)


def test_released_pages_live_in_redis_under_a_per_store_namespace(
        tmp_path: Path, redis_server: RedisProcess) -> None:
    r = redis_server.client()
    with vmllm.VirtualMemory(tmp_path / "a", l1_tokens=400, page_tokens=100,
                             l2=redis_server.url) as a, \
         vmllm.VirtualMemory(tmp_path / "b", l1_tokens=400, page_tokens=100,
                             l2=redis_server.url) as b:
        ids_a = _fill(a)
        ids_b = _fill(b)
        keys = sorted(k.decode() for k in r.keys("*"))
        assert len(keys) == len(ids_a) + len(ids_b)
        namespaces = {k.rsplit(":", 1)[0] for k in keys}
        assert len(namespaces) == 2  # One per store: the same page keys never collide.
        assert all(k.startswith("vmllm:") and "doc" not in k for k in keys)  # No user strings.
        before = _l2(a)["hits"]
        for page_id in ids_a:
            assert a.request_page(page_id, full=True) == a.read_page(page_id)
        assert _l2(a)["hits"] == before + len(ids_a)
        assert _l2(a)["errors"] == 0


def test_ttl_is_set_on_write_and_refreshed_on_read(
        store: str, redis_server: RedisProcess) -> None:
    r = redis_server.client()
    with vmllm.VirtualMemory(store, l1_tokens=400, page_tokens=100, l2=redis_server.url,
                             l2_ttl_seconds=300) as vm:
        ids = vm.ingest("doc", paragraphs(3))
        vm.request_page(ids[0], full=True)
        vm.release_page(ids[0], compress=False)
        (key,) = r.keys("*")
        assert 0 < r.ttl(key) <= 300
        r.expire(key, 5)
        vm.request_page(ids[0], full=True)
        assert r.ttl(key) > 200  # The read put the full TTL back (GETEX).


def test_redis_url_environment_variable_selects_redis_and_memory_overrides_it(
        tmp_path: Path, redis_server: RedisProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    r = redis_server.client()
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    with vmllm.VirtualMemory(tmp_path / "env", l1_tokens=400, page_tokens=100) as vm:
        _fill(vm, 3)
    assert len(r.keys("*")) > 0
    r.flushall()
    with vmllm.VirtualMemory(tmp_path / "mem", l1_tokens=400, page_tokens=100,
                             l2="memory") as vm:
        _fill(vm, 3)
        assert _l2(vm)["pages"] > 0
    assert r.keys("*") == []


def test_password_and_acl_user_authenticate(
        tmp_path: Path, redis_auth_server: RedisProcess,
        caplog: pytest.LogCaptureFixture) -> None:
    port = redis_auth_server.port
    for i, creds in enumerate((":s3cret", "alice:wonderland")):
        with vmllm.VirtualMemory(tmp_path / str(i), l1_tokens=400, page_tokens=100,
                                 l2=f"redis://{creds}@127.0.0.1:{port}/0") as vm:
            ids = _fill(vm, 3)
            vm.request_pages(ids, full=True)
            assert _l2(vm)["hits"] == len(ids)
            assert _l2(vm)["errors"] == 0
    caplog.set_level(logging.WARNING, logger="vmllm")
    with vmllm.VirtualMemory(tmp_path / "bad", l1_tokens=400, page_tokens=100,
                             l2=f"redis://alice:n0t-the-pass@127.0.0.1:{port}/0") as vm:
        ids = _fill(vm, 3)
        assert vm.request_pages(ids, full=True) == [vm.read_page(i) for i in ids]
        assert _l2(vm)["errors"] > 0 and _l2(vm)["hits"] == 0
    assert any("AUTH failed" in rec.getMessage() for rec in caplog.records)
    assert not any("n0t-the-pass" in rec.getMessage() for rec in caplog.records)


def test_unix_socket_and_database_number(
        store: str, redis_unix_server: RedisProcess) -> None:
    with vmllm.VirtualMemory(store, l1_tokens=400, page_tokens=100,
                             l2=f"unix://{redis_unix_server.unix_socket}?db=3") as vm:
        ids = _fill(vm, 3)
        vm.request_pages(ids, full=True)
        assert _l2(vm)["hits"] == len(ids)
    assert redis_unix_server.client(db=3).dbsize() == len(ids)
    assert redis_unix_server.client(db=0).dbsize() == 0


def test_unreachable_redis_at_start_degrades_with_a_warning(
        store: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="vmllm")
    url = f"redis://127.0.0.1:{free_port()}/0?connect_timeout=0.2"
    with vmllm.VirtualMemory(store, l1_tokens=2000, page_tokens=100, l2=url) as vm:
        assert any(rec.name == "vmllm" and "unavailable" in rec.getMessage()
                   for rec in caplog.records)
        ids = _fill(vm, 6)
        assert vm.request_pages(ids, full=True) == [vm.read_page(i) for i in ids]
        stats = vm.stats()["tiers"]
        assert stats["L2"]["errors"] >= len(ids) and stats["L2"]["hits"] == 0
        assert stats["L3"]["hits"] == len(ids)


def test_killed_redis_degrades_then_is_used_again_after_restart(
        store: str, redis_server: RedisProcess, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="vmllm")
    with vmllm.VirtualMemory(store, l1_tokens=2000, page_tokens=100,
                             l2=redis_server.url) as vm:
        ids = _fill(vm, 12)
        redis_server.kill()
        calls = 0
        for page_id in ids:  # Every page still readable, one call at a time.
            assert vm.request_page(page_id, full=True) == vm.read_page(page_id)
            calls += 1
        for page_id in vm.active_pages():
            vm.release_page(page_id, compress=False)  # Writes skip L2 (and count errors).
        stats = vm.stats()["tiers"]
        assert stats["L2"]["hits"] == 0
        assert stats["L2"]["errors"] >= calls
        assert stats["L3"]["hits"] == calls  # The swap copies answered; L4 was not needed.
        down = [r for r in caplog.records if "unavailable" in r.getMessage()]
        assert len(down) == 1  # One warning for the outage, not one per call.

        redis_server.start()  # Same port, empty (no persistence).
        time.sleep(0.1)  # Past the URL's 50 ms reconnect back-off.
        _fill(vm, 12)
        hits_before = _l2(vm)["hits"]
        vm.request_pages(ids, full=True)
        assert _l2(vm)["hits"] == hits_before + len(ids)
        assert any("reachable again" in r.getMessage() for r in caplog.records)


_RECEIVER = """
import json, sys, vmllm
store, url, snapshot_file = sys.argv[1:4]
with vmllm.VirtualMemory(store, l1_tokens=400, page_tokens=100, l2=url) as vm:
    state = vm.receive_hand_off(open(snapshot_file).read())
    texts = {p: vm.request_page(p) for p in vm.active_pages()}
    ok = all(texts[p] == vm.read_page(p) for p in texts)
    print(json.dumps({"state": state, "active": vm.active_pages(), "same_text": ok,
                      "tiers": vm.stats()["tiers"]}))
"""


def test_hand_off_between_processes_restores_pages_from_redis(
        store: str, tmp_path: Path, redis_server: RedisProcess,
        python_env: dict[str, str]) -> None:
    with vmllm.VirtualMemory(store, l1_tokens=400, page_tokens=100,
                             l2=redis_server.url) as sender:
        ids = sender.ingest("doc", paragraphs(12))
        for page_id in ids[2:6]:
            sender.request_page(page_id, full=True)
        active = sender.active_pages()
        snapshot = sender.hand_off({"phase": "analysis"})
        for page_id in active:  # Agent A steps away: its pages go to the shared L2.
            sender.release_page(page_id, compress=False)
    (tmp_path / "snapshot.json").write_text(snapshot)
    out = subprocess.run(
        [sys.executable, "-c", _RECEIVER, store, redis_server.url,
         str(tmp_path / "snapshot.json")],
        env=python_env, capture_output=True, text=True, timeout=120, check=True)
    result = json.loads(out.stdout)
    assert result["state"] == {"phase": "analysis"}
    assert result["active"] == active and result["same_text"]
    tiers = result["tiers"]
    assert tiers["L2"]["hits"] == len(active)
    assert tiers["L3"]["hits"] == 0 and tiers["L4"]["hits"] == 0  # Nothing read from disk.


def test_request_pages_returns_each_page_in_order_with_the_embedded_l2(
        vm: vmllm.VirtualMemory) -> None:
    ids = vm.ingest("doc", paragraphs(4))
    texts = vm.request_pages(ids[:3], full=True)
    assert texts == [vm.read_page(i) for i in ids[:3]]
    assert vm.active_pages() == ids[:3]
    with pytest.raises(vmllm.InvalidArgumentError):
        vm.request_pages("doc::chunk_0000")  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        vm.request_pages(["no such page"])


def test_benchmark_smoke_run(python_env: dict[str, str]) -> None:
    """The Redis benchmark runs end to end (tiny sizes: a smoke run, not a measurement)."""
    if shutil.which("redis-benchmark") is None:
        pytest.skip("redis-benchmark is not installed")
    script = Path(__file__).parent / "bench" / "bench_redis.py"
    out = subprocess.run([sys.executable, str(script), "--pages", "40", "--repeat", "1"],
                         env=python_env, capture_output=True, text=True, timeout=300,
                         check=True).stdout
    rows = [line for line in out.splitlines() if line.startswith("| ") and "×" in line]
    assert len(rows) == 5 and "request_pages" in rows[0] and rows[0].endswith("1.00× |")
