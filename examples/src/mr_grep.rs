//! `mr_grep`: the input lines that match an expression, as they are (a port
//! of mrjob's `mr_grep.py`).
//!
//! ```text
//! mr run mr_grep -e 'ma+ry' INPUT        # python mr_grep.py -e 'ma+ry' INPUT
//! ```
//!
//! Map-only; the output protocol is `raw-value`, so each matching line is
//! written as it was read. mrjob's job runs `grep -e EXPR` as its mapper;
//! here the expression is a Rust regex (the syntax of `grep -E`, which
//! agrees with `grep -e` on words, `.`, `*`, `[...]`, `^` and `$`).

use mr_core::{
    Emitter, Job, JobError, JobOption, Mapper, OutputProtocol, Step, TaskContext, TextLine,
};

/// The job.
pub struct MrGrep;

impl Job for MrGrep {
    fn name(&self) -> &str {
        "mr_grep"
    }
    fn description(&self) -> &str {
        "Input lines matching -e/--expression (port of mrjob's mr_grep)."
    }
    fn options(&self) -> Vec<JobOption> {
        vec![JobOption::string("expression")
            .short('e')
            .required()
            .help("Expression to search for. Required.")]
    }
    fn output_protocol(&self) -> OutputProtocol {
        OutputProtocol::RawValue
    }
    fn steps(&self) -> Vec<Step> {
        vec![Step::map(Grep { re: None }).into()]
    }
}

/// Emits each matching line as the value (key `null`).
#[derive(Clone)]
pub struct Grep {
    re: Option<regex::Regex>,
}

impl Mapper for Grep {
    type Input<'a> = TextLine<'a>;
    type Key = ();
    type Value = String;

    fn init(&mut self, ctx: &TaskContext) -> Result<(), JobError> {
        let expr: String = ctx.option("expression")?;
        self.re = Some(regex::Regex::new(&expr)?);
        Ok(())
    }

    fn map(
        &mut self,
        TextLine(line): TextLine<'_>,
        out: &mut Emitter<(), String>,
    ) -> Result<(), JobError> {
        if self.re.as_ref().is_some_and(|re| re.is_match(&line)) {
            out.emit(&(), line.into_owned())?;
        }
        Ok(())
    }
}
