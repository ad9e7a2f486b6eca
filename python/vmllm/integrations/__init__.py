"""Integrations with agent frameworks; each module needs its framework's extra.

* :mod:`vmllm.integrations.langchain` (``pip install vmllm[langchain]``): retriever, vector
  store, memory tools and ``VirtualMemoryMiddleware`` for ``create_agent``.
* :mod:`vmllm.integrations.llamaindex` (``pip install vmllm[llamaindex]``): a memory block and
  a retriever.
* :mod:`vmllm.integrations.scripted`: ``ScriptedChatModel``, a LangChain chat model that answers
  from a script, for offline notebooks and tests.
"""
