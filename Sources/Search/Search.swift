// Search: search spaces, the genome ⇄ recipe codec and the optimizers (DESIGN.md §2).
// Built by issues 5 and 6; the module exists now so the package layout and its import rules are fixed.
