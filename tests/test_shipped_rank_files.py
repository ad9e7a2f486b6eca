"""Exact tokens out of the box: the rank files ship inside the package (issue 12)."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import vmllm
from vmllm import tokenizers

# SHA-256 of the rank files, computed from the copies in litellm 1.110.2
# (litellm/litellm_core_utils/tokenizers/<sha1 of the URL>) when they were copied into
# python/vmllm/rank_files/; they equal the `expected_hash` that tiktoken 0.14's
# tiktoken_ext/openai_public.py checks for its own downloads of the same files.
EXPECTED_SHA256 = {
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
}

# len(tiktoken.get_encoding(name).encode_ordinary(text)), computed with tiktoken 0.14.
TEXTS = [
    "hello world",
    "The quick brown fox jumps over the lazy dog.",
    "def f(x):\n    return x ** 2  # squares\n",
    "Grüße, 世界! 🙂 naïve café — 12345 tokens?",
]
TIKTOKEN_COUNTS = {"cl100k_base": [2, 10, 14, 19], "o200k_base": [2, 10, 14, 16]}
FOX_IDS = {"cl100k_base": [791, 4062, 14198, 39935, 35308, 927, 279, 16053, 5679, 13],
           "o200k_base": [976, 4853, 19705, 68347, 65613, 1072, 290, 29082, 6446, 13]}


@pytest.mark.parametrize("name", sorted(EXPECTED_SHA256))
def test_shipped_rank_files_are_tiktokens_files(name: str) -> None:
    path = Path(tokenizers.SHIPPED_RANK_DIR) / f"{name}.tiktoken"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == EXPECTED_SHA256[name]


def test_rank_files_are_read_from_the_installed_package_with_a_notice() -> None:
    # In CI vmllm is pip-installed, so this proves the wheel carries the files.
    package = Path(vmllm.__file__).resolve().parent
    for name in EXPECTED_SHA256:
        assert Path(tokenizers.find_rank_file(name)).resolve().parent == package / "rank_files"
    notice = (package / "rank_files" / "NOTICE").read_text()
    assert "MIT License" in notice and "OpenAI" in notice and "tiktoken" in notice


def test_shipped_files_win_over_environment_folders(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("VMLLM_TOKENIZER_DIR", str(tmp_path))
    (tmp_path / "cl100k_base.tiktoken").write_text("not a rank file\n")
    assert Path(tokenizers.find_rank_file("cl100k_base")).parent == Path(
        tokenizers.SHIPPED_RANK_DIR)


@pytest.mark.parametrize("fresh_venv", [False, True], ids=["litellm-hidden", "fresh-venv"])
def test_default_tokenizer_is_exact_without_litellm_or_environment(
        python_env, tmp_path: Path, fresh_venv: bool) -> None:
    """A fresh install: litellm cannot be imported, no rank-file folder is set, no network.
    With ``fresh_venv``, a new virtual environment holds nothing but the installed vmllm
    package, as a plain ``pip install vmllm`` would leave it."""
    env = {k: v for k, v in python_env.items()
           if k not in ("VMLLM_TOKENIZER_DIR", "TIKTOKEN_CACHE_DIR")}
    python = sys.executable
    if fresh_venv:
        import shutil
        import venv
        venv.create(tmp_path / "venv", with_pip=False)
        python = str(tmp_path / "venv" / "bin" / "python")
        site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()"
                               "['purelib'])"], capture_output=True, text=True, timeout=60,
                              check=True).stdout.strip()
        shutil.copytree(Path(vmllm.__file__).parent, Path(site) / "vmllm",
                        ignore=shutil.ignore_patterns("__pycache__"))
        env = {k: v for k, v in env.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    script = textwrap.dedent(f"""
        import json, sys, warnings
        sys.modules["litellm"] = None  # import litellm now fails; find_spec finds nothing
        warnings.simplefilter("error")  # a fallback warning fails the child
        import vmllm
        from vmllm import tokenizers
        assert tokenizers.rank_file_dirs() == []
        tok, counter = tokenizers.resolve(None)
        texts = {TEXTS!r}
        out = {{"default": tok.name, "counter": counter is None,
                "counts": {{}}, "fox": {{}}, "file": vmllm.__file__}}
        for name in ("cl100k_base", "o200k_base"):
            t = tokenizers.get_tokenizer(name)
            out["counts"][name] = [t.count(x) for x in texts]
            out["fox"][name] = list(t.encode(texts[1]))
        with vmllm.VirtualMemory(l1_tokens=1000, page_tokens=200) as vm:
            (page,) = vm.ingest("doc.txt", texts[3])
            out["page_tokens"] = vm.page_table[page].tokens
        print(json.dumps(out))
    """)
    done = subprocess.run([python, "-c", script], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "approximately" not in done.stderr.lower()
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["default"] == "cl100k_base" and out["counter"]
    assert out["file"].startswith(str(tmp_path)) == fresh_venv
    assert out["counts"] == TIKTOKEN_COUNTS
    assert out["fox"] == FOX_IDS
    assert out["page_tokens"] == TIKTOKEN_COUNTS["cl100k_base"][3]
