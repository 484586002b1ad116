//! The `mr` binary: the CLI over the shipped jobs.

fn main() -> std::process::ExitCode {
    mr_cli::main_with(mr_cli::Registry::builtin())
}
