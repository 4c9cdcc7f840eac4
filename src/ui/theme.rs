//! Colour themes from themes/*.toml (built in) or a user file; `NO_COLOR` honoured.

use anyhow::{Result, anyhow};
use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use std::path::Path;
use std::str::FromStr;

pub const BUILTIN: [(&str, &str); 3] = [
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
];

#[derive(Clone, Debug, PartialEq)]
pub struct Theme {
    pub name: String,
    pub fg: Color,
    pub bg: Color,
    pub dim: Color,
    pub accent: Color,
    pub tab_active: Color,
    pub demo_badge: Color,
    pub allocatable: Color,
    pub requests: Color,
    pub usage: Color,
    pub actual: Color,
    pub p50: Color,
    pub band: Color,
    pub now_marker: Color,
    pub ok: Color,
    pub warn: Color,
    pub error: Color,
    /// `NO_COLOR`: every colour is the terminal default; emphasis by modifiers.
    pub plain: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: String,
    fg: String,
    bg: String,
    dim: String,
    accent: String,
    tab_active: String,
    demo_badge: String,
    allocatable: String,
    requests: String,
    usage: String,
    actual: String,
    p50: String,
    band: String,
    now_marker: String,
    ok: String,
    warn: String,
    error: String,
}

impl Theme {
    /// Parses a theme file's text; errors name the file, line and field.
    pub fn parse(text: &str, file: &str) -> Result<Theme> {
        let f: ThemeFile = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|s| {
                    let (l, c) = crate::config::line_col(text, s.start);
                    format!(" line {l}, column {c}:")
                })
                .unwrap_or_default();
            anyhow!("theme {file}:{at} {}", e.message().trim())
        })?;
        let c = |field: &str, v: &str| {
            Color::from_str(v)
                .map_err(|_| anyhow!("theme {file}: field `{field}`: {v:?} is not a colour"))
        };
        Ok(Theme {
            name: f.name.clone(),
            fg: c("fg", &f.fg)?,
            bg: c("bg", &f.bg)?,
            dim: c("dim", &f.dim)?,
            accent: c("accent", &f.accent)?,
            tab_active: c("tab_active", &f.tab_active)?,
            demo_badge: c("demo_badge", &f.demo_badge)?,
            allocatable: c("allocatable", &f.allocatable)?,
            requests: c("requests", &f.requests)?,
            usage: c("usage", &f.usage)?,
            actual: c("actual", &f.actual)?,
            p50: c("p50", &f.p50)?,
            band: c("band", &f.band)?,
            now_marker: c("now_marker", &f.now_marker)?,
            ok: c("ok", &f.ok)?,
            warn: c("warn", &f.warn)?,
            error: c("error", &f.error)?,
            plain: false,
        })
    }

    /// A built-in theme by name, or a theme file by path.
    pub fn load(name_or_path: &str) -> Result<Theme> {
        if let Some((_, text)) = BUILTIN.iter().find(|(n, _)| *n == name_or_path) {
            return Theme::parse(text, &format!("themes/{name_or_path}.toml"));
        }
        let p = Path::new(name_or_path);
        if p.extension().is_some_and(|e| e == "toml") || p.exists() {
            let text = std::fs::read_to_string(p)
                .map_err(|e| anyhow!("theme {}: cannot read: {e}", p.display()))?;
            return Theme::parse(&text, &p.display().to_string());
        }
        Err(anyhow!(
            "unknown theme {name_or_path:?}: use one of {} or a path to a .toml file",
            BUILTIN.map(|(n, _)| n).join(", ")
        ))
    }

    pub fn dark() -> Theme {
        // The built-in file is tested; fall back to plain if it were ever broken.
        Theme::load("dark").unwrap_or_else(|_| Theme::plain())
    }

    /// The theme for `NO_COLOR`: terminal default colours throughout.
    pub fn plain() -> Theme {
        let r = Color::Reset;
        Theme {
            name: "no-color".into(),
            fg: r,
            bg: r,
            dim: r,
            accent: r,
            tab_active: r,
            demo_badge: r,
            allocatable: r,
            requests: r,
            usage: r,
            actual: r,
            p50: r,
            band: r,
            now_marker: r,
            ok: r,
            warn: r,
            error: r,
            plain: true,
        }
    }

    pub fn base(&self) -> Style {
        Style::default().fg(self.fg).bg(self.bg)
    }
    pub fn fg(&self, c: Color) -> Style {
        Style::default().fg(c)
    }
    pub fn dim(&self) -> Style {
        Style::default().fg(self.dim)
    }
    /// Style of a warning; bold as well so it shows without colour.
    pub fn warning(&self) -> Style {
        Style::default().fg(self.warn).add_modifier(Modifier::BOLD)
    }
    pub fn failure(&self) -> Style {
        Style::default().fg(self.error).add_modifier(Modifier::BOLD)
    }
    pub fn title(&self) -> Style {
        Style::default()
            .fg(self.accent)
            .add_modifier(Modifier::BOLD)
    }
}
