//! `mr gen`: deterministic test data (see [`crate::generate`]).

/// Runs `mr gen`.
pub fn run(args: &crate::generate::GenArgs) -> anyhow::Result<()> {
    crate::generate::run(args)
}
