# Reference values for evalkit.report.standardise: participants needed for 80% power.
# Run from the repo root: Rscript tests/reference/report/n_needed_reference.R
# Independent of evalkit: R's stats::power.t.test / power.prop.test, with the
# standardised-scale conversions written out here from their definitions.
out <- list()
# Paired pre/post: d_av = change / sqrt((pre_sd^2 + post_sd^2) / 2) (Lakens 2013);
# SD of the change from the two SDs and their correlation.
grid <- expand.grid(pre_sd = c(3.5, 6), post_sd = c(4, 5.5), r = c(0.3, 0.7), d = c(0.2, 0.5),
                    alpha = c(0.05, 0.1))
for (i in seq_len(nrow(grid))) {
  g <- grid[i, ]
  sd_change <- sqrt(g$pre_sd^2 + g$post_sd^2 - 2 * g$r * g$pre_sd * g$post_sd)
  sd_av <- sqrt((g$pre_sd^2 + g$post_sd^2) / 2)
  n <- power.t.test(delta = g$d * sd_av, sd = sd_change, power = 0.8, sig.level = g$alpha, type = "paired")$n
  out[[length(out) + 1]] <- data.frame(kind = "paired", a = g$pre_sd, b = g$post_sd, r = g$r, d = g$d,
                                       alpha = g$alpha, n = n)
}
# Binary: the rate Cohen's h = d below the counterfactual rate p, then power.prop.test.
for (p in c(0.1, 0.37, 0.6)) for (h in c(0.2, 0.4)) for (alpha in c(0.05, 0.1)) {
  q <- sin((2 * asin(sqrt(p)) - h) / 2)^2
  n <- power.prop.test(p1 = p, p2 = q, power = 0.8, sig.level = alpha)$n
  out[[length(out) + 1]] <- data.frame(kind = "binary", a = p, b = q, r = NA, d = h, alpha = alpha, n = n)
}
# Two rates directly.
for (pr in list(c(0.3, 0.2), c(0.05, 0.08), c(0.5, 0.45))) {
  n <- power.prop.test(p1 = pr[1], p2 = pr[2], power = 0.8, sig.level = 0.05)$n
  out[[length(out) + 1]] <- data.frame(kind = "rates", a = pr[1], b = pr[2], r = NA, d = NA, alpha = 0.05, n = n)
}
write.csv(do.call(rbind, out), "tests/reference/report/n_needed_reference.csv", row.names = FALSE)
writeLines(R.version.string, "tests/reference/report/R_VERSION")
