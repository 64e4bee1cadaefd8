# Reference values from metafor for tests/test_api_reference.py: influence(), confint()
# (tau^2, tau, I^2, H^2), predict(transf=exp) and an rma() fit with metafor's default
# control (threshold 1e-5, maxiter 100).
#
# Run from the repository root:
#     Rscript tests/reference/influence_reference.R
# writes tests/reference/influence_reference.json (jsonlite, 17 significant digits;
# NA as null). R is never needed to run the tests.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

ctrl <- list(threshold = 1e-12, maxiter = 1000, tol = 1e-12)
dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)

dfbs_of <- function(res) {
  d <- unclass(dfbetas(res))
  setNames(lapply(seq_len(res$p), function(j) as.numeric(d[[j]])), names(d)[seq_len(res$p)])
}

infl_case <- function(name, call, res) {
  inf <- influence(res)
  list(
    name = name, call = call,
    rstudent = inf$inf$rstudent, dffits = inf$inf$dffits, cook_d = inf$inf$cook.d,
    cov_r = inf$inf$cov.r, tau2_del = inf$inf$tau2.del, QE_del = inf$inf$QE.del,
    hat = inf$inf$hat, weight = inf$inf$weight, inf = inf$inf$inf,
    dfbs = dfbs_of(res)
  )
}

cases <- list(
  infl_case("bcg_REML_z", "influence(rma(yi, vi, data=dat, control=ctrl))",
            rma(yi, vi, data = dat, control = ctrl)),
  infl_case("bcg_DL_knha", "influence(rma(yi, vi, data=dat, method='DL', test='knha'))",
            rma(yi, vi, data = dat, method = "DL", test = "knha")),
  infl_case("bcg_REML_ablat", "influence(rma(yi, vi, mods=~ablat, data=dat, control=ctrl))",
            rma(yi, vi, mods = ~ablat, data = dat, control = ctrl))
)

res <- rma(yi, vi, data = dat, control = ctrl)
ci <- confint(res, control = list(tol = 1e-12, maxiter = 1000))
pr <- predict(res, transf = exp)
def <- rma(yi, vi, data = dat)  # metafor's default control
ml_def <- rma(yi, vi, data = dat, method = "ML")
eb_def <- rma(yi, vi, data = dat, method = "EB")

out <- list(
  metafor = as.character(packageVersion("metafor")),
  R = R.version.string,
  data = list(yi = as.numeric(dat$yi), vi = as.numeric(dat$vi), ablat = dat$ablat,
              slab = paste(dat$author, dat$year, sep = ", ")),
  control = ctrl,
  influence = cases,
  confint = list(call = "confint(rma(yi, vi, data=dat, control=ctrl))",
                 random = unclass(ci$random)),
  predict = list(call = "predict(rma(yi, vi, data=dat, control=ctrl), transf=exp)",
                 pred = pr$pred, ci_lb = pr$ci.lb, ci_ub = pr$ci.ub,
                 pi_lb = pr$pi.lb, pi_ub = pr$pi.ub),
  default_control = list(
    call = "rma(yi, vi, data=dat, method=m) with metafor's default control",
    REML = list(tau2 = def$tau2),
    ML = list(tau2 = ml_def$tau2),
    EB = list(tau2 = eb_def$tau2)
  )
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"),
           "tests/reference/influence_reference.json")
