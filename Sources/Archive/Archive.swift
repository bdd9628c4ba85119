// Archive: the ArchiveStore protocol and its SQLite implementation (DESIGN.md §2, §3).
// Built by issue 6; the module exists now so the package layout and its import rules are fixed.
