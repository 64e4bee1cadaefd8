# Reference values for tests/test_robust.py: cluster-robust inference of rma() fits with
# metafor's robust(), both with clubSandwich = TRUE (CR2 variance, Satterthwaite t tests
# and confidence intervals, HTZ Wald test of the moderators) and without it
# (adjust = TRUE: CR1, df = clusters - p; adjust = FALSE: CR0).
#
# Run from the repository root:
#     Rscript tests/reference/robust_reference.R
# writes tests/reference/robust_reference.json (jsonlite, 17 significant digits;
# NA as null). R is never needed to run the tests.
#
# Datasets (all bundled with metafor/metadat, except the made-up "unbalanced" one):
#   bcg         dat.bcg log risk ratios, cluster = allocation (3 clusters of 2-7)
#   kalaian     dat.kalaian1996 SAT coaching, cluster = study (1 or 2 effects: verbal, math)
#   assink      dat.assink2016 delinquency, cluster = study (17 studies, 1-22 effects),
#               including a 3-level factor moderator (Wald test of 2 coefficients)
#   berkey      dat.berkey1998 periodontal trials, cluster = trial (5 trials x 2 outcomes)
#   unbalanced  made up here: clusters of 6, 3, 2, 1, 1 and 1 effects, one row with a
#               missing yi (excluded by rma; its cluster entry is dropped as in metafor)

suppressPackageStartupMessages({
  library(metafor)
  library(clubSandwich)
  library(jsonlite)
})

ctrl <- list(threshold = 1e-12, maxiter = 1000, tol = 1e-12)

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
kal <- dat.kalaian1996
ass <- dat.assink2016
ber <- dat.berkey1998

set.seed(20150601)
unb <- data.frame(
  cl = c(rep("A", 6), rep("B", 3), rep("C", 2), "D", "E", "F", "B"),
  x = round(runif(15, 0, 10), 1),
  vi = round(runif(15, 0.01, 0.2), 4)
)
unb$yi <- round(0.2 + 0.03 * unb$x + rnorm(15, 0, sqrt(unb$vi + 0.02)), 4)
unb$yi[15] <- NA  # excluded by rma(); robust() drops its cluster entry

# One robust() call as a list of numbers (coefficient table and moderator test); I()
# keeps length-1 vectors as JSON arrays.
robust_out <- function(r) {
  list(
    vbest = r$vbest,
    b = I(as.numeric(r$beta)), se = I(as.numeric(r$se)), tval = I(as.numeric(r$zval)),
    df = I(as.numeric(r$dfs)), pval = I(as.numeric(r$pval)),
    ci_lb = I(as.numeric(r$ci.lb)), ci_ub = I(as.numeric(r$ci.ub)),
    QM = as.numeric(r$QM), QMdf = I(as.numeric(r$QMdf)), QMp = as.numeric(r$QMp),
    vb = unname(unclass(r$vb)),
    n_clusters = r$n, cluster_sizes = I(as.numeric(r$tcl))
  )
}

make_case <- function(name, data, cluster, method, mods = NULL, test = "z", note = "") {
  if (is.null(mods)) {
    res <- rma(yi, vi, data = data, method = method, test = test, control = ctrl)
    call <- sprintf("rma(yi, vi, data=%s, method='%s', test='%s', control=ctrl)",
                    name, method, test)
    X <- NULL
  } else {
    res <- rma(yi, vi, mods = mods, data = data, method = method, test = test, control = ctrl)
    call <- sprintf("rma(yi, vi, mods=%s, data=%s, method='%s', test='%s', control=ctrl)",
                    deparse(mods), name, method, test)
    mm <- model.matrix(mods, model.frame(mods, data = data, na.action = na.pass))
    X <- lapply(seq_len(ncol(mm) - 1), function(j) as.numeric(mm[, j + 1]))
    names(X) <- colnames(mm)[-1]
  }
  cl <- data[[cluster]]
  list(
    name = paste(name, method, if (is.null(mods)) "intercept" else "mods", test, sep = "_"),
    call = call,
    cluster_call = sprintf("robust(res, cluster=%s$%s, ...)", name, cluster),
    note = note,
    method = method, test = test,
    data = list(yi = as.numeric(data$yi), vi = as.numeric(data$vi), X = X,
                cluster = as.character(cl)),
    names = I(rownames(res$beta)),
    tau2 = res$tau2,
    CR2 = robust_out(robust(res, cluster = cl, clubSandwich = TRUE)),
    CR1 = robust_out(robust(res, cluster = cl, adjust = TRUE)),
    CR0 = robust_out(robust(res, cluster = cl, adjust = FALSE))
  )
}

cases <- list(
  make_case("bcg", bcg, "alloc", "REML"),
  make_case("bcg", bcg, "alloc", "DL"),
  make_case("bcg", bcg, "alloc", "REML", mods = ~ablat),
  make_case("bcg", bcg, "alloc", "DL", mods = ~ablat),
  make_case("bcg", bcg, "alloc", "REML", test = "knha",
            note = paste("metafor's robust() without clubSandwich uses the Knapp-Hartung",
                         "vb (s2w (X'WX)^-1) as bread, so its CR0/CR1 variance is s2w^2",
                         "times the one of the same model fitted with test='z';",
                         "clubSandwich's CR2 does not depend on test")),
  make_case("kalaian", kal, "study", "REML"),
  make_case("kalaian", kal, "study", "EE"),
  make_case("kalaian", kal, "study", "REML", mods = ~outcome),
  make_case("kalaian", kal, "study", "DL", mods = ~ outcome + hrs),
  make_case("assink", ass, "study", "REML"),
  make_case("assink", ass, "study", "REML", mods = ~deltype),
  make_case("assink", ass, "study", "DL", mods = ~ deltype + year),
  make_case("berkey", ber, "trial", "REML", mods = ~outcome),
  make_case("berkey", ber, "trial", "DL"),
  make_case("unbalanced", unb, "cl", "REML"),
  make_case("unbalanced", unb, "cl", "DL", mods = ~x),
  make_case("unbalanced", unb, "cl", "REML", mods = ~x)
)

out <- list(
  R = R.version.string,
  metafor = as.character(packageVersion("metafor")),
  clubSandwich = as.character(packageVersion("clubSandwich")),
  control = ctrl,
  cases = cases
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null",
                  null = "null"),
           "tests/reference/robust_reference.json")
