//! One module per subcommand, each with a `run` function.

pub mod check;
pub mod generate;
pub mod help;
pub mod jobs;
pub mod man;
pub mod new;
pub mod report;
pub mod report_html;
pub mod run;
pub mod status_line;
pub mod summary;
