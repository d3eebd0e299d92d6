# Reference values for evalkit.designs.area.its from the Lopez Bernal, Cummins &
# Gasparrini (2017, Int J Epidemiol 46:348-355) tutorial data (sicily.csv, from
# github.com/gasparrini/2017_lopezbernal_IJE_codedata, file sicily.csv). The models
# follow the authors' Rcode.R (model1-model4); tsModel is not installed here, so
# harmonic() is written out as in tsModel (frequencies 2^(0:(nfreq-1)); for nfreq = 2
# that is 1 and 2 cycles a year). Newey-West covariances come from sandwich.
# Run: Rscript its_sicily.R  (writes its_sicily_reference.csv)
library(sandwich)
harmonic <- function(x, nfreq, period) {
  k <- 2^(seq(0, nfreq - 1)) * 2 * pi / period
  M <- outer(as.numeric(x), k)
  cbind(sin(M), cos(M))
}
data <- read.csv("sicily.csv")
ctl <- glm.control(epsilon = 1e-12, maxit = 100)  # tighter than the default 1e-8, for 1e-8 comparisons
out <- data.frame()
add <- function(model_id, fit, V, terms) {
  for (tm in terms) {
    out <<- rbind(out, data.frame(model = model_id, term = tm, coef = unname(coef(fit)[tm]),
                                  se = sqrt(V[tm, tm]), dispersion = summary(fit)$dispersion))
  }
}
m1 <- glm(aces ~ offset(log(stdpop)) + smokban + time, family = poisson, data, control = ctl)
add("m1_poisson", m1, vcov(m1), c("smokban", "time"))
m2 <- glm(aces ~ offset(log(stdpop)) + smokban + time, family = quasipoisson, data, control = ctl)
add("m2_quasi", m2, vcov(m2), c("smokban", "time"))
m3 <- glm(aces ~ offset(log(stdpop)) + smokban + time + harmonic(month, 2, 12), family = quasipoisson, data, control = ctl)
add("m3_quasi_harmonic", m3, vcov(m3), c("smokban", "time"))
m4 <- glm(aces ~ offset(log(stdpop)) + smokban + time + I(time - 36):smokban + harmonic(month, 2, 12),
          family = quasipoisson, data, control = ctl)
cn4 <- names(coef(m4)); cn4[grepl(":", cn4)] <- "I(time - 36):smokban"; names(m4$coefficients) <- cn4
add("m4_quasi_harmonic_slope", m4, vcov(m4), c("smokban", "time", "I(time - 36):smokban"))
# Poisson fit of model 4 with Newey-West HAC: Bartlett kernel, lag 3 (= floor(4 (59/100)^(2/9))),
# no prewhitening, n/(n-k) adjustment.
p4 <- glm(aces ~ offset(log(stdpop)) + smokban + time + I(time - 36):smokban + harmonic(month, 2, 12),
          family = poisson, data, control = ctl)
V4 <- NeweyWest(p4, lag = 3, prewhite = FALSE, adjust = TRUE)
cn <- names(coef(p4)); cn[grepl(":", cn)] <- "I(time - 36):smokban"
names(p4$coefficients) <- cn; dimnames(V4) <- list(cn, cn)
add("p4_hac3", p4, V4, c("smokban", "time", "I(time - 36):smokban"))
# evalkit codes the slope term as (t - t0) post with t0 the first post month (time 37), so its
# step is smokban + slope here; its variance is a'Va with a = (smokban = 1, slope = 1).
for (nm in c("m4_quasi_harmonic_slope", "p4_hac3")) {
  fit <- if (nm == "p4_hac3") p4 else m4
  V <- if (nm == "p4_hac3") V4 else vcov(m4)
  a <- setNames(numeric(length(coef(fit))), names(coef(fit)))
  a[c("smokban", "I(time - 36):smokban")] <- 1
  out <- rbind(out, data.frame(model = nm, term = "step_at_first_post_month", coef = sum(a * coef(fit)),
                               se = sqrt(drop(t(a) %*% V %*% a)), dispersion = summary(fit)$dispersion))
}
write.csv(out, "its_sicily_reference.csv", row.names = FALSE)
print(out, digits = 12)
cat("m3 step RR and 95% CI (normal, as Epi::ci.exp):",
    exp(coef(m3)["smokban"] + c(0, -1, 1) * qnorm(0.975) * sqrt(vcov(m3)["smokban", "smokban"])), "\n")
