# Runs the metafor calls that the academic pages print for every pooled model of the
# real evidence base, and records what metafor returns, for tests/test_r_call_reference.py.
#
# The calls come from the package itself (tests/reference/r_calls.py prints them), so the
# reference is made from exactly the text a reader copies from the page; the JSON keeps
# each call verbatim and the test fails when the page prints anything else.
#
# Run from the repository root (PYTHON names the interpreter with the package installed,
# default .venv/bin/python):
#     Rscript tests/reference/r_call_reference.R
# writes tests/reference/r_call_reference.json (jsonlite, 15 significant digits).
# R is never needed to run the tests.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

python <- Sys.getenv("PYTHON", ".venv/bin/python")
calls <- fromJSON(paste(system2(python, "tests/reference/r_calls.py", stdout = TRUE),
                        collapse = "\n"), simplifyVector = FALSE)

run_call <- function(case) {
  env <- new.env()
  printed <- capture.output(eval(parse(text = case$call), envir = env))
  res <- env$res
  out <- list(
    question = case$question, outcome = case$outcome, call = case$call,
    k = res$k, method = res$method, test = res$test,
    estimate = as.numeric(res$beta), se = res$se, ci_lb = res$ci.lb, ci_ub = res$ci.ub,
    pval = res$pval, tau2 = res$tau2, I2 = res$I2, QE = res$QE, QEp = res$QEp,
    study = as.character(env$dat$study)
  )
  if (res$k >= 3) {  # the call ends with influence(res)
    inf <- influence(res)$inf
    out$influence <- list(rstudent = inf$rstudent, dffits = inf$dffits, cook_d = inf$cook.d,
                          hat = inf$hat, weight = inf$weight)
  }
  out
}

out <- list(
  source = list(
    script = "tests/reference/r_call_reference.R",
    calls_from = "tests/reference/r_calls.py (synthesis.notebook.r_code)",
    R_version = R.version.string,
    metafor_version = as.character(packageVersion("metafor")),
    jsonlite_version = as.character(packageVersion("jsonlite")),
    control = "metafor's defaults, as printed on the page"
  ),
  cases = lapply(calls, run_call)
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = I(17), pretty = TRUE, null = "null"),
           "tests/reference/r_call_reference.json")
cat("wrote tests/reference/r_call_reference.json:", length(out$cases), "models\n")
