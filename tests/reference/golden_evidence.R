# Golden values for the real evidence base: every pooled estimate, its CI, k and the
# verdict category, computed independently of the package from the records' raw numbers
# (typed below from evidence/studies/*.yaml) with metafor's escalc and rma.
# Settings: each question's plan (REML, Knapp-Hartung, 95%); pre-post r derived from the
# study's own numbers (Cochrane Handbook 6.5.2.8) where possible, else the plan's 0.5.
# The plan's pooling rules (time-point window, designs, min_k) are applied here on their
# own: an outcome with fewer than min_k studies left gets each study's estimate and CI
# (side by side) instead of a pooled one.
# When a record changes or a study is added, edit the list `outcomes` and re-run:
#   Rscript tests/reference/golden_evidence.R     (from the repository root)
suppressPackageStartupMessages({library(metafor); library(jsonlite)})

sd_ci <- function(lo, hi, n) sqrt(n) * (hi - lo) / (2 * qt(0.975, n - 1))
# pre-post r from an exact two-sided p with means and SDs (paired t on n - 1 df)
r_from_p <- function(mpre, mpost, sdpre, sdpost, n, p) {
  sdc <- abs(mpost - mpre) * sqrt(n) / qt(1 - p / 2, n - 1)
  (sdpre^2 + sdpost^2 - sdc^2) / (2 * sdpre * sdpost)
}
# one pre-post study from means and 95% CIs (pre CI on n_pre, post CI on n)
prepost <- function(mpre, cipre, npre, mpost, cipost, n, p = NA, r_assumed = 0.5) {
  sdpre <- sd_ci(cipre[1], cipre[2], npre); sdpost <- sd_ci(cipost[1], cipost[2], n)
  r <- if (is.na(p)) r_assumed else r_from_p(mpre, mpost, sdpre, sdpost, n, p)
  e <- escalc("SMCC", m1i = mpost, m2i = mpre, sd1i = sdpost, sd2i = sdpre, ni = n, ri = r)
  c(yi = e$yi, vi = e$vi)
}
# one pre-post study from the mean change and the SD of change (no r needed)
change <- function(mc, sdc, n) {
  e <- escalc("SMCC", m1i = mc, m2i = 0, sd1i = sdc / sqrt(2), sd2i = sdc / sqrt(2), ni = n, ri = 0)
  c(yi = e$yi, vi = e$vi)
}
change_ci <- function(mc, ci, n) change(mc, sd_ci(ci[1], ci[2], n), n)
smd_d <- function(d, n1, n2) { e <- escalc("SMD", di = d, n1i = n1, n2i = n2); c(yi = e$yi, vi = e$vi) }
plo <- function(x, n) { e <- escalc("PLO", xi = x, ni = n); c(yi = e$yi, vi = e$vi) }

smd_cuts <- c(0.2, 0.5, 0.8)
# The analysis plan's pooling rules, typed from evidence/questions/*.yaml (not read from
# the package): each outcome's time-point window in weeks from a reference point, the
# designs it pools, and the fewest studies pooled (min_k 3 in Q2 and Q3; fewer are shown
# side by side). Each study: its effect size, design, and the time point in weeks its
# record gives (NA: not reported), counted from `from`.
wk_year <- 365.25 / 7; wk_month <- wk_year / 12
q2_window <- list(from = "end of intervention", min = 0, max = 26.1)
q3_window <- list(from = "baseline", min = 104, max = 261)
prepost_designs <- c("pre-post", "non-randomised controlled", "randomised controlled")
controlled_designs <- c("non-randomised controlled", "randomised controlled")
q3_designs <- c("cohort", "historical cohort comparison", "register cohort", "case series",
                "cluster randomised controlled", "randomised controlled")
st <- function(es, design, weeks, from) list(es = es, design = design, weeks = weeks, from = from)
EOI <- "end of intervention"
outcomes <- list(
  list(question = "q2_mindfulness_training", outcome = "emotional_exhaustion", measure = "SMCC",
       better = -1, cuts = smd_cuts, window = q2_window, designs = prepost_designs, min_k = 3,
       studies = list(
    fortney2013 = st(prepost(31.9, c(28.4, 35.4), 30, 28.9, c(25.3, 32.5), 28, p = 0.046),
                     "pre-post", 1 / 7, EOI),  # 1 day after the course
    # the abstract does not name the month (2, 12 or 15) of the end value: not reported
    krasner2009 = st(change_ci(-6.8, c(-8.8, -4.8), 70), "pre-post", NA, NA),
    mbcare2025 = st(change(-4.27, 7.59, 12), "pre-post", 0, EOI))),  # end of the programme
  list(question = "q2_mindfulness_training", outcome = "depersonalisation", measure = "SMCC",
       better = -1, cuts = smd_cuts, window = q2_window, designs = prepost_designs, min_k = 3,
       studies = list(
    fortney2013 = st(prepost(12.6, c(10.4, 14.8), 30, 11.2, c(9.0, 13.5), 28, p = 0.07),
                     "pre-post", 1 / 7, EOI),
    krasner2009 = st(change_ci(-2.5, c(-3.6, -1.4), 70), "pre-post", NA, NA))),
  list(question = "q2_mindfulness_training", outcome = "personal_accomplishment", measure = "SMCC",
       better = 1, cuts = smd_cuts, window = q2_window, designs = prepost_designs, min_k = 3,
       studies = list(
    # p < .001 only: no exact p, so the plan's r = 0.5 is assumed
    fortney2013 = st(prepost(38.5, c(36.8, 40.3), 30, 41.0, c(39.2, 42.8), 28),
                     "pre-post", 1 / 7, EOI),
    krasner2009 = st(change_ci(2.4, c(1.2, 3.6), 70), "pre-post", NA, NA))),
  list(question = "q2_mindfulness_training", outcome = "self_compassion_controlled",
       measure = "SMD", better = 1, cuts = smd_cuts, window = q2_window,
       designs = controlled_designs, min_k = 3, studies = list(
    dbtzen2025 = st(smd_d(0.43, 120, 92), "non-randomised controlled", 0, EOI),
    # equal split of the 148 randomised (assumed); the post-test read as the end of the course
    verweij2018 = st(smd_d(0.35, 74, 74), "randomised controlled", 0, EOI))),
  list(question = "q3_open_dialogue", outcome = "work_or_study", measure = "PLO",
       better = 1, bands = c(0.25, 0.5, 0.75), window = q3_window, designs = q3_designs,
       min_k = 3, studies = list(
    gordon2016 = st(plo(9, 14), "case series", 1 * wk_year, "baseline"),  # 1 year
    seikkula2006 = st(plo(round(0.86 * 42), 42), "historical cohort comparison",
                      5 * wk_year, "baseline")))  # 86% of 42 = 36.12 -> 36; 5 years
)

# why a study is not pooled under the plan ("" when it is)
rule <- function(o, s) {
  w <- o$window
  if (!(s$design %in% o$designs)) return("design")
  if (is.na(s$weeks)) return("time point not reported")
  if (s$from != w$from) return("reference point")
  if (round(s$weeks, 2) < w$min || round(s$weeks, 2) > w$max) return("outside window")
  ""
}

category <- function(o, lo, hi) {
  if (!is.null(o$bands)) {
    a <- sum(lo >= o$bands); b <- sum(hi >= o$bands)
    if ((a == 0 && b == length(o$bands)) || hi - lo >= 0.9 - 1e-9) return("uninformative")
    return(if (a == b) "one band" else "several bands")
  }
  b <- sort(o$better * c(lo, hi)); s <- o$cuts[1]; L <- o$cuts[3]
  if (b[1] <= -L && b[2] >= L) return("uninformative")
  if (b[1] >= s) return("benefit")
  if (b[2] <= -s) return("harm")
  if (b[1] > -s && b[2] < s) return("no important difference")
  if (b[1] > -s) return("benefit or no important difference")
  if (b[2] < s) return("harm or no important difference")
  "benefit or harm"
}

out <- list()
for (o in outcomes) {
  why <- sapply(o$studies, function(s) rule(o, s))
  kept <- o$studies[why == ""]
  yi <- sapply(kept, function(s) s$es[["yi"]]); vi <- sapply(kept, function(s) s$es[["vi"]])
  tr <- if (o$measure == "PLO") transf.ilogit else identity
  case <- list(question = o$question, outcome = o$outcome, measure = o$measure,
               k = length(kept), studies = names(kept), yi = unname(yi), vi = unname(vi),
               excluded = as.list(why[why != ""]))
  if (length(kept) >= o$min_k) {
    fit <- rma(yi, vi, method = "REML", test = "knha", control = list(threshold = 1e-12))
    est <- tr(as.numeric(fit$beta)); lo <- tr(fit$ci.lb); hi <- tr(fit$ci.ub)
    case <- c(case, list(pooled = TRUE, estimate = est, ci_lb = lo, ci_ub = hi,
                         category = category(o, lo, hi),
                         call = 'rma(yi, vi, method = "REML", test = "knha")'))
  } else {
    # too few to pool: each study on its own, Wald 95% interval, no pooled number
    z <- qnorm(0.975)
    case <- c(case, list(pooled = FALSE,
      estimate = unname(tr(yi)), ci_lb = unname(tr(yi - z * sqrt(vi))),
      ci_ub = unname(tr(yi + z * sqrt(vi))),
      category = unname(mapply(function(a, b) category(o, a, b), tr(yi - z * sqrt(vi)),
                               tr(yi + z * sqrt(vi)))),
      call = "escalc per study; yi -/+ qnorm(0.975) sqrt(vi); no rma"))
  }
  out[[length(out) + 1]] <- case
}
res <- list(source = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                          jsonlite = as.character(packageVersion("jsonlite")),
                          script = "tests/reference/golden_evidence.R"), outcomes = out)
writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "tests/reference/golden_evidence.json")
