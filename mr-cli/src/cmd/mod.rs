//! One module per subcommand, each with a `run` function.

pub mod check;
pub mod gen;
pub mod jobs;
pub mod run;
