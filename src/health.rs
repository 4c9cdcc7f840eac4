//! The health of a source, or of a cluster (its worst source), at a time:
//! one type for the tabs, the status bar, the fleet table and `snapshot --json`.

use crate::domain::{SourceHealth, SourceStatus};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// How a source stands, or a cluster (its worst source), as the tabs, the
/// status bar, the fleet table and `snapshot --json` show it.
#[derive(Clone, Debug, PartialEq)]
pub enum Health {
    /// No data yet.
    Waiting,
    /// Data `age_secs` old.
    Ok {
        age_secs: i64,
    },
    /// The newest data is too old (`None`: the source has no data point).
    Stale {
        age_secs: Option<i64>,
    },
    Error(String),
}

impl Health {
    /// `waiting`, `ok`, `stale` or `error`.
    pub fn status(&self) -> &'static str {
        match self {
            Health::Waiting => "waiting",
            Health::Ok { .. } => "ok",
            Health::Stale { .. } => "stale",
            Health::Error(_) => "error",
        }
    }

    /// What is wrong, for a stale or failing source.
    pub fn message(&self) -> Option<String> {
        match self {
            Health::Stale { age_secs: Some(a) } => Some(format!("newest point {} h old", a / 3600)),
            Health::Stale { age_secs: None } => Some("no data points".into()),
            Health::Error(m) => Some(m.clone()),
            Health::Waiting | Health::Ok { .. } => None,
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Health::Ok { .. } => 0,
            Health::Waiting => 1,
            Health::Stale { .. } => 2,
            Health::Error(_) => 3,
        }
    }

    /// A source's health at `now` from what the store recorded: data older
    /// than `stale_after_secs` is stale.
    pub fn of_source(s: &SourceStatus, now: DateTime<Utc>, stale_after_secs: i64) -> Health {
        match (&s.health, s.last_data) {
            (SourceHealth::Error(m), _) => Health::Error(format!("{}: {m}", s.name)),
            (SourceHealth::Ok, None) => Health::Waiting,
            (SourceHealth::Ok, Some(t)) => {
                let age_secs = (now - t).num_seconds().max(0);
                if age_secs > stale_after_secs {
                    Health::Stale {
                        age_secs: Some(age_secs),
                    }
                } else {
                    Health::Ok { age_secs }
                }
            }
        }
    }

    /// A cluster's health: its worst source (waiting until one has data).
    pub fn of_cluster(
        sources: &[SourceStatus],
        now: DateTime<Utc>,
        stale_after_secs: i64,
    ) -> Health {
        let mut worst = Health::Waiting;
        for s in sources {
            let h = Health::of_source(s, now, stale_after_secs);
            if h.rank() > worst.rank() || matches!(worst, Health::Waiting) && h.rank() == 0 {
                worst = h;
            }
        }
        worst
    }
}

/// `{"status": "ok" | "stale" | "error" | "waiting", "message": text or null}`.
impl Serialize for Health {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Health", 2)?;
        st.serialize_field("status", self.status())?;
        st.serialize_field("message", &self.message())?;
        st.end()
    }
}
