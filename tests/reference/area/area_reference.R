# Reference values for evalkit.designs.area (baseline and rate DiD) on the fixed fixture
# written by make_area_fixture.py. Independent of evalkit: base R glm, MASS::glm.nb and
# sandwich::vcovCL. Run: Rscript area_reference.R  (writes area_reference.csv)
library(MASS)
library(sandwich)
d <- read.csv("area_fixture.csv", stringsAsFactors = FALSE)
d$month <- as.Date(d$month)
sv <- d[d$indicator == "serious_violence", ]
out <- data.frame()
add <- function(case, term, coef, se, extra = NA) {
  out <<- rbind(out, data.frame(case = case, term = term, coef = coef, se = se, extra = extra))
}

# --- Table A: 2020-04..2021-03 against 2017-04..2020-03 -------------------------------
county <- c("Ashfield", "Bassetlaw", "Broxtowe", "Gedling", "Mansfield", "Newark and Sherwood", "Rushcliffe")
window <- function(x) {
  x <- x[x$month >= as.Date("2017-04-01") & x$month <= as.Date("2021-03-01"), ]
  x$period <- as.numeric(x$month >= as.Date("2020-04-01"))
  x
}
series <- list(
  Mansfield = window(sv[sv$area == "Mansfield", c("month", "count", "population")]),
  County = window(aggregate(cbind(count, population) ~ month, data = sv[sv$area %in% county, ], FUN = sum))
)
for (nm in names(series)) {
  x <- series[[nm]]
  p <- glm(count ~ period + offset(log(population)), family = poisson, data = x, control = glm.control(epsilon = 1e-12, maxit = 100))
  q <- glm(count ~ period + offset(log(population)), family = quasipoisson, data = x, control = glm.control(epsilon = 1e-12, maxit = 100))
  nb <- glm.nb(count ~ period + offset(log(population)), data = x, control = glm.control(epsilon = 1e-12, maxit = 100))
  add(paste0("baseline_", nm, "_poisson"), "period", coef(p)["period"], sqrt(vcov(p)["period", "period"]))
  add(paste0("baseline_", nm, "_quasi"), "period", coef(q)["period"], sqrt(vcov(q)["period", "period"]),
      summary(q)$dispersion)
  add(paste0("baseline_", nm, "_nb"), "period", coef(nb)["period"], sqrt(vcov(nb)["period", "period"]),
      1 / nb$theta)
}

# --- Rate DiD for FIX27 (Mansfield, Ashfield from 2019-10) ----------------------------
# Comparison areas that ran FIX28 (Gedling, Broxtowe, Newark and Sherwood) are dropped from 2020-04.
fix28 <- c("Gedling", "Broxtowe", "Newark and Sherwood")
p <- sv[!(sv$area %in% fix28 & sv$month >= as.Date("2020-04-01")), ]
p$D <- as.numeric(p$area %in% c("Mansfield", "Ashfield") & p$month >= as.Date("2019-10-01"))
fit <- glm(count ~ D + factor(area) + factor(month) + offset(log(population)), family = poisson, data = p, control = glm.control(epsilon = 1e-12, maxit = 100))
V <- vcovCL(fit, cluster = ~area, type = "HC0", cadjust = TRUE)  # CR0 x G/(G-1)
add("did_FIX27", "D", coef(fit)["D"], sqrt(V["D", "D"]), length(unique(p$area)))
# Differential pre-trend: months before 2019-10, treated x years since 2017-04
pre <- p[p$month < as.Date("2019-10-01"), ]
pre$tr_years <- as.numeric(pre$area %in% c("Mansfield", "Ashfield")) *
  (12 * (as.numeric(format(pre$month, "%Y")) - 2017) + as.numeric(format(pre$month, "%m")) - 4) / 12
fit2 <- glm(count ~ tr_years + factor(area) + factor(month) + offset(log(population)), family = poisson, data = pre, control = glm.control(epsilon = 1e-12, maxit = 100))
V2 <- vcovCL(fit2, cluster = ~area, type = "HC0", cadjust = TRUE)
add("pretrend_FIX27", "tr_years", coef(fit2)["tr_years"], sqrt(V2["tr_years", "tr_years"]), length(unique(pre$area)))
write.csv(out, "area_reference.csv", row.names = FALSE)
print(out, digits = 12)
