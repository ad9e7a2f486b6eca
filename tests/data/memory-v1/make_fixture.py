"""Writes tests/data/memory-v1: a memory.db made by the release before conversations moved
into store.db (run with that release's vmllm on PYTHONPATH)."""
import json, os, shutil, sys
import vmllm

out = sys.argv[1]
shutil.rmtree(out, ignore_errors=True)
shared = vmllm.MemoryBlock(label="team", value="The team meets on Tuesdays.", block_id="shared/team")
with vmllm.ConversationMemory(out, window_tokens=600, system="You are a careful assistant.",
                              blocks=[{"label": "human", "value": "Name: Ada."}, shared]) as m:
    for i in range(24):
        m.append({"role": "user", "content": f"Note {i}: the orchard ladder number {i} is painted teal {i}."})
        m.append({"role": "assistant", "content": f"Noted ladder {i}."})
    m.archival_insert("The greenhouse key hangs behind the blue door.")
    m.archival_insert("Quince jam needs three hours on a low flame.")
    assert m.stats()["flushes"] >= 1, m.stats()
with vmllm.ConversationMemory(out, window_tokens=4000, agent_id="agent/two\tx", blocks=[shared]) as m:
    m.append({"role": "user", "content": "My bicycle is a green Gazelle."})
    m.archival_insert("The bicycle pump is in the shed.")
print(sorted(os.listdir(out)))
