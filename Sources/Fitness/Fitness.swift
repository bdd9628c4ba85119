// Fitness: task kinds, task files and per-task scores (DESIGN.md §2, §3).
// Built by issue 4; the module exists now so the package layout and its import rules are fixed.
