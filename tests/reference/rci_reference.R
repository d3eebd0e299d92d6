# Reference values for the Jacobson & Truax (1991) reliable change index.
# Base R only; run: Rscript tests/reference/rci_reference.R
# SE = s1 * sqrt(1 - rxx); Sdiff = sqrt(2 * SE^2); RC = (x2 - x1) / Sdiff  (J&T 1991, p. 14)
cases <- data.frame(
  pre = c(20, 30, 14, 50, 22.5, 8, 45),
  post = c(33, 14, 14, 38, 17, 21, 60),
  reliability = c(0.8, 0.8, 0.8, 0.93, 0.71, 0.89, 0.95),
  sd = c(10, 10, 10, 8.8, 3.9, 5.6, 7.6)
)
se <- cases$sd * sqrt(1 - cases$reliability)
sdiff <- sqrt(2 * se^2)
cases$rci <- (cases$post - cases$pre) / sdiff
write.csv(cases, file.path(dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE))), "rci_reference.csv"), row.names = FALSE)
