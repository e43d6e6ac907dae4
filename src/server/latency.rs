//! Drawing a latency from the scenario's `latency` (fixed, uniform or log-normal).

use std::time::Duration;

use rand::RngExt;
use rand_distr::{Distribution, LogNormal};

use crate::rng::Rng;
use crate::scenario::{Latency, LatencyDist};

/// The standard normal's 99th percentile: a log-normal's p99 is exp(mu + Z99 * sigma).
const Z99: f64 = 2.326_347_874_040_841;

#[derive(Clone, Debug)]
pub(crate) enum Sampler {
    Fixed(Duration),
    Uniform { min_ms: u64, max_ms: u64 },
    LogNormal(LogNormal<f64>),
}

impl Sampler {
    pub(crate) fn new(latency: &Latency) -> Sampler {
        match latency {
            Latency::Fixed(d) => Sampler::Fixed(d.to_std()),
            Latency::Dist(LatencyDist::Uniform { min, max }) => Sampler::Uniform {
                min_ms: min.as_ms().max(0) as u64,
                max_ms: max.as_ms().max(min.as_ms()).max(0) as u64,
            },
            Latency::Dist(LatencyDist::Lognormal { median, p99 }) => {
                let mu = (median.as_ms().max(1) as f64).ln();
                let sigma = ((p99.as_ms().max(1) as f64).ln() - mu).max(0.0) / Z99;
                match LogNormal::new(mu, sigma) {
                    Ok(d) => Sampler::LogNormal(d),
                    Err(_) => Sampler::Fixed(median.to_std()),
                }
            }
        }
    }

    pub(crate) fn sample(&self, rng: &mut Rng) -> Duration {
        match self {
            Sampler::Fixed(d) => *d,
            Sampler::Uniform { min_ms, max_ms } => {
                Duration::from_millis(rng.random_range(*min_ms..=*max_ms))
            }
            Sampler::LogNormal(d) => Duration::from_millis(d.sample(rng).round() as u64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::duration::Dur;

    #[test]
    fn lognormal_hits_its_median_and_p99() {
        let s = Sampler::new(&Latency::Dist(LatencyDist::Lognormal {
            median: Dur::ms(20),
            p99: Dur::ms(250),
        }));
        let mut rng = crate::rng::rng(1, &[]);
        let mut v: Vec<u64> = (0..100_000)
            .map(|_| s.sample(&mut rng).as_millis() as u64)
            .collect();
        v.sort_unstable();
        let median = v[50_000];
        let p99 = v[99_000];
        assert!((19..=21).contains(&median), "median {median}");
        assert!((230..=270).contains(&p99), "p99 {p99}");
    }

    #[test]
    fn uniform_stays_in_bounds() {
        let s = Sampler::new(&Latency::Dist(LatencyDist::Uniform {
            min: Dur::ms(5),
            max: Dur::ms(50),
        }));
        let mut rng = crate::rng::rng(1, &[]);
        let v: Vec<u128> = (0..10_000)
            .map(|_| s.sample(&mut rng).as_millis())
            .collect();
        assert!(v.iter().all(|&x| (5..=50).contains(&x)));
        assert!(v.contains(&5) && v.contains(&50));
    }
}
