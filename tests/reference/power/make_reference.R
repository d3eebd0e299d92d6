# Reference values for evalkit.designs.power, from R's stats package.
# Run: Rscript tests/reference/power/make_reference.R  (writes power_reference.csv here)
out <- data.frame()
grid_t <- expand.grid(delta = c(0.5, 2, 3.5), sd = c(1, 5, 8), type = c("paired", "two.sample"),
                      power = c(0.8, 0.9), alpha = c(0.05, 0.01), stringsAsFactors = FALSE)
for (i in seq_len(nrow(grid_t))) {
  g <- grid_t[i, ]
  n <- power.t.test(delta = g$delta, sd = g$sd, power = g$power, sig.level = g$alpha, type = g$type)$n
  out <- rbind(out, data.frame(kind = "t", a = g$delta, b = g$sd, type = g$type, power = g$power,
                               alpha = g$alpha, n = n))
}
grid_p <- expand.grid(p1 = c(0.1, 0.4, 0.55), p2 = c(0.2, 0.3, 0.7), power = c(0.8, 0.9), alpha = c(0.05, 0.01))
for (i in seq_len(nrow(grid_p))) {
  g <- grid_p[i, ]
  if (g$p1 == g$p2) next
  n <- power.prop.test(p1 = g$p1, p2 = g$p2, power = g$power, sig.level = g$alpha)$n
  out <- rbind(out, data.frame(kind = "prop", a = g$p1, b = g$p2, type = "", power = g$power,
                               alpha = g$alpha, n = n))
}
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
write.csv(out, file.path(here, "power_reference.csv"), row.names = FALSE)
cat(R.version.string, "\n", file = file.path(here, "R_VERSION"))
