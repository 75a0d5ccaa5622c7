//! Traffic weights in integer basis points, converted to Lambda's fraction exactly once.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Share of traffic on the target version, in basis points (0 = none, 10000 = all).
///
/// Arithmetic stays in integers; [`Weight::as_fraction`] is the single conversion to the
/// `0.0..1.0` float that Lambda's `AdditionalVersionWeights` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Weight(u16);

impl Weight {
    /// Basis points in 100%.
    pub const FULL_BP: u16 = 10_000;
    /// No traffic on the target.
    pub const ZERO: Weight = Weight(0);
    /// All traffic on the target.
    pub const FULL: Weight = Weight(Self::FULL_BP);

    /// A weight from basis points; `None` above 10000.
    pub const fn from_bp(bp: u32) -> Option<Weight> {
        if bp <= Self::FULL_BP as u32 {
            Some(Weight(bp as u16))
        } else {
            None
        }
    }

    /// A weight from whole percent; `None` above 100.
    pub const fn from_percent(percent: u32) -> Option<Weight> {
        if percent <= 100 {
            Some(Weight((percent * 100) as u16))
        } else {
            None
        }
    }

    /// Parses a percentage given as a JSON number (`10`, `2.5`, `0.01`): at most two decimals.
    pub fn from_percent_f64(percent: f64) -> Result<Weight, WeightError> {
        if !percent.is_finite() || !(0.0..=100.0).contains(&percent) {
            return Err(WeightError::OutOfRange(percent));
        }
        let scaled = percent * 100.0;
        let bp = scaled.round();
        if (scaled - bp).abs() > 1e-6 {
            return Err(WeightError::TooPrecise(percent));
        }
        Ok(Weight(bp as u16))
    }

    /// Lambda's weight for a fraction reported by the API, rounded to the nearest basis point.
    pub fn from_fraction(fraction: f64) -> Result<Weight, WeightError> {
        if !fraction.is_finite() || !(0.0..=1.0).contains(&fraction) {
            return Err(WeightError::OutOfRange(fraction * 100.0));
        }
        Ok(Weight((fraction * 10_000.0).round() as u16))
    }

    /// Basis points.
    pub const fn bp(self) -> u16 {
        self.0
    }

    /// The one conversion to Lambda's `AdditionalVersionWeights` fraction (`1000` → `0.1`).
    pub fn as_fraction(self) -> f64 {
        f64::from(self.0) / 10_000.0
    }

    /// Percent for display and reports (`1050` → `10.5`).
    pub fn as_percent(self) -> f64 {
        f64::from(self.0) / 100.0
    }

    /// True for 100%.
    pub const fn is_full(self) -> bool {
        self.0 == Self::FULL_BP
    }

    /// True for 0%.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl TryFrom<u32> for Weight {
    type Error = WeightError;
    fn try_from(bp: u32) -> Result<Self, Self::Error> {
        Weight::from_bp(bp).ok_or(WeightError::OutOfRange(f64::from(bp) / 100.0))
    }
}

impl From<Weight> for u32 {
    fn from(w: Weight) -> u32 {
        u32::from(w.0)
    }
}

impl fmt::Display for Weight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, frac) = (self.0 / 100, self.0 % 100);
        match frac {
            0 => write!(f, "{whole}%"),
            f2 if f2 % 10 == 0 => write!(f, "{whole}.{}%", f2 / 10),
            f2 => write!(f, "{whole}.{f2:02}%"),
        }
    }
}

/// Why a number is not a weight.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WeightError {
    /// Outside 0–100%.
    #[error("{0} is not a percentage between 0 and 100")]
    OutOfRange(f64),
    /// More than two decimals (finer than one basis point).
    #[error("{0} has more than two decimals; the finest weight is 0.01%")]
    TooPrecise(f64),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_reach_the_api_without_float_drift() {
        // 10% + 20% computed in basis points, converted once: exactly 0.3, never 0.30000000000000004.
        let w = Weight::from_bp(1000 + 2000).unwrap();
        assert_eq!(w.as_fraction().to_string(), "0.3");
        assert_ne!((0.1_f64 + 0.2).to_string(), "0.3");
        for bp in 0..=10_000u32 {
            let w = Weight::from_bp(bp).unwrap();
            let text = serde_json::to_string(&w.as_fraction()).unwrap();
            assert!(text.len() <= 6, "{bp} bp serialises as {text}");
            assert_eq!(Weight::from_fraction(w.as_fraction()).unwrap(), w);
        }
    }

    #[test]
    fn percent_parsing_accepts_two_decimals_only() {
        assert_eq!(Weight::from_percent_f64(10.0).unwrap().bp(), 1000);
        assert_eq!(Weight::from_percent_f64(0.01).unwrap().bp(), 1);
        assert_eq!(Weight::from_percent_f64(33.33).unwrap().bp(), 3333);
        assert_eq!(
            Weight::from_percent_f64(0.001),
            Err(WeightError::TooPrecise(0.001))
        );
        assert!(matches!(
            Weight::from_percent_f64(100.5),
            Err(WeightError::OutOfRange(_))
        ));
        assert!(matches!(
            Weight::from_percent_f64(-1.0),
            Err(WeightError::OutOfRange(_))
        ));
        assert!(matches!(
            Weight::from_percent_f64(f64::NAN),
            Err(WeightError::OutOfRange(_))
        ));
    }

    #[test]
    fn display_is_human() {
        assert_eq!(Weight::from_bp(1000).unwrap().to_string(), "10%");
        assert_eq!(Weight::from_bp(1050).unwrap().to_string(), "10.5%");
        assert_eq!(Weight::from_bp(1).unwrap().to_string(), "0.01%");
        assert_eq!(Weight::FULL.to_string(), "100%");
    }

    #[test]
    fn cannot_hold_more_than_full() {
        assert!(Weight::from_bp(10_001).is_none());
        assert!(serde_json::from_str::<Weight>("10001").is_err());
        assert_eq!(serde_json::from_str::<Weight>("2500").unwrap().bp(), 2500);
    }
}
