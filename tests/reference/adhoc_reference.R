# Reference values for test = "adhoc" (Knapp & Hartung's ad hoc truncation, s2 >= 1).
# Run from the repository root: Rscript tests/reference/adhoc_reference.R
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
sets <- list(
  bcg = list(yi = as.numeric(dat$yi), vi = as.numeric(dat$vi)),
  # homogeneous: s2 < 1, so adhoc differs from knha and equals the z-width at least
  homogeneous = list(yi = c(0.10, 0.12, 0.09, 0.11, 0.13), vi = c(0.04, 0.05, 0.03, 0.06, 0.05)),
  two = list(yi = c(-0.30, -0.45), vi = c(0.02, 0.03))
)
out <- list()
for (name in names(sets)) {
  s <- sets[[name]]
  for (method in c("REML", "DL")) {
    for (test in c("z", "knha", "adhoc")) {
      fit <- rma(s$yi, s$vi, method = method, test = test)
      out[[length(out) + 1]] <- list(
        data = name, yi = s$yi, vi = s$vi, method = method, test = test,
        call = sprintf('rma(yi, vi, method = "%s", test = "%s")', method, test),
        estimate = as.numeric(fit$beta), se = fit$se, zval = fit$zval, pval = fit$pval,
        ci_lb = fit$ci.lb, ci_ub = fit$ci.ub, tau2 = fit$tau2)
    }
  }
}
res <- list(source = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                          script = "tests/reference/adhoc_reference.R"), cases = out)
writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "tests/reference/adhoc_reference.json")
