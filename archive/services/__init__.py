"""The archive's use cases, one module per family, and the rules and helpers they use.

No flask here: every door (JSON API, CLI, jobs, and later pages, IIIF, OAI) calls these."""
