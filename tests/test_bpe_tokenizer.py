"""The exact BPE tokenizers against tiktoken itself (rank files from the `litellm` package)."""
from __future__ import annotations

import glob
import json
import logging
import os
import sysconfig
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vmllm
from vmllm import _core, tokenizers
from vmllm.errors import InvalidArgumentError, PageNotFoundError

DIRS = tokenizers.rank_file_dirs()
os.environ.setdefault("TIKTOKEN_CACHE_DIR", DIRS[0] if DIRS else "")
import tiktoken  # noqa: E402  (reads TIKTOKEN_CACHE_DIR when an encoding is first loaded)

ENCODINGS = ["cl100k_base", "o200k_base"]
DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module", params=ENCODINGS)
def pair(request: pytest.FixtureRequest) -> tuple[_core.BpeTokenizer, tiktoken.Encoding]:
    return tokenizers.get_tokenizer(request.param), tiktoken.get_encoding(request.param)


def assert_same(ours: _core.BpeTokenizer, ref: tiktoken.Encoding, text: str) -> None:
    ids = ref.encode_ordinary(text)
    assert ours.encode(text) == ids
    assert ours.count(text) == len(ids)


def test_litellm_ships_both_rank_files() -> None:
    for name in ENCODINGS:
        assert os.path.isfile(_core.find_bpe_rank_file(name, DIRS))


def test_whole_standard_library_matches_tiktoken(pair) -> None:
    ours, ref = pair
    root = sysconfig.get_paths()["stdlib"]
    files = sorted(f for f in glob.glob(root + "/**/*.py", recursive=True)
                   if "site-packages" not in f)
    assert len(files) > 1000
    mismatched = []
    total = 0
    for f in files:
        text = Path(f).read_bytes().decode("utf-8", "replace")
        ids = ref.encode_ordinary(text)
        total += len(ids)
        if ours.encode(text) != ids or ours.count(text) != len(ids):
            mismatched.append(f)
    assert mismatched == []
    assert total > 5_000_000


def trace_texts() -> list[str]:
    texts = []
    with open(DATA / "traces" / "tau-bench-gpt-4o-airline.json", encoding="utf-8") as f:
        for session in json.load(f):
            texts.extend(m["content"] for m in session["traj"] if m.get("content"))
    for path in sorted((DATA / "traces" / "swe-agent").glob("*.traj")):
        with open(path, encoding="utf-8") as f:
            traj = json.load(f)
        for m in traj.get("history", []):
            content = m.get("content")
            if isinstance(content, list):
                content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
            if content:
                texts.append(content)
        for step in traj.get("trajectory", []):
            texts.extend(step.get(k) or "" for k in ("action", "observation", "thought"))
    return texts


def test_every_trace_message_matches_tiktoken(pair) -> None:
    ours, ref = pair
    texts = trace_texts()
    assert len(texts) > 4000
    bad = [t[:80] for t in texts if ours.encode(t) != ref.encode_ordinary(t)]
    assert bad == []


@pytest.mark.parametrize("context", ["a{}'s", "1{}2 A{}a", "x'{}{} "])
def test_every_code_point_matches_tiktoken(pair, context: str) -> None:
    ours, ref = pair
    # Every code point of planes 0-3 and 14 (all assigned characters live there); the rest
    # (unassigned and private use) sampled.
    cps = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF and (
        c < 0x40000 or 0xE0000 <= c < 0xE1000 or c % 97 == 0)]
    if context.startswith("x'"):  # Case folding after an apostrophe: only the BMP folds to ASCII.
        cps = [c for c in cps if c < 0x10000]
    for k in range(0, len(cps), 8192):
        text = "".join(context.format(*[chr(c)] * context.count("{}")) for c in cps[k:k + 8192])
        assert ours.encode(text) == ref.encode_ordinary(text), hex(cps[k])


SAMPLES = [
    "I'm sure they'LL say we've ſ 'S 'Re 'd'", "HTTPServer getURL XMLHttpRequest ÉCOLE éCole",
    "日本語のテキストと中文 😀👍🏽🏳️‍🌈", "1234567 3.14159 ٣٤٥ ¼½", " " * 300 + "x", "\n \n\t\r\n  ",
    "x" * 5000, "ab" * 3000, "e\u0301\u0302x \u0301a", "<|endoftext|> <|fim_prefix|>",
    "foo//bar\n/\n// baz", "a\u2003\u2003b\u3000c", "   ",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_hand_picked_edge_cases_match_tiktoken(pair, text: str) -> None:
    assert_same(*pair, text)


def test_special_tokens_are_ordinary_text(pair) -> None:
    ours, ref = pair
    ids = ours.encode("a<|endoftext|>b")
    assert ref.eot_token not in ids
    assert ours.count("<|endoftext|>") > 1


PIECES = st.sampled_from([
    " ", "  ", "\n", "\r\n", "\t", "\u3000", "'s", "'LL", "'", "1", "12345", "٣", "a", "Ab",
    "HTTP", "hello", "é", "e\u0301", "日本", "テキスト", "😀", "👍🏽", "\u200d", "/", "//", "!!",
    "<|endoftext|>", "\ud800", "\udfff", "\ud83d\ude00", "\ufeff", "ǅ", "ʰ",
])
RUNS = st.builds(  # Long runs of whitespace, digits, letters and emoji, with a tail.
    lambda run, n, tail: run * n + tail,
    st.sampled_from([" ", "\n", "\t", " \n", "\r\n", "9", "12", "a", "Ab", "😀", "日", "\u3000"]),
    st.integers(1, 3000), st.lists(PIECES, max_size=3).map("".join))
TEXTS = st.one_of(
    RUNS,
    st.text(max_size=200),
    st.text(st.characters(codec=None), max_size=100),
    st.lists(PIECES, max_size=60).map("".join),
    st.lists(st.one_of(PIECES, st.text(max_size=5)), max_size=40).map("".join),
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS)
def test_generated_text_matches_tiktoken(text: str) -> None:
    for name in ENCODINGS:
        ours, ref = tokenizers.get_tokenizer(name), tiktoken.get_encoding(name)
        assert_same(ours, ref, text)


def test_lone_surrogates_are_replaced_as_tiktoken_does() -> None:
    ours = tokenizers.get_tokenizer("cl100k_base")
    assert ours.encode("a\ud800b") == ours.encode("a\ufffdb")
    assert ours.encode("\ud83d\ude00") == ours.encode("😀")  # A pair joins, as in UTF-16.


def test_unknown_encoding_is_rejected() -> None:
    with pytest.raises(InvalidArgumentError):
        tokenizers.get_tokenizer("p50k_base")
    with pytest.raises(InvalidArgumentError):
        _core.bpe_tokenizer("gpt2", "/nonexistent")


def test_missing_rank_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(PageNotFoundError):
        _core.bpe_tokenizer("cl100k_base", str(tmp_path / "missing"))


def test_malformed_and_truncated_rank_files_are_rejected(tmp_path: Path) -> None:
    real = Path(_core.find_bpe_rank_file("cl100k_base", DIRS)).read_text().splitlines()
    bad = tmp_path / "bad"
    bad.write_text("\n".join(real[:10] + ["not base64! 10"] + real[11:]) + "\n")
    with pytest.raises(InvalidArgumentError, match=":11:"):
        _core.bpe_tokenizer("cl100k_base", str(bad))
    short = tmp_path / "short"
    short.write_text("\n".join(real[:-5]) + "\n")
    with pytest.raises(InvalidArgumentError, match="truncated"):
        _core.bpe_tokenizer("cl100k_base", str(short))


def test_rank_file_found_through_vmllm_tokenizer_dir(tmp_path: Path, monkeypatch) -> None:
    src = _core.find_bpe_rank_file("o200k_base", DIRS)
    (tmp_path / "o200k_base.tiktoken").write_bytes(Path(src).read_bytes())
    monkeypatch.setenv("VMLLM_TOKENIZER_DIR", str(tmp_path))
    assert _core.find_bpe_rank_file("o200k_base") == str(tmp_path / "o200k_base.tiktoken")


def test_default_is_exact_cl100k(tmp_path: Path) -> None:
    ref = tiktoken.get_encoding("cl100k_base")
    text = Path(tokenizers.__file__).read_text() * 3
    with vmllm.VirtualMemory(str(tmp_path / "s"), l1_tokens=4000, page_tokens=300) as vm:
        ids = vm.ingest("doc.py", text)
        for page_id in ids:
            assert vm.page_table[page_id].tokens == len(ref.encode_ordinary(vm.read_page(page_id)))
            assert vm.page_table[page_id].tokens <= 300


def test_missing_rank_files_fall_back_to_approx_loudly_once(monkeypatch, caplog,
                                                            tmp_path: Path) -> None:
    # A broken install: the shipped files are gone and nothing else has them.
    monkeypatch.delenv("VMLLM_TOKENIZER_DIR", raising=False)
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR", raising=False)
    monkeypatch.setattr(tokenizers, "SHIPPED_RANK_DIR", str(tmp_path / "gone"))
    monkeypatch.setattr(tokenizers, "rank_file_dirs", lambda: [])
    monkeypatch.setattr(tokenizers, "_cache", {})
    monkeypatch.setattr(tokenizers, "_fallback_logged", False)
    with caplog.at_level(logging.WARNING, logger="vmllm"):
        with pytest.warns(RuntimeWarning, match="APPROXIMATELY") as warned:
            for i in range(2):
                tok, counter = tokenizers.resolve(None)
                assert tok.name == "approx" and counter is None
    assert len(warned) == 1
    assert len([r for r in caplog.records if "APPROXIMATELY" in r.getMessage()]) == 1
    with pytest.raises(PageNotFoundError):
        tokenizers.get_tokenizer("cl100k_base")


def test_approx_only_when_asked_for() -> None:
    assert tokenizers.resolve(None)[0].name == "cl100k_base"
    assert tokenizers.resolve("approx")[0].name == "approx"
