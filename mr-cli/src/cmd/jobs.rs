//! `mr jobs`: the jobs this binary knows, one line each.

use crate::Registry;
use std::io::Write;

/// Prints `name  description` for every job.
pub fn run(registry: &Registry, out: &mut dyn Write) -> anyhow::Result<()> {
    let width = registry.jobs().map(|j| j.name().len()).max().unwrap_or(0);
    for job in registry.jobs() {
        writeln!(out, "{:width$}  {}", job.name(), job.description())?;
    }
    Ok(())
}
