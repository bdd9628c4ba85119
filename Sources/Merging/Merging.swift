// Merging: mergekit-compatible recipes, the merge methods and the Materializer (DESIGN.md §2, §3).
// Built by issue 3; the module exists now so the package layout and its import rules are fixed.
