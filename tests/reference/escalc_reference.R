# Reference values for synthesis.effects, computed with R's metafor.
#
# Run from the repository root:
#     Rscript tests/reference/escalc_reference.R
# It writes tests/reference/escalc_reference.json next to this script.
# The tests (tests/test_effects_reference.py) read that JSON only; R is not
# needed to run them. Re-run this script after upgrading metafor and review
# the diff of the JSON.
#
# Every case records the exact R call, the inputs, the options passed and the
# outputs. Doubles are written with up to 17 significant digits so that they
# round-trip exactly; NA is written as null.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

script_name <- "tests/reference/escalc_reference.R"
out_file <- file.path("tests", "reference", "escalc_reference.json")
if (!dir.exists(dirname(out_file))) {
  stop("run this script from the repository root")
}

cases <- list()

# jsonlite (1.8.x) prints at most 15 significant digits, which does not always
# round-trip a double. Numeric vectors are therefore formatted here with the
# fewest of 15, 16 or 17 significant digits that reproduce the double exactly
# and inserted verbatim (toJSON(json_verbatim = TRUE)). NA/NaN become null.
num_json <- function(x) {
  x <- as.numeric(x)
  txt <- vapply(x, function(v) {
    if (is.na(v)) return("null")
    for (d in 15:17) {
      s <- sprintf("%.*g", d, v)
      if (as.numeric(s) == v) return(s)
    }
    s
  }, character(1))
  structure(paste0("[", paste(txt, collapse = ", "), "]"), class = "json")
}

# One escalc() case. `inputs` is a named list of vectors (metafor argument
# names), `options` a named list of the escalc() options passed explicitly.
add_escalc_case <- function(name, measure, inputs, options = list()) {
  args <- c(list(measure = measure), inputs, options)
  # with to="none" a zero cell gives +-Inf, which escalc recodes to NA with a
  # warning; that NA is the expected reference value, so only that warning is muffled
  res <- withCallingHandlers(
    do.call(escalc, args),
    warning = function(w) {
      if (grepl("Recoded to NAs", conditionMessage(w))) invokeRestart("muffleWarning")
    }
  )
  opt_txt <- vapply(names(options), function(o) {
    v <- options[[o]]
    if (is.character(v)) sprintf('%s="%s"', o, v) else sprintf("%s=%s", o, deparse(v))
  }, character(1))
  inp_txt <- vapply(names(inputs), function(a) sprintf("%s=%s", a, a), character(1))
  call_txt <- sprintf('escalc(measure="%s", %s)', measure,
                      paste(c(inp_txt, opt_txt), collapse = ", "))
  cases[[length(cases) + 1]] <<- list(
    name = unbox(name),
    kind = unbox("escalc"),
    call = unbox(call_txt),
    measure = unbox(measure),
    inputs = lapply(inputs, num_json),
    options = if (length(options)) lapply(options, unbox) else setNames(list(), character(0)),
    yi = num_json(res$yi),
    vi = num_json(res$vi)
  )
}

# One back-transformation case: fun(xi, targs).
add_transf_case <- function(name, fun_name, xi, ni = NULL) {
  fun <- get(fun_name, mode = "function")
  if (is.null(ni)) {
    values <- fun(xi)
    call_txt <- sprintf("%s(xi)", fun_name)
    inputs <- list(xi = num_json(xi))
  } else {
    values <- fun(xi, targs = list(ni = ni))
    call_txt <- sprintf("%s(xi, targs=list(ni=ni))", fun_name)
    inputs <- list(xi = num_json(xi), ni = num_json(ni))
  }
  cases[[length(cases) + 1]] <<- list(
    name = unbox(name),
    kind = unbox("transf"),
    call = unbox(call_txt),
    "function" = unbox(fun_name),
    inputs = inputs,
    values = num_json(values)
  )
}

# ---- correlations: dat.molloy2014 ------------------------------------------
mol <- dat.molloy2014
cor_in <- list(ri = mol$ri, ni = mol$ni)
add_escalc_case("ZCOR_molloy2014", "ZCOR", cor_in)
add_escalc_case("COR_molloy2014", "COR", cor_in)

# ---- two-group continuous: dat.normand1999 ----------------------------------
nor <- dat.normand1999
cont_in <- list(m1i = nor$m1i, sd1i = nor$sd1i, n1i = nor$n1i,
                m2i = nor$m2i, sd2i = nor$sd2i, n2i = nor$n2i)
add_escalc_case("SMD_normand1999", "SMD", cont_in)
add_escalc_case("MD_normand1999", "MD", cont_in)

# small groups (m = n1 + n2 - 2 from 2 upwards) and one large study:
# exercises the exact gamma-function correction c(m)
small <- list(m1i = c(1.2, 0.4, 3.1, -0.5, 10.2), sd1i = c(1.0, 0.8, 2.2, 1.5, 4.1),
              n1i = c(2, 2, 3, 5, 4000),
              m2i = c(0.7, 0.9, 2.0, 0.3, 9.9), sd2i = c(1.3, 0.5, 1.9, 1.1, 3.8),
              n2i = c(2, 3, 3, 4, 3500))
add_escalc_case("SMD_small_and_large_n", "SMD", small)
add_escalc_case("MD_small_and_large_n", "MD", small)

# ---- pre-post designs: constructed data -------------------------------------
# (dat.morris2008 is not shipped with this metafor/metadat; these five
# single-group pre-post studies cover positive/negative change, r near 0 and 1)
pp <- list(m1i = c(30.6, 23.5, 0.5, 53.4, 35.6), m2i = c(38.5, 26.8, 0.7, 75.9, 36.0),
           sd1i = c(15.0, 3.1, 0.1, 14.5, 4.7), sd2i = c(11.6, 4.1, 0.1, 4.4, 4.6),
           ni = c(20, 50, 9, 10, 14), ri = c(0.47, 0.64, 0.77, 0.89, 0.05))
add_escalc_case("SMCC_constructed", "SMCC", pp)
add_escalc_case("SMCR_constructed", "SMCR", pp)
pp_r5 <- pp
pp_r5$ri <- rep(0.5, 5)
add_escalc_case("SMCC_constructed_r0.5", "SMCC", pp_r5)
add_escalc_case("SMCR_constructed_r0.5", "SMCR", pp_r5)

# ---- 2x2 tables: dat.bcg -----------------------------------------------------
bcg <- dat.bcg
bcg_in <- list(ai = bcg$tpos, bi = bcg$tneg, ci = bcg$cpos, di = bcg$cneg)
bcg_n <- list(ai = bcg$tpos, n1i = bcg$tpos + bcg$tneg,
              ci = bcg$cpos, n2i = bcg$cpos + bcg$cneg)
for (m in c("OR", "RR", "RD")) {
  add_escalc_case(paste0(m, "_bcg"), m, bcg_in)
  add_escalc_case(paste0(m, "_bcg_n1i_n2i"), m, bcg_n)
}

# ---- zero cells: dat.yusuf1985 table 6 (single zeros, a double-zero study,
# a study with missing counts) ------------------------------------------------
yus <- dat.yusuf1985[dat.yusuf1985$table == "6", ]
yus_in <- list(ai = yus$ai, n1i = yus$n1i, ci = yus$ci, n2i = yus$n2i)
for (m in c("OR", "RR", "RD")) {
  add_escalc_case(paste0(m, "_yusuf1985_tab6"), m, yus_in)
  add_escalc_case(paste0(m, "_yusuf1985_tab6_drop00"), m, yus_in, list(drop00 = TRUE))
}

# ---- zero cells: constructed table ------------------------------------------
# rows: no zero; ai = 0; ci = 0; double zero (no events); double "all events"
# (bi = di = 0); bi = 0 only
zt <- list(ai = c(5, 0, 4, 0, 10, 7), bi = c(15, 20, 16, 25, 0, 0),
           ci = c(8, 3, 0, 0, 12, 6), di = c(12, 17, 20, 30, 0, 9))
for (m in c("OR", "RR", "RD")) {
  add_escalc_case(paste0(m, "_zero_only0"), m, zt)
  add_escalc_case(paste0(m, "_zero_only0_drop00"), m, zt, list(drop00 = TRUE))
  add_escalc_case(paste0(m, "_zero_all"), m, zt, list(to = "all"))
  add_escalc_case(paste0(m, "_zero_if0all"), m, zt, list(to = "if0all"))
  add_escalc_case(paste0(m, "_zero_none"), m, zt, list(to = "none"))
  add_escalc_case(paste0(m, "_zero_all_add1"), m, zt, list(add = 1, to = "all"))
  add_escalc_case(paste0(m, "_zero_if0all_drop00"), m, zt, list(to = "if0all", drop00 = TRUE))
}
# if0all with no zero cell anywhere: nothing is added
add_escalc_case("OR_bcg_if0all", "OR", bcg_in, list(to = "if0all"))

# ---- proportions: dat.pritz1997 (contains xi = ni) ---------------------------
pri <- dat.pritz1997
pr_in <- list(xi = pri$xi, ni = pri$ni)
for (m in c("PLO", "PR", "PFT")) {
  add_escalc_case(paste0(m, "_pritz1997"), m, pr_in)
}

# ---- proportions with xi = 0 and xi = ni, all options ------------------------
pz <- list(xi = c(0, 3, 12, 1, 20), ni = c(15, 10, 12, 40, 20))
for (m in c("PLO", "PR", "PFT")) {
  add_escalc_case(paste0(m, "_zero_only0"), m, pz)
  add_escalc_case(paste0(m, "_zero_all"), m, pz, list(to = "all"))
  add_escalc_case(paste0(m, "_zero_if0all"), m, pz, list(to = "if0all"))
  add_escalc_case(paste0(m, "_zero_none"), m, pz, list(to = "none"))
  add_escalc_case(paste0(m, "_zero_only0_add0.5"), m, pz, list(add = 0.5))
}

# ---- yi/vi supplied directly (measure "GEN") ---------------------------------
gen <- list(yi = c(0.1, -0.35, 1.2), vi = c(0.04, 0.09, 0.5))
add_escalc_case("GEN_supplied", "GEN", gen)

# ---- back-transformations ----------------------------------------------------
zc <- escalc("ZCOR", ri = mol$ri, ni = mol$ni)
add_transf_case("transf.ztor_molloy2014", "transf.ztor", as.numeric(zc$yi))
add_transf_case("transf.ztor_grid", "transf.ztor", c(-3, -0.5, 0, 0.25, 1, 2.5))
pl <- escalc("PLO", xi = pri$xi, ni = pri$ni)
add_transf_case("transf.ilogit_pritz1997", "transf.ilogit", as.numeric(pl$yi))
add_transf_case("transf.ilogit_grid", "transf.ilogit", c(-30, -2, 0, 0.7, 5, 30))
add_transf_case("exp_grid", "exp", c(-2, 0, 0.3, 1.5))  # metafor back-transforms OR/RR with exp()
pf <- escalc("PFT", xi = pri$xi, ni = pri$ni)
add_transf_case("transf.ipft.hm_pritz1997", "transf.ipft.hm", as.numeric(pf$yi), pri$ni)
# grid inside and beyond the range [transf.pft(0, nhm), transf.pft(1, nhm)]
add_transf_case("transf.ipft.hm_grid", "transf.ipft.hm",
                c(0.01, 0.1, 0.4, 0.785398, 1.2, 1.5, 1.56), pri$ni)

out <- list(
  source = list(
    script = unbox(script_name),
    R_version = unbox(R.version.string),
    metafor_version = unbox(as.character(packageVersion("metafor"))),
    jsonlite_version = unbox(as.character(packageVersion("jsonlite"))),
    date = unbox(format(Sys.Date(), "%Y-%m-%d"))
  ),
  cases = cases
)
writeLines(toJSON(out, na = "null", pretty = TRUE, json_verbatim = TRUE), out_file)
cat(sprintf("wrote %d cases to %s\n", length(cases), out_file))
