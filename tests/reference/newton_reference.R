# Reference values for tests/test_meta.py::test_reml_converges_where_fisher_scoring_oscillates:
# a data set (made up by a random search, k = 11) on which metafor's Fisher scoring does not
# converge with its default control, and converges with half steps (stepadj = 0.5).
#
# Run from the repository root:
#     Rscript tests/reference/newton_reference.R
# writes tests/reference/newton_reference.json (jsonlite, 17 significant digits).
# R is never needed to run the tests.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

yi <- c(-0.362, 0.538, -0.688, -0.452, -0.914, 0.311, -1.051, 0.978, 2.22, -0.513, 0.907)
vi <- c(2.3457, 0.2814, 2.0113, 0.7777, 0.4934, 3.2687, 2.1149, 2.345, 3.3576, 2.5853, 2.6851)

default <- tryCatch(rma(yi, vi, method = "REML"), error = function(e) conditionMessage(e))
half <- rma(yi, vi, method = "REML", control = list(stepadj = 0.5, maxiter = 10000, threshold = 1e-14))

out <- list(
  metafor_version = as.character(packageVersion("metafor")),
  R_version = R.version.string,
  yi = yi,
  vi = vi,
  default_error = if (is.character(default)) default else NA,
  tau2 = half$tau2,
  beta = as.numeric(half$beta),
  se = half$se,
  ll = as.numeric(logLik(half))
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "tests/reference/newton_reference.json")
