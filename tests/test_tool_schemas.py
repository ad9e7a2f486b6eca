"""The core's one registry of model-facing tools, seen from Python (issue 13)."""

import json

import pytest

import vmllm
from vmllm import _core
from vmllm.agent import MEMORY_TOOL_SPECS


@pytest.mark.parametrize("tool_set", ["stream", "memory", "documents"])
def test_both_formats_list_the_same_tools(tool_set):
    openai = json.loads(_core.tool_schemas(tool_set, "openai"))
    anthropic = json.loads(_core.tool_schemas(tool_set, "anthropic"))
    assert [t["function"]["name"] for t in openai] == [t["name"] for t in anthropic]
    assert [t["function"]["parameters"] for t in openai] == [t["input_schema"] for t in anthropic]


def test_the_agent_offers_the_registry_tools():
    assert MEMORY_TOOL_SPECS == json.loads(_core.tool_schemas("documents"))
    assert [t["function"]["name"] for t in MEMORY_TOOL_SPECS] == ["recall_page", "search_memory"]


def test_conversation_memory_offers_the_registry_tools():
    with vmllm.ConversationMemory(window_tokens=1000) as memory:
        assert memory.tools("anthropic") == json.loads(_core.tool_schemas("memory", "anthropic"))


def test_unknown_sets_and_formats_are_invalid_arguments():
    with pytest.raises(vmllm.InvalidArgumentError, match="tool set"):
        _core.tool_schemas("gemini", "openai")
    with pytest.raises(vmllm.InvalidArgumentError, match="format"):
        _core.tool_schemas("stream", "gemini")
