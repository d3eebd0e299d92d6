# Multiplicity adjustments for evalkit.analysis.commissioning.adjust_pvalues, from R's stats::p.adjust.
# Run from this folder: Rscript make_reference.R  (base R only). Writes p_adjust.csv.
set.seed(20261202)
sets <- list(
  portfolio = c(0.0156, 0.037, 0.001, 0.2, 0.049, 0.0004, 0.6, 0.03, 0.012, 0.9, 0.0021, 0.044, 0.5, 0.07,
                0.33, 0.0156, 0.81, 0.02, 0.0009, 0.27, 0.045, 0.11, 0.64, 0.03, 0.0001, 0.38, 0.052, 0.99),
  ties = c(0.01, 0.01, 0.02, 0.02, 0.04, 0.04, 0.5),
  random = round(runif(40)^3, 6),
  single = c(0.03)
)
rows <- list()
for (nm in names(sets)) {
  p <- sets[[nm]]
  rows[[nm]] <- data.frame(set = nm, index = seq_along(p), p = p, bh = p.adjust(p, "BH"), holm = p.adjust(p, "holm"))
}
write.csv(do.call(rbind, rows), "p_adjust.csv", row.names = FALSE)
writeLines(R.version.string, "versions.txt")
