# Reference values for synthesis without meta-analysis (tests/test_swim.py):
# combined p values from metap (sumz, sumlog), the sign test from base R's binom.test
# and the Wilson interval from base R's prop.test(correct = FALSE).
#
# Run from the repository root:
#     Rscript tests/reference/swim_reference.R
# writes tests/reference/swim_reference.json. R is never needed to run the tests.
#
# Each case gives two-sided p values, directions (+1 favours the intervention, -1 the
# comparator, 0 no difference) and n. The one-sided p in the favourable direction is
# p/2 for +1, 1 - p/2 for -1 and 0.5 for 0 (a result of no difference taken as exactly
# null), as synthesis.stats.from_p.one_sided computes it. Ties (direction 0) are left
# out of the sign test and the proportion.

suppressPackageStartupMessages({
  library(metap)
  library(jsonlite)
})

one_sided <- function(p, d) ifelse(d > 0, p / 2, ifelse(d < 0, 1 - p / 2, 0.5))

cases <- list(
  list(name = "four_mixed", p = c(0.01, 0.20, 0.04, 0.60), direction = c(1, 1, 1, -1),
       n = c(40, 100, 25, 60)),
  list(name = "with_null", p = c(0.03, 0.001, 0.5, 0.8, 0.12), direction = c(1, 1, 0, -1, 1),
       n = c(93, 21, 30, 48, 250)),
  list(name = "all_favourable_small_p", p = c(1e-8, 2.5e-5, 0.0049), direction = c(1, 1, 1),
       n = c(1000, 400, 80)),
  list(name = "mostly_against", p = c(0.02, 0.3, 0.07, 0.9, 0.45, 0.01),
       direction = c(-1, -1, -1, 1, -1, 1), n = c(12, 45, 33, 18, 60, 200)),
  list(name = "p_one_and_tie", p = c(1, 0.64, 0.05), direction = c(1, 0, -1),
       n = c(10, 20, 30))
)

out <- lapply(cases, function(cs) {
  p1 <- one_sided(cs$p, cs$direction)
  pos <- sum(cs$direction > 0)
  neg <- sum(cs$direction < 0)
  m <- pos + neg
  bt <- binom.test(pos, m, p = 0.5, alternative = "two.sided")
  pt <- suppressWarnings(prop.test(pos, m, correct = FALSE, conf.level = 0.95))
  sz <- sumz(p1)
  szw <- sumz(p1, weights = sqrt(cs$n))
  sl <- sumlog(p1)
  list(
    name = cs$name, p = cs$p, direction = cs$direction, n = cs$n, p_one_sided = p1,
    calls = c(
      sprintf("binom.test(%d, %d, p = 0.5, alternative = 'two.sided')", pos, m),
      sprintf("prop.test(%d, %d, correct = FALSE, conf.level = 0.95)$conf.int", pos, m),
      "sumz(p_one_sided)", "sumz(p_one_sided, weights = sqrt(n))", "sumlog(p_one_sided)"
    ),
    expected = list(
      k = length(cs$p), positive = pos, negative = neg, null = sum(cs$direction == 0),
      prop_positive = pos / m,
      prop_ci_lb = pt$conf.int[1], prop_ci_ub = pt$conf.int[2],
      sign_test_p = bt$p.value,
      stouffer_z = as.numeric(sz$z), stouffer_p = as.numeric(sz$p),
      stouffer_weighted_z = as.numeric(szw$z), stouffer_weighted_p = as.numeric(szw$p),
      fisher_chi2 = as.numeric(sl$chisq), fisher_df = as.numeric(sl$df),
      fisher_p = as.numeric(sl$p)
    )
  )
})

doc <- list(
  source = list(
    script = "tests/reference/swim_reference.R",
    R_version = R.version.string,
    metap_version = as.character(packageVersion("metap")),
    jsonlite_version = as.character(packageVersion("jsonlite")),
    note = "one-sided p = p/2 (direction +1), 1 - p/2 (-1), 0.5 (0); ties left out of the sign test"
  ),
  cases = out
)
writeLines(toJSON(doc, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "tests/reference/swim_reference.json")
