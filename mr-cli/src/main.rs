//! The `mr` binary: the CLI over the shipped jobs.

mr_cli::main!(mr_cli::Registry::builtin());
