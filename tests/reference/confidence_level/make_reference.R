# 90% intervals (alpha = 0.1) after matching, from R: lm / glm(quasipoisson(log)) + lmtest::coeftest with
# sandwich's vcovCL(~subclass) (no replacement) or vcovHC("HC3") (replacement), then confint(level = 0.9);
# Cox: coxph(..., weights, cluster = subclass | robust = TRUE) and confint(level = 0.9).
#
# Run from this folder:  Rscript make_reference.R
# The matched sets are MatchIt's own (../matching/matched_<config>.csv, made by ../matching/make_reference.R),
# so this script needs only sandwich, lmtest and survival (Debian r-cran-*). Writes confint90.csv.
suppressPackageStartupMessages({ library(sandwich); library(lmtest); library(survival) })
d <- read.csv("../matching/matching_data.csv", stringsAsFactors = FALSE)
covs <- "age + prior_offences + school_exclusion + sex + locality + risk"
tight <- glm.control(epsilon = 1e-12, maxit = 100)
rows <- list()
for (cfg in c("base", "replace2")) {
  m <- read.csv(sprintf("../matching/matched_%s.csv", cfg))
  mm <- merge(d, m, by = "person_id")
  mm <- mm[mm$weight > 0, ]
  mm <- mm[order(mm$person_id), ]
  mm$weights <- mm$weight
  repl <- cfg == "replace2"
  V <- function(fit) if (repl) vcovHC(fit, type = "HC3") else vcovCL(fit, cluster = ~subclass)
  out <- function(q, fit) {
    ct <- coeftest(fit, vcov. = V(fit))  # lm: t with residual df; glm: z (coeftest.glm's df = Inf)
    ci <- confint(ct, parm = "treated", level = 0.9)
    data.frame(config = cfg, quantity = q, estimate = ct["treated", 1], se = ct["treated", 2],
               ci_low = ci[1, 1], ci_high = ci[1, 2])
  }
  rows <- c(rows, list(
    out("cont_diff", lm(y_cont ~ treated, data = mm, weights = weights)),
    out("cont_adj", lm(as.formula(paste("y_cont ~ treated +", covs)), data = mm, weights = weights)),
    out("bin_rd", lm(y_bin ~ treated, data = mm, weights = weights)),
    out("bin_logrr", glm(y_bin ~ treated, data = mm, weights = weights, family = quasipoisson(link = "log"),
                         control = tight)),
    out("count_diff", lm(y_count ~ treated, data = mm, weights = weights)),
    out("count_logrr", glm(y_count ~ treated, data = mm, weights = weights, family = quasipoisson(link = "log"),
                           control = tight))))
  cctl <- coxph.control(eps = 1e-12, iter.max = 100)
  cx <- if (repl) coxph(Surv(time, event) ~ treated, data = mm, weights = weights, robust = TRUE, control = cctl)
        else coxph(Surv(time, event) ~ treated, data = mm, weights = weights, cluster = subclass, control = cctl)
  ci <- confint(cx, level = 0.9)  # Wald on the log-hazard scale with the robust SE
  rows[[length(rows) + 1]] <- data.frame(config = cfg, quantity = "cox_loghr", estimate = unname(coef(cx)),
                                         se = unname(sqrt(diag(vcov(cx)))), ci_low = ci[1, 1], ci_high = ci[1, 2])
}
write.csv(do.call(rbind, rows), "confint90.csv", row.names = FALSE)
writeLines(c(sprintf("sandwich %s", packageVersion("sandwich")), sprintf("lmtest %s", packageVersion("lmtest")),
             sprintf("survival %s", packageVersion("survival")), R.version.string), "versions.txt")
