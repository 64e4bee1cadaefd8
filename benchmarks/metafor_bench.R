# Times metafor's rma() on the data written by benchmarks/run.py; prints one JSON object.
#
# Usage: Rscript benchmarks/metafor_bench.R DATA_DIR REPEATS
#   DATA_DIR holds single_k<k>.csv (columns yi, vi) and batch.csv (columns group, yi, vi).
# Medians over REPEATS of system.time()[["elapsed"]], in milliseconds (for k <= 100 the
# mean of 20 back-to-back fits per repeat: system.time() resolves 1 ms). The k = 1000 fit
# and the batch loop take seconds each, so they are repeated at most 3 times. τ² is
# also reported from a fit with a tight control (threshold 1e-12, as the toolkit) so
# that run.py can check the agreement.

suppressPackageStartupMessages(library(metafor))

args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]
repeats <- as.integer(args[2])

# median over n repeats of the mean time of `inner` back-to-back calls
med_ms <- function(expr_fun, n, inner = 1) {
  times <- vapply(seq_len(n), function(i) {
    system.time(for (j in seq_len(inner)) expr_fun())[["elapsed"]] / inner
  }, numeric(1))
  1000 * median(times)
}

out <- list(metafor_version = as.character(packageVersion("metafor")),
            R_version = R.version.string)
tight <- list(threshold = 1e-12, maxiter = 1000)
for (k in c(10, 100, 1000)) {
  d <- read.csv(file.path(dir, sprintf("single_k%d.csv", k)))
  n <- if (k >= 1000) min(repeats, 3) else repeats
  for (m in c("REML", "DL")) {
    rma(d$yi, d$vi, method = m)  # warm-up
    out[[sprintf("metafor_%s_k%d_ms", tolower(m), k)]] <-
      med_ms(function() rma(d$yi, d$vi, method = m), n, inner = if (k <= 100) 20 else 1)
  }
  out[[sprintf("metafor_tau2_reml_k%d", k)]] <- rma(d$yi, d$vi, method = "REML", control = tight)$tau2
}

b <- read.csv(file.path(dir, "batch.csv"))
groups <- split(b[, c("yi", "vi")], b$group)
# rma() stops with an error when Fisher scoring does not converge: a simulation loop
# has to catch it, so the loop times tryCatch(rma(...)) and counts the failures.
safe_tau2 <- function(g, m, control = list()) {
  tryCatch(rma(g$yi, g$vi, method = m, control = control)$tau2, error = function(e) NA_real_)
}
for (m in c("REML", "DL")) {
  fit_all <- function() lapply(groups, function(g) safe_tau2(g, m))
  out[[sprintf("metafor_batch1000_k20_%s_ms", tolower(m))]] <- med_ms(fit_all, min(repeats, 3))
  out[[sprintf("metafor_batch1000_k20_%s_failed", tolower(m))]] <-
    sum(is.na(vapply(groups, function(g) safe_tau2(g, m), numeric(1))))
}
tau2 <- vapply(groups, function(g) safe_tau2(g, "REML", tight), numeric(1))
out[["metafor_batch_tau2_reml"]] <- unname(tau2)

fmt <- function(x) {
  if (is.character(x)) return(sprintf("\"%s\"", x))
  if (length(x) > 1) {
    return(paste0("[", paste(ifelse(is.na(x), "null", sprintf("%.17g", x)), collapse = ","), "]"))
  }
  sprintf("%.17g", x)
}
cat("{", paste(sprintf("\"%s\": %s", names(out), vapply(out, fmt, character(1))),
                collapse = ", "), "}\n", sep = "")
