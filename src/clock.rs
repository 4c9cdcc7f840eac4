//! The fleet clock: wall time, or demo time running `speed` times faster.

use chrono::{DateTime, Duration, Utc};
use std::time::Instant;

#[derive(Clone, Debug)]
pub struct Clock {
    anchor: DateTime<Utc>,
    started: Instant,
    speed: f64,
}

impl Clock {
    /// A clock that reads `anchor` now and advances `speed` times real time.
    pub fn new(anchor: DateTime<Utc>, speed: f64) -> Self {
        Clock {
            anchor,
            started: Instant::now(),
            speed: speed.max(0.0),
        }
    }
    pub fn wall() -> Self {
        Clock::new(Utc::now(), 1.0)
    }
    pub fn now(&self) -> DateTime<Utc> {
        let ms = (self.started.elapsed().as_secs_f64() * self.speed * 1000.0) as i64;
        self.anchor + Duration::milliseconds(ms)
    }
    pub fn speed(&self) -> f64 {
        self.speed
    }
    pub fn anchor(&self) -> DateTime<Utc> {
        self.anchor
    }
}
