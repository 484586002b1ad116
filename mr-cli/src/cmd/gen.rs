//! `mr gen`: deterministic test data (see [`crate::gen`]).

/// Runs `mr gen`.
pub fn run(args: &crate::gen::GenArgs) -> anyhow::Result<()> {
    crate::gen::run(args)
}
