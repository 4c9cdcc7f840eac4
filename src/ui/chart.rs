//! A time chart of the last and next hours: actuals, the p50 forecast, the
//! p10-p90 band shaded, and "now" marked.

use super::fmt_num;
use super::theme::Theme;
use crate::domain::ForecastPoint;
use chrono::{DateTime, Duration, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::widgets::Widget;

/// Glyph of the band in `NO_COLOR` mode, where a background colour would not show.
pub const BAND_GLYPH_PLAIN: &str = "░";
pub const NOW_GLYPH: &str = "┊";
pub const ACTUAL_GLYPHS: (&str, &str) = ("─", "│");
pub const P50_GLYPHS: (&str, &str) = ("━", "┃");

pub struct BandChart<'a> {
    /// Hourly actuals (hour start, mean).
    pub actual: &'a [(DateTime<Utc>, f64)],
    pub forecast: &'a [ForecastPoint],
    pub now: DateTime<Utc>,
    pub past_hours: i64,
    pub future_hours: i64,
    /// Draw forecast points before `now` too (forecasts against what happened).
    pub hindsight: bool,
    /// Business events: start, end and label, marked on the top row.
    pub marks: &'a [(DateTime<Utc>, DateTime<Utc>, String)],
    pub theme: &'a Theme,
}

const LABEL_W: u16 = 8;

fn hour_of(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(3600)
}

impl BandChart<'_> {
    /// Time at the middle of column `c` of `w`.
    fn column_time(&self, c: u16, w: u16) -> DateTime<Utc> {
        let span = (self.past_hours + self.future_hours) * 3600;
        let start = self.now - Duration::hours(self.past_hours);
        start + Duration::seconds(((c as f64 + 0.5) / w as f64 * span as f64) as i64)
    }

    fn now_column(&self, w: u16) -> u16 {
        let frac = self.past_hours as f64 / (self.past_hours + self.future_hours) as f64;
        ((frac * w as f64) as u16).min(w.saturating_sub(1))
    }

    /// Actual and forecast values per column.
    fn columns(&self, w: u16) -> Vec<(Option<f64>, Option<ForecastPoint>)> {
        (0..w)
            .map(|c| {
                let t = self.column_time(c, w);
                let h = hour_of(t);
                let actual = if t <= self.now {
                    self.actual
                        .iter()
                        .find(|(ts, _)| hour_of(*ts) == h)
                        .map(|(_, v)| *v)
                } else {
                    None
                };
                let fc = if t >= self.now || self.hindsight {
                    self.forecast.iter().find(|p| hour_of(p.ts) == h).copied()
                } else {
                    None
                };
                (actual, fc)
            })
            .collect()
    }
}

impl BandChart<'_> {
    /// Each event as `▼` at its first column, `▔` over its span and its
    /// label after the `▼` where it fits, on the plot's top row.
    fn draw_marks(&self, buf: &mut Buffer, plot: Rect) {
        let style = Style::default().fg(self.theme.accent);
        for (start, end, label) in self.marks {
            let cols: Vec<u16> = (0..plot.width)
                .filter(|c| {
                    let t = self.column_time(*c, plot.width);
                    // A column covers ~(span / width); take it when its
                    // hour is one of the event's.
                    let h = hour_of(t);
                    h >= hour_of(*start) && h < hour_of(*end).max(hour_of(*start) + 1)
                })
                .collect();
            let Some(first) = cols.first().copied() else {
                continue;
            };
            for c in &cols {
                buf[(plot.x + c, plot.y)].set_symbol("▔").set_style(style);
            }
            buf[(plot.x + first, plot.y)]
                .set_symbol("▼")
                .set_style(style);
            let room = plot.width.saturating_sub(first + 2) as usize;
            if room >= 6 {
                let text: String = label.chars().take(room).collect();
                buf.set_string(plot.x + first + 2, plot.y, text, style);
            }
        }
    }
}

/// A step line: `glyphs.0` on each column's row, `glyphs.1` joining rows.
fn draw_line(
    buf: &mut Buffer,
    plot: Rect,
    rows: &[Option<u16>],
    style: Style,
    glyphs: (&str, &str),
) {
    let mut prev: Option<u16> = None;
    for (c, r) in rows.iter().enumerate() {
        let x = plot.x + c as u16;
        let Some(r) = *r else {
            prev = None;
            continue;
        };
        if let Some(p) = prev {
            let (a, b) = (p.min(r), p.max(r));
            for rr in a + 1..b {
                buf[(x, plot.y + rr)].set_symbol(glyphs.1).set_style(style);
            }
        }
        buf[(x, plot.y + r)].set_symbol(glyphs.0).set_style(style);
        prev = Some(r);
    }
}

impl Widget for BandChart<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.width < LABEL_W + 10 || area.height < 4 {
            return;
        }
        let plot = Rect::new(
            area.x + LABEL_W,
            area.y,
            area.width - LABEL_W,
            area.height - 1,
        );
        let cols = self.columns(plot.width);
        let values = cols.iter().flat_map(|(a, f)| {
            a.iter()
                .copied()
                .chain(f.iter().flat_map(|p| [p.p10, p.p50, p.p90]))
        });
        let (mut lo, mut hi) = values.fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(v), h.max(v)));
        if lo > hi {
            buf.set_string(
                plot.x + 1,
                plot.y + plot.height / 2,
                "no data yet",
                self.theme.dim(),
            );
            return;
        }
        let pad = ((hi - lo) * 0.05).max(hi.abs() * 0.02).max(0.5);
        lo = (lo - pad).max(0.0);
        hi += pad;
        let h = plot.height;
        let row = |v: f64| -> u16 {
            let f = ((hi - v) / (hi - lo)).clamp(0.0, 1.0);
            (f * (h - 1) as f64).round() as u16
        };
        // Band.
        let band = if self.theme.plain {
            (BAND_GLYPH_PLAIN, Style::default())
        } else {
            (" ", Style::default().bg(self.theme.band))
        };
        for (c, (_, f)) in cols.iter().enumerate() {
            if let Some(p) = f {
                for r in row(p.p90)..=row(p.p10) {
                    buf[(plot.x + c as u16, plot.y + r)]
                        .set_symbol(band.0)
                        .set_style(band.1);
                }
            }
        }
        // Now marker.
        let nc = plot.x + self.now_column(plot.width);
        for r in 0..h {
            let cell = &mut buf[(nc, plot.y + r)];
            if cell.symbol() == " " {
                cell.set_symbol(NOW_GLYPH).set_fg(self.theme.now_marker);
            }
        }
        let p50: Vec<Option<u16>> = cols.iter().map(|(_, f)| f.map(|p| row(p.p50))).collect();
        draw_line(
            buf,
            plot,
            &p50,
            Style::default()
                .fg(self.theme.p50)
                .add_modifier(Modifier::BOLD),
            P50_GLYPHS,
        );
        let act: Vec<Option<u16>> = cols.iter().map(|(a, _)| a.map(row)).collect();
        draw_line(
            buf,
            plot,
            &act,
            Style::default().fg(self.theme.actual),
            ACTUAL_GLYPHS,
        );
        self.draw_marks(buf, plot);
        // Y labels.
        let dim = self.theme.dim();
        for (r, v) in [(0, hi), (h / 2, (hi + lo) / 2.0), (h - 1, lo)] {
            let s = format!("{:>7}", fmt_num(v));
            buf.set_string(area.x, plot.y + r, s, dim);
            buf.set_string(area.x + LABEL_W - 1, plot.y + r, "┤", dim);
        }
        // X labels.
        let y = plot.y + h;
        let w = plot.width;
        let past = self.past_hours;
        let fut = self.future_hours;
        buf.set_string(plot.x, y, format!("-{past}h"), dim);
        let now_label = "now";
        buf.set_string(
            nc.saturating_sub(if fut == 0 { 2 } else { 1 }),
            y,
            now_label,
            Style::default().fg(self.theme.now_marker),
        );
        if fut == 0 {
            let q = w / 2;
            buf.set_string(plot.x + q - 2, y, format!("-{}h", past / 2), dim);
            return;
        }
        let right = format!("+{fut}h");
        buf.set_string(plot.x + w - right.len() as u16, y, right, dim);
        let q = w / 4;
        if q > 8 {
            buf.set_string(plot.x + q - 2, y, format!("-{}h", past / 2), dim);
            buf.set_string(plot.x + 3 * q - 2, y, format!("+{}h", fut / 2), dim);
        }
    }
}

/// The legend's spans: actual, the p50 line named `p50`, the band named
/// `band`; the caller adds what follows.
pub fn legend<'a>(t: &Theme, p50: String, band: String) -> Vec<ratatui::text::Span<'a>> {
    use ratatui::text::Span;
    let swatch = if t.plain {
        Span::raw(BAND_GLYPH_PLAIN.repeat(2))
    } else {
        Span::styled("  ", Style::default().bg(t.band))
    };
    vec![
        Span::styled(" ── ", Style::default().fg(t.actual)),
        Span::styled("actual   ", t.dim()),
        Span::styled(
            "━━ ",
            Style::default().fg(t.p50).add_modifier(Modifier::BOLD),
        ),
        Span::styled(p50, t.dim()),
        swatch,
        Span::styled(band, t.dim()),
    ]
}
