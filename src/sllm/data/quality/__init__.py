"""Quality selection for instruction data: AlpaGasus judging, LIMA-style diversity, near-duplicate
removal and a safety pass; each filter returns what it kept and what it removed, and why."""
