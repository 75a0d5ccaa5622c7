//! One benchmark's samples and how they are reported (a table line, a JSON object).

use std::time::Duration;

use serde_json::Value;

pub(crate) struct Stats {
    pub(crate) name: &'static str,
    pub(crate) what: &'static str,
    pub(crate) samples: Vec<Duration>,
    /// Work items per sample (1 unless the sample timed a batch).
    pub(crate) per_sample: u64,
    /// The largest peak heap of one sample, when measured.
    pub(crate) peak_bytes: Option<usize>,
}

impl Stats {
    fn sorted(&self) -> Vec<Duration> {
        let mut s = self.samples.clone();
        s.sort();
        s
    }

    pub(crate) fn quantile(&self, q: f64) -> Duration {
        let s = self.sorted();
        let i = ((s.len() - 1) as f64 * q).round() as usize;
        s[i] / u32::try_from(self.per_sample).unwrap_or(u32::MAX)
    }

    pub(crate) fn json(&self) -> Value {
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        serde_json::json!({
            "name": self.name,
            "what": self.what,
            "runs": self.samples.len(),
            "perSample": self.per_sample,
            "medianMicros": us(self.quantile(0.5)),
            "p95Micros": us(self.quantile(0.95)),
            "minMicros": us(self.quantile(0.0)),
            "peakHeapBytes": self.peak_bytes,
        })
    }
}

pub(crate) fn fmt(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us >= 1e6 {
        format!("{:.2} s", us / 1e6)
    } else if us >= 1e3 {
        format!("{:.2} ms", us / 1e3)
    } else {
        format!("{us:.2} µs")
    }
}
