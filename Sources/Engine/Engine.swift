// Engine: objectives, the search loop, the worker pool, resume and export (DESIGN.md §2, §4).
// Built by issue 6; the module exists now so the package layout and its import rules are fixed.
