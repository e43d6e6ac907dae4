//! A Markdown summary fit for a CI step summary or a pull-request comment: the
//! thresholds' verdicts first, then the key figures, one table row per metric, then one
//! line per outage on how the run recovered from it. A
//! comparison puts the variants side by side with the best value of each row in bold.

use comfy_table::Table;
use comfy_table::presets::ASCII_MARKDOWN;

use super::{ExportError, Exporter};
use crate::report::comparison::{Comparison, METRICS};
use crate::report::format::{figure, figure_at};
use crate::report::verdicts::Verdicts;
use crate::report::{Report, recovery};

pub struct Markdown;

fn table(header: Vec<String>, rows: Vec<Vec<String>>) -> String {
    let mut t = Table::new();
    t.load_style(ASCII_MARKDOWN);
    t.set_header(header);
    for r in rows {
        t.add_row(r);
    }
    let mut s: String = t
        .to_string()
        .lines()
        .map(|l| format!("{}\n", l.trim_end()))
        .collect();
    s.push('\n');
    s
}

/// Markdown's mark for a verdict, and for a headline of verdicts.
fn emoji(pass: bool) -> &'static str {
    if pass { "✅" } else { "❌" }
}

fn verdicts(verdicts: &Verdicts) -> String {
    if verdicts.is_empty() {
        return "No thresholds.\n\n".to_string();
    }
    table(
        vec!["".into(), "threshold".into(), "actual".into()],
        verdicts
            .rows
            .iter()
            .map(|v| {
                vec![
                    emoji(v.pass).to_string(),
                    format!("`{} {}`", v.metric, v.condition),
                    v.actual_figure.clone(),
                ]
            })
            .collect(),
    )
}

fn title(report: &Report, verdicts: &Verdicts) -> String {
    let (passed, all) = (verdicts.passed, verdicts.total());
    let mark = emoji(verdicts.all_passed());
    let name = match &report.variant {
        Some(v) => format!("{} · {v}", report.scenario),
        None => report.scenario.clone(),
    };
    format!("### {mark} tokenstorm · {name}: {passed} of {all} thresholds passed\n\n")
}

impl Exporter for Markdown {
    fn extension(&self) -> &'static str {
        "md"
    }

    fn export(&self, report: &Report) -> Result<Vec<u8>, ExportError> {
        let json = report.to_json();
        let judged = Verdicts::of(report);
        let mut out = title(report, &judged);
        if !report.description.is_empty() {
            out.push_str(&format!("{}\n\n", report.description));
        }
        out.push_str(&format!(
            "seed {} · {} · {} s simulated{}\n\n",
            report.seed,
            report.mode,
            figure(report.duration_seconds),
            if report.run_info.interrupted {
                " · interrupted"
            } else {
                ""
            }
        ));
        for w in &report.warnings {
            out.push_str(&format!("> ⚠️ {w}\n\n"));
        }
        out.push_str(&verdicts(&judged));
        out.push_str(&table(
            vec!["metric".into(), "value".into()],
            METRICS
                .iter()
                .map(|m| vec![format!("`{m}`"), figure_at(&json, m)])
                .collect(),
        ));
        if !report.outages.is_empty() {
            for o in &report.outages {
                out.push_str(&format!("- {}\n", recovery::describe(o)));
            }
            out.push('\n');
        }
        Ok(out.into_bytes())
    }

    fn export_comparison(
        &self,
        c: &Comparison,
        reports: &[Report],
    ) -> Result<Option<Vec<u8>>, ExportError> {
        let passed = c.variants.iter().filter(|v| v.thresholds_passed).count();
        let mark = if passed == c.variants.len() {
            "✅"
        } else {
            "❌"
        };
        let mut out = format!(
            "### {mark} tokenstorm compare · {}: {passed} of {} variants passed their thresholds\n\nseed {}{}\n\n",
            c.scenario,
            c.variants.len(),
            c.seed,
            c.swept
                .as_ref()
                .map(|p| format!(" · sweeping `{p}`"))
                .unwrap_or_default()
        );
        let mut header = vec!["metric".to_string()];
        header.extend(c.variants.iter().map(|v| v.name.clone()));
        out.push_str(&table(
            header,
            c.rows
                .iter()
                .map(|r| {
                    let mut row = vec![format!("`{}`", r.metric)];
                    row.extend(r.values.iter().enumerate().map(|(i, v)| {
                        if r.best.contains(&i) {
                            format!("**{}**", figure(*v))
                        } else {
                            figure(*v)
                        }
                    }));
                    row
                })
                .collect(),
        ));
        out.push_str("Best (lowest) value of each row in bold.\n\n");
        for r in reports {
            let judged = Verdicts::of(r);
            out.push_str(&title(r, &judged));
            out.push_str(&verdicts(&judged));
        }
        Ok(Some(out.into_bytes()))
    }
}
