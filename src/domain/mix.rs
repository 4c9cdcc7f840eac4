//! Which members serve a forecast's horizons, with their weights, as the
//! forecast pane and `nodecast models` show them.

use serde::{Deserialize, Serialize};

/// The ensemble members serving one horizon and their weights (summing to 1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HorizonMix {
    pub horizon: usize,
    pub members: Vec<(String, f64)>,
    /// The share of the forecast that is the members' weighted median under
    /// these weights, the rest their weighted mean (none in records saved
    /// before it was kept).
    #[serde(default)]
    pub median_share: f64,
}

impl HorizonMix {
    /// "24 h (½ median)": the horizon, and the median's share where it has one.
    pub fn label(&self) -> String {
        match self.median_share {
            s if s <= 0.0 => format!("{} h", self.horizon),
            s if (s - 0.5).abs() < 1e-9 => format!("{} h (½ median)", self.horizon),
            s => format!("{} h ({} median)", self.horizon, weight_text(s)),
        }
    }

    /// "6 h seasonal168 .60 ets .10 lstm .30", as plain text.
    pub fn describe(&self) -> String {
        let mut s = self.label();
        for (name, w) in &self.members {
            s.push_str(&format!(" {name} {}", weight_text(*w)));
        }
        s
    }
}

/// A member's weight as the screens show it: ".67", "1.00".
pub fn weight_text(w: f64) -> String {
    format!("{w:.2}").trim_start_matches('0').to_string()
}
