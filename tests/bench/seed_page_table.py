"""A faithful model of the seed's page table (seed 001), written for the benchmark.

What it keeps from the seed: entries are dataclasses in a dict keyed by page id, and every
registration, touch and tier update rewrites the whole table as one JSON file (the seed calls its
save method on each). Lookups read the dict and write nothing.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional


@dataclass
class SeedEntry:
    """One page's metadata, with the seed's fields."""

    page_id: str
    doc_id: str
    chunk_index: int
    token_count: int
    tier: str
    last_accessed: float
    access_count: int
    compressed: bool
    summary: Optional[str] = None
    embedding_id: Optional[str] = None
    storage_path: Optional[str] = None
    tags: list[str] = field(default_factory=list)


class SeedPageTable:
    """Dict of entries, persisted by rewriting a JSON file on every change."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, SeedEntry] = {}

    def register(self, doc_id: str, chunk_index: int, tokens: int, save: bool = True) -> str:
        """Adds a page in L4; ``save=False`` lets a benchmark fill a large table quickly."""
        page_id = f"{doc_id}::chunk_{chunk_index:04d}"
        self.entries[page_id] = SeedEntry(
            page_id, doc_id, chunk_index, tokens, "L4", time.time(), 0, False
        )
        if save:
            self.save()
        return page_id

    def get(self, page_id: str) -> Optional[SeedEntry]:
        """The entry, or None."""
        return self.entries.get(page_id)

    def touch(self, page_id: str) -> None:
        """Records an access and persists the table."""
        entry = self.entries.get(page_id)
        if entry is not None:
            entry.last_accessed = time.time()
            entry.access_count += 1
            self.save()

    def update_tier(self, page_id: str, tier: str) -> None:
        """Moves a page to ``tier`` and persists the table."""
        entry = self.entries.get(page_id)
        if entry is not None:
            entry.tier = tier
            self.save()

    def save(self) -> None:
        """Rewrites the whole JSON file."""
        data = {page_id: asdict(entry) for page_id, entry in self.entries.items()}
        self.path.write_text(json.dumps(data, indent=2))
