# Reference values from metafor for tests/test_meta_reference.py.
#
# Run from the repository root:
#     Rscript tests/reference/rma_reference.R
# writes tests/reference/rma_reference.json. R is never needed to run the tests.
#
# Every case records its name, the exact R call, the inputs (yi, vi and whatever
# else the call needs, after escalc) and metafor's outputs. Doubles are written
# with 17 significant digits (sprintf("%.17g")) so that they round-trip exactly;
# NA is written as null and non-finite values as the strings "Inf", "-Inf", "NaN".

suppressPackageStartupMessages({
  library(metafor)
})

# Tight control so that both sides solve the iterative estimators to the same root:
# threshold (Fisher scoring: ML, REML, EB), tol (uniroot: PM, and the ll0 check),
# maxiter. confint() gets its own uniroot tolerance.
ctrl <- list(threshold = 1e-12, maxiter = 1000, tol = 1e-12)
ci_ctrl <- list(tol = 1e-12, maxiter = 1000)

methods <- c("EE", "DL", "HE", "SJ", "PM", "ML", "REML", "EB")
tests <- c("z", "knha")

# ---------------------------------------------------------------- JSON writer ----
fmt_num <- function(v) {
  vapply(v, function(x) {
    if (is.na(x) && !is.nan(x)) return("null")
    if (is.nan(x)) return("\"NaN\"")
    if (is.infinite(x)) return(if (x > 0) "\"Inf\"" else "\"-Inf\"")
    sprintf("%.17g", x)
  }, character(1))
}

to_json <- function(x, ind = "") {
  nxt <- paste0(ind, "  ")
  if (is.null(x)) return("null")
  if (is.factor(x)) x <- as.character(x)
  if (is.list(x)) {
    if (length(x) == 0) return(if (is.null(names(x))) "[]" else "{}")
    vals <- vapply(x, to_json, character(1), ind = nxt)
    if (!is.null(names(x))) {
      keys <- vapply(names(x), function(n) as.character(jsonlite::toJSON(n, auto_unbox = TRUE)),
                     character(1))
      return(paste0("{\n", paste0(nxt, keys, ": ", vals, collapse = ",\n"), "\n", ind, "}"))
    }
    return(paste0("[\n", paste0(nxt, vals, collapse = ",\n"), "\n", ind, "]"))
  }
  scalar <- length(x) == 1 && !inherits(x, "AsIs")
  if (is.character(x)) {
    s <- vapply(x, function(e) if (is.na(e)) "null" else
      as.character(jsonlite::toJSON(e, auto_unbox = TRUE)), character(1))
  } else if (is.logical(x)) {
    s <- ifelse(is.na(x), "null", ifelse(x, "true", "false"))
  } else {
    s <- fmt_num(as.numeric(x))
  }
  if (scalar) return(unname(s))
  paste0("[", paste(s, collapse = ", "), "]")
}

arr <- function(x) I(unname(as.vector(x)))  # always an array in the JSON
num <- function(x) if (is.null(x) || length(x) == 0) NA_real_ else unname(x)

# ------------------------------------------------------------------ datasets ----
datasets <- list()
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
datasets$bcg <- list(yi = c(bcg$yi), vi = c(bcg$vi), measure = "RR",
                     slab = paste(bcg$author, bcg$year))
mol <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
datasets$molloy2014 <- list(yi = c(mol$yi), vi = c(mol$vi), measure = "ZCOR",
                            slab = paste(mol$authors, mol$year))
nor <- escalc(measure = "SMD", m1i = m1i, sd1i = sd1i, n1i = n1i,
              m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999)
datasets$normand1999 <- list(yi = c(nor$yi), vi = c(nor$vi), measure = "SMD",
                             slab = as.character(nor$source))
pri <- escalc(measure = "PLO", xi = xi, ni = ni, data = dat.pritz1997)
datasets$pritz1997 <- list(yi = c(pri$yi), vi = c(pri$vi), measure = "PLO",
                           slab = as.character(pri$authors))
hac <- dat.hackshaw1998
datasets$hackshaw1998 <- list(yi = hac$yi, vi = hac$vi, measure = "OR",
                              slab = paste(hac$author, hac$year))
rau <- dat.raudenbush1985
datasets$raudenbush1985 <- list(yi = rau$yi, vi = rau$vi, measure = "SMD",
                                slab = paste(rau$author, rau$year))
egg <- escalc(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.egger2001)
datasets$egger2001 <- list(yi = c(egg$yi), vi = c(egg$vi), measure = "OR",
                           slab = paste(egg$study, egg$year))

data_call <- c(
  bcg = 'escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)',
  molloy2014 = 'escalc(measure="ZCOR", ri=ri, ni=ni, data=dat.molloy2014)',
  normand1999 = 'escalc(measure="SMD", m1i=m1i, sd1i=sd1i, n1i=n1i, m2i=m2i, sd2i=sd2i, n2i=n2i, data=dat.normand1999)',
  pritz1997 = 'escalc(measure="PLO", xi=xi, ni=ni, data=dat.pritz1997)',
  hackshaw1998 = 'dat.hackshaw1998 (yi, vi as given)',
  raudenbush1985 = 'dat.raudenbush1985 (yi, vi as given)',
  egger2001 = 'escalc(measure="OR", ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat.egger2001)'
)

# ------------------------------------------------------------------- outputs ----
tau2_ci <- function(res) {
  if (res$method %in% c("EE", "FE") || res$k < 2) return(c(NA_real_, NA_real_))
  cf <- confint(res, control = ci_ctrl)
  c(cf$random["tau^2", "ci.lb"], cf$random["tau^2", "ci.ub"])
}

rma_out <- function(res) {
  pr <- predict(res)
  tci <- tau2_ci(res)
  list(k = res$k, method = res$method, test = res$test,
       estimate = num(c(res$beta)[1]), se = num(res$se[1]), zval = num(res$zval[1]),
       pval = num(res$pval[1]), ci_lb = num(res$ci.lb[1]), ci_ub = num(res$ci.ub[1]),
       pi_lb = num(pr$pi.lb[1]), pi_ub = num(pr$pi.ub[1]),
       tau2 = num(res$tau2), se_tau2 = num(res$se.tau2),
       tau2_ci_lb = tci[1], tau2_ci_ub = tci[2],
       I2 = num(res$I2), H2 = num(res$H2), QE = num(res$QE), QEp = num(res$QEp),
       df = num(res$ddf), weights = arr(weights(res)))
}

coef_out <- function(res) {
  tci <- tau2_ci(res)
  list(k = res$k, method = res$method, test = res$test,
       names = arr(rownames(res$beta)),
       b = arr(res$beta), se = arr(res$se), zval = arr(res$zval), pval = arr(res$pval),
       ci_lb = arr(res$ci.lb), ci_ub = arr(res$ci.ub),
       QM = num(res$QM), QMdf = arr(res$QMdf), QMp = num(res$QMp),
       tau2 = num(res$tau2), se_tau2 = num(res$se.tau2),
       tau2_ci_lb = tci[1], tau2_ci_ub = tci[2],
       I2 = num(res$I2), H2 = num(res$H2), QE = num(res$QE), QEp = num(res$QEp),
       df = num(res$ddf), weights = arr(weights(res)))
}

frame_out <- function(x) {
  # leave1out()/cumul() objects; metafor names the statistic tval under knha and the
  # p-value pvals in cumul(); normalise to zval/pval and ci_lb/ci_ub. EE fits have
  # no tau2 column.
  x <- as.data.frame(x)
  nm <- names(x)
  nm[nm == "tval"] <- "zval"
  nm[nm == "pvals"] <- "pval"
  nm <- sub(".", "_", nm, fixed = TRUE)
  names(x) <- nm
  lapply(as.list(x[, setdiff(names(x), "slab"), drop = FALSE]), arr)
}

cases <- list()
add <- function(name, kind, call, inputs, outputs) {
  if (!is.null(cases[[name]])) stop("duplicate case ", name)
  cases[[name]] <<- list(name = name, kind = kind, call = call, inputs = inputs,
                         outputs = outputs)
}

ctrl_str <- "control=list(threshold=1e-12, maxiter=1000, tol=1e-12)"
rma_call <- function(method, test, extra = "") {
  sprintf('rma(yi, vi%s, method="%s", test="%s", %s)', extra, method, test, ctrl_str)
}

# ------------------------------------------------ method x test grid (6 datasets) ----
grid_sets <- c("bcg", "molloy2014", "normand1999", "pritz1997", "hackshaw1998",
               "raudenbush1985")
for (ds in grid_sets) {
  d <- datasets[[ds]]
  for (m in methods) for (t in tests) {
    res <- suppressWarnings(rma(d$yi, d$vi, method = m, test = t, control = ctrl))
    add(sprintf("%s_%s_%s", ds, m, t), "rma",
        paste0("dat <- ", data_call[[ds]], "; ", rma_call(m, t)),
        list(yi = arr(d$yi), vi = arr(d$vi), method = m, test = t, level = 95),
        rma_out(res))
  }
}

# level other than 95
d <- datasets$bcg
res <- rma(d$yi, d$vi, method = "REML", level = 90, control = ctrl)
add("bcg_REML_z_level90", "rma",
    paste0("dat <- ", data_call[["bcg"]], "; ",
           'rma(yi, vi, method="REML", level=90, ', ctrl_str, ")"),
    list(yi = arr(d$yi), vi = arr(d$vi), method = "REML", test = "z", level = 90),
    rma_out(res))

# ---------------------------------------------------------------- edge cases ----
edge <- function(name, yi, vi, m, t, call) {
  res <- suppressWarnings(rma(yi, vi, method = m, test = t, control = ctrl))
  add(name, "rma", call,
      list(yi = arr(yi), vi = arr(vi), method = m, test = t, level = 95), rma_out(res))
}
d <- datasets$bcg
for (m in c("REML", "DL", "EE")) for (t in tests) {
  edge(sprintf("k1_%s_%s", m, t), d$yi[1], d$vi[1], m, t,
       paste0("dat <- ", data_call[["bcg"]], "; ",
              sprintf('rma(yi[1], vi[1], method="%s", test="%s", %s)', m, t, ctrl_str)))
}
for (m in c("REML", "ML", "DL", "PM", "EB", "SJ", "HE", "EE")) for (t in tests) {
  edge(sprintf("k2_%s_%s", m, t), d$yi[1:2], d$vi[1:2], m, t,
       paste0("dat <- ", data_call[["bcg"]], "; ",
              sprintf('rma(yi[1:2], vi[1:2], method="%s", test="%s", %s)', m, t, ctrl_str)))
}
same_y <- rep(0.5, 5)
same_v <- c(0.1, 0.2, 0.05, 0.3, 0.15)
for (m in c("REML", "DL", "PM", "EE")) for (t in tests) {
  edge(sprintf("identical_%s_%s", m, t), same_y, same_v, m, t,
       sprintf('rma(rep(0.5, 5), c(0.1, 0.2, 0.05, 0.3, 0.15), method="%s", test="%s", %s)',
               m, t, ctrl_str))
}
na_y <- d$yi
na_y[3] <- NA
for (t in tests) {
  res <- suppressWarnings(rma(na_y, d$vi, method = "REML", test = t, control = ctrl))
  add(sprintf("nan_row_REML_%s", t), "rma",
      paste0("dat <- ", data_call[["bcg"]], "; yi[3] <- NA; ",
             sprintf('rma(yi, vi, method="REML", test="%s", %s)', t, ctrl_str)),
      list(yi = arr(na_y), vi = arr(d$vi), method = "REML", test = t, level = 95),
      c(rma_out(res), list(k_excluded = sum(!res$not.na))))
}

# ---------------------------------------------------------------- leave1out ----
l1o <- function(name, ds, m, t) {
  d <- datasets[[ds]]
  res <- rma(d$yi, d$vi, method = m, test = t, control = ctrl)
  add(name, "leave1out",
      paste0("dat <- ", data_call[[ds]], "; leave1out(", rma_call(m, t), ")"),
      list(yi = arr(d$yi), vi = arr(d$vi), method = m, test = t, level = 95),
      frame_out(leave1out(res)))
}
l1o("leave1out_bcg_REML_z", "bcg", "REML", "z")
l1o("leave1out_bcg_DL_knha", "bcg", "DL", "knha")
l1o("leave1out_normand1999_EE_z", "normand1999", "EE", "z")
l1o("leave1out_molloy2014_PM_z", "molloy2014", "PM", "z")

# -------------------------------------------------------------------- cumul ----
cml <- function(name, ds, m, t, order, order_desc) {
  d <- datasets[[ds]]
  res <- rma(d$yi, d$vi, method = m, test = t, control = ctrl)
  out <- frame_out(cumul(res, order = order))
  add(name, "cumul",
      paste0("dat <- ", data_call[[ds]], "; cumul(", rma_call(m, t), ", order=", order_desc, ")"),
      list(yi = arr(d$yi), vi = arr(d$vi), method = m, test = t, level = 95,
           order = arr(order)),
      out)
}
cml("cumul_bcg_REML_z_year", "bcg", "REML", "z", dat.bcg$year, "dat.bcg$year")
cml("cumul_hackshaw1998_DL_knha_year", "hackshaw1998", "DL", "knha", dat.hackshaw1998$year,
    "dat.hackshaw1998$year")
cml("cumul_pritz1997_EE_z_vi", "pritz1997", "EE", "z", datasets$pritz1997$vi, "vi")

# ------------------------------------------------------------------ regtest ----
rgt <- function(name, ds, m, t) {
  d <- datasets[[ds]]
  res <- rma(d$yi, d$vi, method = m, test = t, control = ctrl)
  r <- regtest(res)
  add(name, "regtest",
      paste0("dat <- ", data_call[[ds]], "; regtest(", rma_call(m, t), ")"),
      list(yi = arr(d$yi), vi = arr(d$vi), method = m, test = t, level = 95),
      list(zval = num(r$zval), pval = num(r$pval), df = num(r$ddf), est = num(r$est),
           ci_lb = num(r$ci.lb), ci_ub = num(r$ci.ub), tau2 = num(r$fit$tau2)))
}
rgt("regtest_egger2001_REML_z", "egger2001", "REML", "z")
rgt("regtest_egger2001_EE_z", "egger2001", "EE", "z")
rgt("regtest_hackshaw1998_REML_z", "hackshaw1998", "REML", "z")
rgt("regtest_hackshaw1998_DL_knha", "hackshaw1998", "DL", "knha")
rgt("regtest_bcg_ML_z", "bcg", "ML", "z")

# ----------------------------------------------------------------- trimfill ----
tfl <- function(name, ds, m, t, side = NULL) {
  d <- datasets[[ds]]
  res <- rma(d$yi, d$vi, method = m, test = t, control = ctrl)
  tf <- if (is.null(side)) trimfill(res, test = t, control = ctrl)
        else trimfill(res, side = side, test = t, control = ctrl)
  side_arg <- if (is.null(side)) "" else sprintf(', side="%s"', side)
  add(name, "trimfill",
      paste0("dat <- ", data_call[[ds]], "; res <- ", rma_call(m, t),
             sprintf('; trimfill(res%s, test="%s", %s)', side_arg, t, ctrl_str)),
      list(yi = arr(d$yi), vi = arr(d$vi), method = m, test = t, level = 95, side = side),
      c(list(k0 = tf$k0, side = tf$side, yi_filled = arr(tf$yi), vi_filled = arr(tf$vi),
             fill = arr(tf$fill)),
        rma_out(tf)))
}
tfl("trimfill_egger2001_EE_z", "egger2001", "EE", "z")
tfl("trimfill_egger2001_REML_z", "egger2001", "REML", "z")
tfl("trimfill_hackshaw1998_DL_z", "hackshaw1998", "DL", "z")
tfl("trimfill_hackshaw1998_EE_knha", "hackshaw1998", "EE", "knha")
tfl("trimfill_bcg_REML_z", "bcg", "REML", "z")
tfl("trimfill_molloy2014_DL_z_right", "molloy2014", "DL", "z", side = "right")
tfl("trimfill_molloy2014_DL_z_left", "molloy2014", "DL", "z", side = "left")

# ----------------------------------------------------------------- subgroup ----
sgr <- function(name, ds, groups, groups_desc, m, t) {
  d <- datasets[[ds]]
  lev <- sort(unique(groups))
  per <- lapply(lev, function(g) {
    sel <- groups == g
    r <- suppressWarnings(rma(d$yi[sel], d$vi[sel], method = m, test = t, control = ctrl))
    rma_out(r)
  })
  names(per) <- lev
  est <- sapply(per, function(x) x$estimate)
  sei <- sapply(per, function(x) x$se)
  between <- rma(est, sei = sei, method = "FE")
  mix <- rma(d$yi, d$vi, mods = ~ factor(groups), method = m, test = t, control = ctrl)
  add(name, "subgroup",
      paste0("dat <- ", data_call[[ds]], "; groups <- ", groups_desc,
             "; per group: ", sprintf('rma(yi, vi, subset=groups==g, method="%s", test="%s", %s)',
                                      m, t, ctrl_str),
             '; (a) rma(est, sei=se, method="FE") on the subgroup estimates',
             "; (b) ", rma_call(m, t, ", mods=~factor(groups)")),
      list(yi = arr(d$yi), vi = arr(d$vi), groups = arr(groups), method = m, test = t,
           level = 95),
      list(levels = arr(lev), groups = per,
           Qb = num(between$QE), Qb_df = num(between$k - 1), Qb_p = num(between$QEp),
           QM = num(mix$QM), QMdf = arr(mix$QMdf), QMp = num(mix$QMp),
           mixed_tau2 = num(mix$tau2), mixed_b = arr(mix$beta), mixed_se = arr(mix$se)))
}
sgr("subgroup_bcg_alloc_REML_z", "bcg", as.character(dat.bcg$alloc), "dat.bcg$alloc", "REML", "z")
sgr("subgroup_bcg_alloc_DL_knha", "bcg", as.character(dat.bcg$alloc), "dat.bcg$alloc", "DL", "knha")
sgr("subgroup_raudenbush1985_tester_REML_z", "raudenbush1985",
    as.character(dat.raudenbush1985$tester), "dat.raudenbush1985$tester", "REML", "z")
sgr("subgroup_raudenbush1985_tester_EE_z", "raudenbush1985",
    as.character(dat.raudenbush1985$tester), "dat.raudenbush1985$tester", "EE", "z")

# --------------------------------------------------------------- meta-regression ----
mreg <- function(name, ds, X, mods_desc, m, t) {
  d <- datasets[[ds]]
  res <- rma(d$yi, d$vi, mods = X, method = m, test = t, control = ctrl)
  add(name, "metareg",
      paste0("dat <- ", data_call[[ds]], "; ", rma_call(m, t, paste0(", mods=", mods_desc))),
      list(yi = arr(d$yi), vi = arr(d$vi), mods = lapply(as.data.frame(X), arr),
           method = m, test = t, level = 95),
      coef_out(res))
}
X_ablat <- cbind(ablat = dat.bcg$ablat)
X_alloc <- model.matrix(~ factor(alloc), data = dat.bcg)[, -1, drop = FALSE]
colnames(X_alloc) <- c("allocrandom", "allocsystematic")
X_ablat_year <- cbind(ablat = dat.bcg$ablat, year = dat.bcg$year)
X_weeks <- cbind(weeks = dat.raudenbush1985$weeks)
X_tester <- cbind(testerblind = as.numeric(dat.raudenbush1985$tester == "blind"))
for (m in methods) for (t in tests) {
  mreg(sprintf("metareg_bcg_ablat_%s_%s", m, t), "bcg", X_ablat, "~ablat", m, t)
}
for (t in tests) {
  mreg(sprintf("metareg_bcg_alloc_REML_%s", t), "bcg", X_alloc, "~factor(alloc)", "REML", t)
  mreg(sprintf("metareg_bcg_ablat_year_REML_%s", t), "bcg", X_ablat_year, "~ablat+year",
       "REML", t)
  mreg(sprintf("metareg_raudenbush1985_weeks_REML_%s", t), "raudenbush1985", X_weeks,
       "~weeks", "REML", t)
  mreg(sprintf("metareg_raudenbush1985_tester_DL_%s", t), "raudenbush1985", X_tester,
       "~factor(tester)", "DL", t)
}

# -------------------------------------------------------------------- write ----
out <- list(
  source = list(
    script = "tests/reference/rma_reference.R",
    R_version = R.version.string,
    metafor_version = as.character(packageVersion("metafor")),
    date = format(Sys.time(), "%Y-%m-%dT%H:%M:%S%z"),
    control = ctrl,
    confint_control = ci_ctrl,
    note = paste("Doubles written with sprintf('%.17g'); NA as null;",
                 "non-finite values as the strings Inf, -Inf, NaN.")
  ),
  cases = unname(cases)
)
path <- file.path("tests", "reference", "rma_reference.json")
writeLines(to_json(out), path)
cat("wrote", length(cases), "cases to", path, "\n")
