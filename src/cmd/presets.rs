//! `tokenstorm presets`: the SDK presets `policy.preset` accepts, one per line.

use super::Failure;
use super::output::out;

pub fn presets() -> Result<(), Failure> {
    let width = tokenstorm::scenario::presets::ALL
        .iter()
        .map(|p| p.name.len())
        .max()
        .unwrap_or(0);
    let mut text = String::new();
    for p in tokenstorm::scenario::presets::ALL {
        text.push_str(&format!("{:width$}  {}: {}\n", p.name, p.sdk, p.summary));
    }
    text.push_str(
        "\nUse one with `policy: { preset: NAME }`; keys written beside it override it.\n",
    );
    out(&text);
    Ok(())
}
