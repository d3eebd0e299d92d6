# Reference values for evalkit's matching design, from R's MatchIt + sandwich + lmtest + survival.
#
# Run from this folder:  Rscript make_reference.R   (with a MatchIt >= 4.5.4 first on .libPaths();
# Debian's 4.5.1 has bug #163). Writes the CSV files next to this script. The data are sorted by
# person_id, the order evalkit sorts to, so "data order" and ties mean the same in both.
suppressPackageStartupMessages({
  library(MatchIt); library(sandwich); library(lmtest); library(survival)
})
d <- read.csv("matching_data.csv", stringsAsFactors = FALSE)
stopifnot(!is.unsorted(d$person_id))
rownames(d) <- d$person_id
covs <- "age + prior_offences + school_exclusion + sex + locality + risk"
f <- as.formula(paste("treated ~", covs))
# Mahalanobis configurations use the numeric covariates only: with factors MatchIt applies a
# pivoted Cholesky to a singular generalized inverse and its distances are not the Mahalanobis
# distance (evalkit computes the exact one), so the matched sets would differ by design.
f_num <- treated ~ age + prior_offences + school_exclusion + risk

writeLines(c(sprintf("MatchIt %s", packageVersion("MatchIt")), sprintf("sandwich %s", packageVersion("sandwich")),
             sprintf("lmtest %s", packageVersion("lmtest")), sprintf("survival %s", packageVersion("survival")),
             R.version.string), "versions.txt")

# Propensity model (glm default tolerance: this is what matchit() uses)
tight <- glm.control(epsilon = 1e-12, maxit = 100)  # outcome GLMs: converge fully
ps <- glm(f, data = d, family = binomial())
write.csv(data.frame(term = names(coef(ps)), estimate = unname(coef(ps))), "ps_coef.csv", row.names = FALSE)
write.csv(data.frame(person_id = d$person_id, ps = fitted(ps), lp = ps$linear.predictors),
          "ps_fitted.csv", row.names = FALSE)

configs <- read.csv("configs.csv", stringsAsFactors = FALSE)
effects <- list()
for (i in seq_len(nrow(configs))) {
  cf <- configs[i, ]
  args <- list(formula = if (cf$distance == "mahalanobis") f_num else f, data = d, method = "nearest", distance = cf$distance, ratio = cf$ratio,
               replace = as.logical(cf$replace), discard = cf$discard)
  if (cf$distance == "glm") args$link <- cf$link
  if (!is.na(cf$caliper)) { args$caliper <- cf$caliper; args$std.caliper <- as.logical(cf$std_caliper) }
  if (nzchar(cf$exact)) args$exact <- strsplit(cf$exact, ";")[[1]]
  if (nzchar(cf$m_order)) args$m.order <- cf$m_order
  m <- do.call(matchit, args)
  md <- match.data(m, drop.unmatched = FALSE)
  md <- md[order(md$person_id), ]
  sub <- if (is.null(md$subclass)) NA else as.integer(as.character(md$subclass))
  write.csv(data.frame(person_id = md$person_id, weight = md$weights, subclass = sub),
            sprintf("matched_%s.csv", cf$name), row.names = FALSE)
  mm <- md[md$weights > 0, ]
  repl <- as.logical(cf$replace)
  # SEs: cluster-robust by subclass without replacement: vcovCL defaults, cadjust = TRUE and
  # type "HC1" for lm but "HC0" for glm (sandwich's documented default);
  # HC3 robust with replacement (MatchIt vignette "Estimating effects", matching with replacement).
  V <- function(fit) if (repl) vcovHC(fit, type = "HC3") else vcovCL(fit, cluster = ~subclass)
  out <- function(q, fit, term = "treated") {
    ct <- coeftest(fit, vcov. = V(fit))
    data.frame(config = cf$name, quantity = q, estimate = ct[term, 1], se = ct[term, 2])
  }
  rows <- list(
    out("cont_diff", lm(y_cont ~ treated, data = mm, weights = weights)),
    out("cont_adj", lm(as.formula(paste("y_cont ~ treated +", covs)), data = mm, weights = weights)),
    out("bin_rd", lm(y_bin ~ treated, data = mm, weights = weights)),
    out("bin_logrr", glm(y_bin ~ treated, data = mm, weights = weights, family = quasipoisson(link = "log"), control = tight)),
    out("count_diff", lm(y_count ~ treated, data = mm, weights = weights)),
    out("count_logrr", glm(y_count ~ treated, data = mm, weights = weights, family = quasipoisson(link = "log"), control = tight)),
    out("count_logrr_adj", glm(as.formula(paste("y_count ~ treated +", covs)), data = mm, weights = weights,
                               family = quasipoisson(link = "log"), control = tight)),
    out("bin_logrr_adj", glm(as.formula(paste("y_bin ~ treated +", covs)), data = mm, weights = weights,
                             family = quasipoisson(link = "log"), control = tight))
  )
  cctl <- coxph.control(eps = 1e-12, iter.max = 100)
  cx <- if (repl) coxph(Surv(time, event) ~ treated, data = mm, weights = weights, robust = TRUE, control = cctl)
        else coxph(Surv(time, event) ~ treated, data = mm, weights = weights, cluster = subclass, control = cctl)
  rows[[length(rows) + 1]] <- data.frame(config = cf$name, quantity = "cox_loghr",
                                         estimate = unname(coef(cx)), se = unname(sqrt(diag(vcov(cx)))))
  effects <- c(effects, rows)
  if (cf$name %in% c("base", "ratio2", "caliper_std")) {
    s <- summary(m, standardize = TRUE, un = TRUE)
    for (which in c("un", "matched")) {
      tab <- if (which == "un") s$sum.all else s$sum.matched
      write.csv(data.frame(term = rownames(tab), mean_t = tab[, "Means Treated"], mean_c = tab[, "Means Control"],
                           smd = tab[, "Std. Mean Diff."], var_ratio = tab[, "Var. Ratio"],
                           ecdf_mean = tab[, "eCDF Mean"], ecdf_max = tab[, "eCDF Max"]),
                sprintf("balance_%s_%s.csv", cf$name, which), row.names = FALSE)
    }
  }
}
write.csv(do.call(rbind, effects), "effects.csv", row.names = FALSE)

# Kaplan-Meier on the matched sample (base configuration), weighted, by group
m <- read.csv("matched_base.csv")
mm <- merge(d, m, by = "person_id")
mm <- mm[mm$weight > 0, ]
km <- survfit(Surv(time, event) ~ treated, data = mm, weights = weight)
sk <- summary(km, times = c(30, 90, 180, 270, 364))
write.csv(data.frame(group = as.character(sk$strata), time = sk$time, surv = sk$surv), "km_base.csv",
          row.names = FALSE)

# Tie rule: discrete covariates only, so many treated and controls share a propensity score.
dt <- read.csv("ties_data.csv", stringsAsFactors = FALSE)
stopifnot(!is.unsorted(dt$person_id))
for (spec in list(list(name = "ties_largest", m.order = "largest", ratio = 1, replace = FALSE),
                  list(name = "ties_data", m.order = "data", ratio = 1, replace = FALSE),
                  list(name = "ties_ratio2", m.order = "largest", ratio = 2, replace = FALSE),
                  list(name = "ties_replace", m.order = "data", ratio = 1, replace = TRUE))) {
  mt <- matchit(treated ~ a + b, data = dt, method = "nearest", m.order = spec$m.order, ratio = spec$ratio,
                replace = spec$replace)
  sub <- if (is.null(mt$subclass)) NA else as.integer(as.character(mt$subclass))
  write.csv(data.frame(person_id = dt$person_id, weight = mt$weights, subclass = sub),
            sprintf("matched_%s.csv", spec$name), row.names = FALSE)
}
