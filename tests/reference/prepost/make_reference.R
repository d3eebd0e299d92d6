# Reference values for evalkit.designs.prepost (tests/test_prepost_reference.py).
#
# Run from this folder:  Rscript make_reference.R
# Writes the paired data sets (continuous_*.csv, binary_tables.csv) and the
# results of R's t.test(paired = TRUE), wilcox.test(paired = TRUE,
# conf.int = TRUE) with R's defaults (exact when n < 50 and no ties/zeros,
# otherwise normal approximation with continuity correction, tol.root = 1e-4),
# mcnemar.test (correct = TRUE and FALSE) and binom.test (exact McNemar) to
# reference.json. Change is post minus pre throughout.
#
# Effect-size intervals: neither MBESS nor effectsize is installed here, so the
# noncentral-t limits are computed directly with R's own pt(ncp = ) (AS 243)
# and uniroot(tol = 1e-13) -- an implementation independent of scipy's (Boost)
# -- and rescaled as described in evalkit/designs/prepost_effects.py:
# d_z limits = ncp / sqrt(n); d_av limits = ncp * s_diff / (sqrt(n) * s_av)
# (Algina & Keselman 2003).

suppressPackageStartupMessages(library(jsonlite))
stopifnot(getRversion() >= "4.0.0")

set.seed(20240917)
r2 <- function(v) round(v, 2)
# Draw pairs until the rounded differences have no ties and no zeros.
untied <- function(n, mean_pre, sd_pre, shift, sd_change) {
  repeat {
    pre <- r2(rnorm(n, mean_pre, sd_pre))
    post <- r2(pre + shift + rnorm(n, 0, sd_change))
    dd <- post - pre
    if (all(dd != 0) && !anyDuplicated(rank(abs(dd)))) return(data.frame(pre = pre, post = post))
  }
}

# ---- continuous data sets ---------------------------------------------------
make_continuous <- function() {
  sets <- list()
  # Lakens (2013) Table 1: movie ratings (post = movie 1, pre = movie 2); ties.
  sets$lakens <- data.frame(pre = c(9, 6, 7, 8, 7, 9, 8, 8, 8, 7),
                            post = c(9, 7, 8, 9, 8, 9, 9, 10, 9, 9))
  # Small, continuous, no ties or zeros: exact test and exact interval.
  sets$exact_n12 <- untied(12, 50, 10, 3, 4)
  # n = 49, no ties or zeros: the largest n R treats exactly.
  sets$exact_n49 <- untied(49, 20, 5, -1, 3)
  # n = 50, no ties: normal approximation because n >= 50.
  sets$normal_n50 <- untied(50, 20, 5, -1, 3)
  # Integer scores (SDQ-like 0-40): many ties and zero differences, n = 30.
  pre <- round(rnorm(30, 18, 6)); sets$ties_zeros_n30 <- data.frame(
    pre = pmin(40, pmax(0, pre)), post = pmin(40, pmax(0, pre + round(rnorm(30, -1.5, 3)))))
  # Larger integer set, n = 200, ties and zeros.
  pre <- round(rnorm(200, 22, 5)); sets$ties_n200 <- data.frame(
    pre = pre, post = pre + round(rnorm(200, 0.8, 4)))
  # Four pairs, exact: the 95% level is not attainable (R lowers it).
  sets$exact_n4 <- data.frame(pre = c(10.1, 12.4, 9.7, 11.0), post = c(12.3, 15.6, 10.2, 14.9))
  # Six pairs with ties: normal approximation, level not attainable.
  sets$ties_n6 <- data.frame(pre = c(3, 5, 4, 6, 2, 5), post = c(4, 6, 5, 8, 3, 7))
  # No change on average, skewed changes, n = 40 with one zero.
  pre <- r2(rnorm(40, 30, 8)); ch <- r2(rexp(40, 1 / 3) - 3); ch[7] <- 0
  sets$skewed_zero_n40 <- data.frame(pre = pre, post = pre + ch)
  # Degenerate Wilcoxon cases: the non-zero differences are all tied (R gives
  # the midrange and no interval); two pairs (the interval is a 50% one).
  sets$all_tied_n5 <- data.frame(pre = c(1, 1, 1, 1, 1), post = c(1, 1, 3, 3, 3))
  sets$exact_n2 <- data.frame(pre = c(1, 2), post = c(2, 4))
  sets
}

ncp_limits <- function(t_obs, df, conf) {
  a <- 1 - conf
  f <- function(ncp, target) pt(t_obs, df, ncp) - target
  w <- 10 + abs(t_obs)
  lo <- uniroot(f, c(t_obs - w, t_obs + w), target = 1 - a / 2, tol = 1e-13)$root
  hi <- uniroot(f, c(t_obs - w, t_obs + w), target = a / 2, tol = 1e-13)$root
  # pnt may warn about precision far out in the bracket; it must not at the roots.
  pt(t_obs, df, lo); pt(t_obs, df, hi)
  c(lo, hi)
}

htest_list <- function(h) {
  out <- list(statistic = unname(h$statistic), p_value = h$p.value, method = h$method)
  if (!is.null(h$parameter)) out$parameter <- unname(h$parameter)
  if (!is.null(h$conf.int)) {
    out$conf_int <- as.numeric(h$conf.int)
    out$conf_level <- attr(h$conf.int, "conf.level")
  }
  if (!is.null(h$estimate)) out$estimate <- unname(h$estimate)
  out
}

continuous_reference <- function(d, conf) {
  n <- nrow(d)
  diff <- d$post - d$pre
  tt <- t.test(d$post, d$pre, paired = TRUE, conf.level = conf)
  wt <- suppressWarnings(wilcox.test(d$post, d$pre, paired = TRUE, conf.int = TRUE, conf.level = conf))
  s_av <- sqrt((var(d$pre) + var(d$post)) / 2)
  lam <- suppressWarnings(ncp_limits(unname(tt$statistic), n - 1, conf))
  # ... but check the roots themselves were computed at full precision:
  withCallingHandlers({pt(unname(tt$statistic), n - 1, lam[1]); pt(unname(tt$statistic), n - 1, lam[2])},
                      warning = function(w) stop("pnt imprecise at the interval limits"))
  list(
    n = n, conf_level = conf,
    t_test = htest_list(tt),
    wilcox = htest_list(wt),
    d_z = c(mean(diff) / sd(diff), lam / sqrt(n)),
    d_av = c(mean(diff) / s_av, lam * sd(diff) / (sqrt(n) * s_av))
  )
}

sets <- make_continuous()
ref <- list(r_version = R.version.string, continuous = list(), binary = list())
for (name in names(sets)) {
  write.csv(sets[[name]], sprintf("continuous_%s.csv", name), row.names = FALSE)
  d <- read.csv(sprintf("continuous_%s.csv", name))  # exactly what Python reads
  ref$continuous[[name]] <- continuous_reference(d, 0.95)
}
ref$continuous[["exact_n12@90"]] <- continuous_reference(read.csv("continuous_exact_n12.csv"), 0.90)
ref$continuous[["ties_n200@90"]] <- continuous_reference(read.csv("continuous_ties_n200.csv"), 0.90)

# Sanity: the data sets exercise the branches they are named for.
stopifnot(grepl("exact", ref$continuous$exact_n12$wilcox$method))
stopifnot(grepl("exact", ref$continuous$exact_n49$wilcox$method))
stopifnot(grepl("continuity", ref$continuous$normal_n50$wilcox$method))
stopifnot(grepl("continuity", ref$continuous$ties_zeros_n30$wilcox$method))
stopifnot(ref$continuous$exact_n4$wilcox$conf_level < 0.95)
stopifnot(ref$continuous$ties_n6$wilcox$conf_level < 0.95)

# ---- binary (paired 2x2) tables ---------------------------------------------
# a = yes before and after, b = yes -> no, c = no -> yes, d = no before and after.
tables <- data.frame(
  name = c("cavo_2012", "bentur_2009", "balanced", "large", "tiny", "one_sided"),
  a = c(59, 1, 10, 300, 3, 12),
  b = c(6, 1, 5, 40, 0, 0),
  c = c(16, 7, 5, 62, 4, 9),
  d = c(80, 12, 10, 500, 2, 20)
)
write.csv(tables, "binary_tables.csv", row.names = FALSE)
for (i in seq_len(nrow(tables))) {
  t <- tables[i, ]
  # rows = before (yes, no), columns = after (yes, no)
  m <- matrix(c(t$a, t$b, t$c, t$d), 2, byrow = TRUE)
  ref$binary[[t$name]] <- list(
    mcnemar_correct = htest_list(mcnemar.test(m, correct = TRUE)),
    mcnemar_uncorrected = htest_list(mcnemar.test(m, correct = FALSE)),
    binom_exact = htest_list(binom.test(t$b, t$b + t$c, 0.5))
  )
}

writeLines(toJSON(ref, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "string"), "reference.json")
cat("wrote reference.json\n")
