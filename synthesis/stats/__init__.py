"""Statistics: pure numerics (effect sizes, meta-analysis, synthesis without meta-analysis)."""
