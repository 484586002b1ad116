//! `mr_grep`: the input lines that match an expression (a port of mrjob's
//! `mr_grep.py`).
//!
//! ```text
//! mr run mr_grep -e 'ma\+ry' INPUT        # python mr_grep.py -e 'ma\+ry' INPUT
//! ```
//!
//! Map-only; the output protocol is `raw-value`, so each matching line is
//! written as text. mrjob's job runs `grep -e EXPR` as its mapper, so the
//! expression is a basic regular expression as GNU grep reads it ([`bre`]):
//! `+ ? | { } ( )` are plain characters, `\+ \? \| \{m,n\} \( \)` the
//! operators. Lines are matched as bytes: a Latin-1 `é` is not a UTF-8
//! `é`. Two differences from grep remain, both from how every job here
//! reads text: a line's `\r\n` end is read as `\n` (so `line$` matches
//! `line\r\n`, and the line is written without its `\r`), and a line that
//! is not UTF-8 is written as UTF-8 (read as Latin-1), where grep writes
//! it byte for byte. (grep in a UTF-8 locale takes a file with such a line
//! for binary and writes none of its lines; here they are kept.) Classes
//! such as `[[:upper:]]` are ASCII, where grep's follow the locale.

use mr_core::{
    Emitter, FromLine, Job, JobError, JobOption, Mapper, OutputProtocol, Step, TaskContext,
    TextLine,
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
        vec![
            JobOption::string("expression")
                .short('e')
                .required()
                .help("Expression to search for. Required."),
        ]
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
    re: Option<regex::bytes::Regex>,
}

impl Mapper for Grep {
    type Input<'a> = &'a [u8];
    type Key = ();
    type Value = String;

    fn init(&mut self, ctx: &TaskContext) -> Result<(), JobError> {
        let expr: String = ctx.option("expression")?;
        let re = bre(&expr).map_err(|e| JobError::msg(format!("-e {expr:?}: {e}")))?;
        self.re = Some(
            regex::bytes::RegexBuilder::new(&re)
                .build()
                .map_err(|e| JobError::msg(format!("-e {expr:?}: {e}")))?,
        );
        Ok(())
    }

    fn map(&mut self, line: &[u8], out: &mut Emitter<(), String>) -> Result<(), JobError> {
        if self.re.as_ref().is_some_and(|re| re.is_match(line))
            && let Ok(Some(TextLine(text))) = TextLine::from_line(line)
        {
            out.emit(&(), text.into_owned())?;
        }
        Ok(())
    }
}

/// A basic regular expression, as GNU grep reads `-e` (POSIX BRE and GNU's
/// `\+ \? \|`, `\< \>`, `\w \W \s \S \b \B`), in Rust's `regex` syntax.
/// Back-references (`\1`) have no equivalent there: an error.
///
/// ```
/// use mr_examples::mr_grep::bre;
/// assert_eq!(bre("a+b").unwrap(), r"a\+b");
/// assert_eq!(bre(r"a\|b").unwrap(), "a|b");
/// assert_eq!(bre(r"\(x\)\{2,\}").unwrap(), "(x){2,}");
/// assert_eq!(bre("*abc").unwrap(), r"\*abc");
/// assert_eq!(bre("a^b$c$").unwrap(), r"a\^b\$c$");
/// assert_eq!(bre(r"[]a\]").unwrap(), r"[\]a\\]");
/// assert_eq!(bre("[[:digit:]x-z]").unwrap(), "[[:digit:]x-z]");
/// assert_eq!(bre(r"\<the\>").unwrap(), r"\b{start}the\b{end}");
/// assert!(bre(r"\(a\)\1").is_err());
/// ```
pub fn bre(expr: &str) -> Result<String, String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    // Where `*` is a plain character and `^` an anchor: at the start of
    // the expression or of a group or alternative.
    let mut at_start = true;
    while i < chars.len() {
        let c = chars[i];
        let start = std::mem::replace(&mut at_start, false);
        match c {
            '\\' => {
                let Some(&n) = chars.get(i + 1) else {
                    return Err("a trailing backslash".into());
                };
                i += 1;
                match n {
                    '(' => {
                        out.push('(');
                        at_start = true;
                    }
                    '|' => {
                        out.push('|');
                        at_start = true;
                    }
                    ')' | '+' | '?' | '{' | '}' => out.push(n),
                    '<' => out.push_str(r"\b{start}"),
                    '>' => out.push_str(r"\b{end}"),
                    'w' | 'W' | 's' | 'S' | 'b' | 'B' => {
                        out.push('\\');
                        out.push(n);
                    }
                    '1'..='9' => return Err("back-references (\\1) are not supported".into()),
                    other => out.push_str(&regex::escape(&other.to_string())),
                }
            }
            '*' if start => out.push_str(r"\*"),
            '^' if start => {
                out.push('^');
                at_start = true; // `^*` matches a star
            }
            '$' if i + 1 == chars.len()
                || chars
                    .get(i + 1..i + 3)
                    .is_some_and(|n| n == ['\\', ')'] || n == ['\\', '|']) =>
            {
                out.push('$')
            }
            '[' => {
                // A bracket expression: `]` first is a member; backslash is
                // a plain character; [:class:] kept.
                let mut j = i + 1;
                out.push('[');
                if chars.get(j) == Some(&'^') {
                    out.push('^');
                    j += 1;
                }
                let mut first = true;
                loop {
                    let Some(&b) = chars.get(j) else {
                        return Err("an unclosed [".into());
                    };
                    if b == ']' && !first {
                        break;
                    }
                    first = false;
                    if b == '[' && matches!(chars.get(j + 1), Some(':' | '.' | '=')) {
                        let delim = chars[j + 1];
                        let end = (j + 2..chars.len().saturating_sub(1))
                            .find(|&k| chars[k] == delim && chars[k + 1] == ']')
                            .ok_or("an unclosed [: class")?;
                        out.extend(&chars[j..end + 2]);
                        j = end + 2;
                        continue;
                    }
                    match b {
                        '\\' | '[' | ']' | '&' | '~' => {
                            out.push('\\');
                            out.push(b);
                        }
                        _ => out.push(b),
                    }
                    j += 1;
                }
                out.push(']');
                i = j;
            }
            '.' | '*' => out.push(c),
            other => out.push_str(&regex::escape(&other.to_string())),
        }
        i += 1;
    }
    Ok(out)
}
