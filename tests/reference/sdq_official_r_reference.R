# SDQ reference scores computed with the logic of the sdqinfo official R scoring
# function: a subscale is rowMeans(items, na.rm = TRUE) * 5 when fewer than 3 of
# its 5 items are missing, rounded with floor(0.5 + x); reverse items 7, 11, 14,
# 21, 25 are 2 - x; total = emotion + conduct + hyper + peer (NA if any is NA).
# Run: Rscript tests/reference/sdq_official_r_reference.R
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
set.seed(20260101)
n <- 40
resp <- matrix(sample(0:2, n * 25, replace = TRUE), nrow = n)
# knock out items at random, heavier for some rows, to exercise prorating
for (i in 1:n) {
  k <- c(0, 0, 1, 2, 3, 5, 8)[(i %% 7) + 1]
  if (k > 0) resp[i, sample(1:25, k)] <- NA
}
rev_items <- c(7, 11, 14, 21, 25)
scored <- resp
scored[, rev_items] <- 2 - scored[, rev_items]
scale <- function(items) {
  block <- scored[, items, drop = FALSE]
  nmiss <- apply(block, 1, function(x) sum(is.na(x)))
  s <- ifelse(nmiss < 3, rowMeans(block, na.rm = TRUE), NA) * 5
  floor(0.5 + s)
}
emotion <- scale(c(3, 8, 13, 16, 24))
conduct <- scale(c(5, 7, 12, 18, 22))
hyper <- scale(c(2, 10, 15, 21, 25))
peer <- scale(c(6, 11, 14, 19, 23))
prosoc <- scale(c(1, 4, 9, 17, 20))
out <- data.frame(person_id = sprintf("P%02d", 1:n), resp)
names(out)[-1] <- paste0("i", 1:25)
out$emotional <- emotion
out$conduct <- conduct
out$hyperactivity <- hyper
out$peer <- peer
out$prosocial <- prosoc
out$total_difficulties <- emotion + conduct + hyper + peer
out$externalising <- conduct + hyper
out$internalising <- emotion + peer
write.csv(out, file.path(here, "sdq_official_r_reference.csv"), row.names = FALSE, na = "")
