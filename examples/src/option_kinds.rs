//! `option_kinds`: **a test fixture** for the kinds of job option mrjob's
//! argparse offers beyond a plain value, as `mr run` parses them and hands
//! them to tasks on every runner. Do not copy it for its logic.
//!
//! - `--client` takes only `web` or `mobile` (argparse's `choices`);
//! - `--kind` may be given any number of times (`action='append'`);
//! - `--lookup` is a file option (`add_file_arg`), `PATH` or `PATH#NAME`.
//!
//! Each input line is counted under `[client, kind, lookup]` once for each
//! `--kind` whose text it contains (under `kind` null, once, when no
//! `--kind` is given), where `lookup` is `NAME: FIRST LINE` of the file
//! option's file as the task finds it (NAME: the file name of the path the
//! task is given), or null.

use mr_core::reducers::Sum;
use mr_core::{Emitter, Job, JobError, JobOption, Mapper, Step, TaskContext, TextLine};

/// The job.
pub struct OptionKinds;

impl Job for OptionKinds {
    fn name(&self) -> &str {
        "option_kinds"
    }
    fn description(&self) -> &str {
        "TEST FIXTURE: counts lines by --client (choices), each --kind they contain (repeated) and the --lookup file option's name and first line."
    }
    fn options(&self) -> Vec<JobOption> {
        vec![
            JobOption::string("client")
                .choices(&["web", "mobile"])
                .default("web")
                .help("Which client's lines these are."),
            JobOption::string("kind")
                .repeated()
                .help("Count the lines that contain this text; may be repeated."),
            JobOption::file("lookup").help("A file whose name and first line join the key."),
        ]
    }
    fn steps(&self) -> Vec<Step> {
        vec![Step::map(Kinds::default()).reduce(Sum::new())]
    }
}

/// The key a line is counted under: client, kind, lookup.
type Key = (String, Option<String>, Option<String>);

/// Counts each line under its keys.
#[derive(Clone, Default)]
pub struct Kinds {
    client: String,
    kinds: Vec<String>,
    lookup: Option<String>,
}

impl Mapper for Kinds {
    type Input<'a> = TextLine<'a>;
    type Key = Key;
    type Value = u64;

    fn init(&mut self, ctx: &TaskContext) -> Result<(), JobError> {
        self.client = ctx.option("client")?;
        self.kinds = ctx.strings("kind");
        if let Some(path) = ctx.option_str("lookup") {
            let text = std::fs::read_to_string(path)
                .map_err(|e| JobError::msg(format!("--lookup {path}: {e}")))?;
            let name = std::path::Path::new(path)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            self.lookup = Some(format!("{name}: {}", text.lines().next().unwrap_or("")));
        }
        Ok(())
    }

    fn map(
        &mut self,
        TextLine(line): TextLine<'_>,
        out: &mut Emitter<Key, u64>,
    ) -> Result<(), JobError> {
        let key = |kind: Option<&String>| (self.client.clone(), kind.cloned(), self.lookup.clone());
        if self.kinds.is_empty() {
            return out.emit(&key(None), 1);
        }
        for kind in self.kinds.iter().filter(|k| line.contains(k.as_str())) {
            out.emit(&key(Some(kind)), 1)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mr_core::JobParams;
    use mr_core::testing::run_in_memory_with;

    /// Each `--kind` counts the lines holding it; none given, every line
    /// once; the client's default applies.
    #[test]
    fn counts_each_kind_a_line_holds() {
        let lines = ["quiz a", "wiki", "quiz wiki"];
        let params = JobParams::defaults(&OptionKinds).with_values("kind", &["quiz", "wiki"]);
        let (out, _) = run_in_memory_with(&OptionKinds, params, &lines).unwrap();
        assert_eq!(
            out,
            ["[\"web\",\"quiz\",null]\t2", "[\"web\",\"wiki\",null]\t2"]
        );
        let params = JobParams::defaults(&OptionKinds).with_option("client", "mobile");
        let (out, _) = run_in_memory_with(&OptionKinds, params, &lines).unwrap();
        assert_eq!(out, ["[\"mobile\",null,null]\t3"]);
    }
}
