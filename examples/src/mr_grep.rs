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
/// `\+ \? \|`, `\< \>`, `` \` `` `\'`, `\w \W \s \S \b \B`), in Rust's `regex`
/// syntax. As in grep, each line of `expr` is a pattern of its own (a line
/// matches if any does); `*`, `\+`, `\?` and `\{` are plain characters
/// where there is nothing to repeat (at the start of a pattern, a group or
/// an alternative, or after its `^`), where only the first `^` anchors;
/// repetitions stack (`a\+\?` is `(a+)?`, not Rust's lazy `a+?`).
/// Back-references (`\1`) have no equivalent there: an error.
///
/// ```
/// use mr_examples::mr_grep::bre;
/// assert_eq!(bre("a+b").unwrap(), r"a\+b");
/// assert_eq!(bre(r"a\|b").unwrap(), "a|b");
/// assert_eq!(bre(r"\(x\)\{2,\}").unwrap(), "(x){2,}");
/// assert_eq!(bre(r"b\+\?").unwrap(), "(?:b+)?");
/// assert_eq!(bre(r"a\{,2\}").unwrap(), "a{0,2}");
/// assert_eq!(bre("*abc").unwrap(), r"\*abc");
/// assert_eq!(bre("^^*").unwrap(), r"^\^*");
/// assert_eq!(bre(r"\+1").unwrap(), r"\+1");
/// assert_eq!(bre("a^b$c$").unwrap(), r"a\^b\$c$");
/// assert_eq!(bre(r"[]a\]").unwrap(), r"[\]a\\]");
/// assert_eq!(bre("[[:digit:]x-z]").unwrap(), "[[:digit:]x-z]");
/// assert_eq!(bre(r"\<the\>").unwrap(), r"\b{start}the\b{end}");
/// assert_eq!(bre("a\nb").unwrap(), "(?:a)|(?:b)");
/// assert!(bre(r"\(a\)\1").is_err());
/// ```
pub fn bre(expr: &str) -> Result<String, String> {
    if !expr.contains('\n') {
        return bre_line(expr);
    }
    let lines: Vec<String> = expr
        .split('\n')
        .map(|l| bre_line(l).map(|re| format!("(?:{re})")))
        .collect::<Result<_, _>>()?;
    Ok(lines.join("|"))
}

/// Where a BRE is, for the characters whose meaning depends on it.
#[derive(Clone, Copy, PartialEq)]
enum At {
    /// The start of the pattern, of a group or of an alternative: `^`
    /// anchors, and a repetition has nothing to repeat (a plain character).
    Start,
    /// Just after the anchoring `^`: `^` is plain, a repetition too.
    Caret,
    /// After an atom or a repetition.
    Atom,
}

/// One pattern (a line of `-e`) as Rust's `regex` syntax.
fn bre_line(expr: &str) -> Result<String, String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = String::new();
    let mut at = At::Start;
    // Where the last atom starts in `out` (a group's `(`), what a
    // repetition applies to; and whether a repetition came after it.
    let mut atom = 0;
    let mut repeated = false;
    let mut groups: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let escaped = (c == '\\').then(|| chars.get(i + 1).copied());
        // A repetition, and the index after it.
        let repetition = match escaped {
            Some(None) => return Err("a trailing backslash".into()),
            Some(Some('+')) => Some(("+".to_string(), i + 2)),
            Some(Some('?')) => Some(("?".to_string(), i + 2)),
            Some(Some('{')) if at == At::Atom => Some(interval(&chars, i + 2)?),
            None if c == '*' => Some(("*".to_string(), i + 1)),
            _ => None,
        };
        if let Some((op, after)) = repetition.filter(|_| at == At::Atom) {
            // `a**`, `a\+\?`: the second applies to the first's result.
            if repeated {
                out.insert_str(atom, "(?:");
                out.push(')');
            }
            out.push_str(&op);
            repeated = true;
            i = after;
            continue;
        }
        let start = out.len();
        let mut next = At::Atom;
        match (c, escaped.flatten()) {
            ('\\', Some(n)) => {
                i += 1;
                match n {
                    '(' => {
                        groups.push(out.len());
                        out.push('(');
                        next = At::Start;
                    }
                    ')' => {
                        out.push(')');
                        let Some(open) = groups.pop() else {
                            return Err(r"an unmatched \)".into());
                        };
                        atom = open;
                        repeated = false;
                        at = At::Atom;
                        i += 1;
                        continue;
                    }
                    '|' => {
                        out.push('|');
                        next = At::Start;
                    }
                    '<' => out.push_str(r"\b{start}"),
                    '>' => out.push_str(r"\b{end}"),
                    '`' => out.push_str(r"\A"),
                    '\'' => out.push_str(r"\z"),
                    'w' | 'W' | 's' | 'S' | 'b' | 'B' => {
                        out.push('\\');
                        out.push(n);
                    }
                    '1'..='9' => return Err("back-references (\\1) are not supported".into()),
                    // `\+ \? \{` with nothing to repeat, `\}`, `\.`...: plain.
                    other => out.push_str(&regex::escape(&other.to_string())),
                }
            }
            ('^', _) if at == At::Start => {
                out.push('^');
                next = At::Caret;
            }
            ('$', _)
                if i + 1 == chars.len()
                    || chars
                        .get(i + 1..i + 3)
                        .is_some_and(|n| n == ['\\', ')'] || n == ['\\', '|']) =>
            {
                out.push('$')
            }
            ('[', _) => i = bracket(&chars, i, &mut out)?,
            ('.', _) => out.push('.'),
            (other, _) => out.push_str(&regex::escape(&other.to_string())),
        }
        atom = start;
        repeated = false;
        at = next;
        i += 1;
    }
    if !groups.is_empty() {
        return Err(r"an unmatched \(".into());
    }
    Ok(out)
}

/// The interval `\{m,n\}` whose `m` starts at `from` (just after `\{`), as
/// Rust's `{m,n}` (`\{,n\}` is `{0,n}`), and the index just after its `\}`.
fn interval(chars: &[char], from: usize) -> Result<(String, usize), String> {
    let close = (from..chars.len().saturating_sub(1))
        .find(|&k| chars[k] == '\\' && chars[k + 1] == '}')
        .ok_or(r"an unmatched \{")?;
    let body: String = chars[from..close].iter().collect();
    let bound = |s: &str| -> Result<Option<u32>, String> {
        if s.is_empty() {
            return Ok(None);
        }
        match s.parse::<u32>() {
            Ok(n) if s.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(n)),
            _ => Err(format!(r"invalid content of \{{\}}: {body:?}")),
        }
    };
    let text = match body.split_once(',') {
        None => match bound(&body)? {
            Some(n) => format!("{{{n}}}"),
            None => return Err(r"invalid content of \{\}: empty".into()),
        },
        Some((min, max)) => {
            let min = bound(min)?.unwrap_or(0);
            match bound(max)? {
                Some(max) if max < min => {
                    return Err(format!(r"invalid content of \{{\}}: {body:?}"));
                }
                Some(max) => format!("{{{min},{max}}}"),
                None => format!("{{{min},}}"),
            }
        }
    };
    Ok((text, close + 2))
}

/// The character classes of POSIX (and grep): any other `[:name:]` is an
/// error, not a set of its letters.
const CLASSES: &[&str] = &[
    "alnum", "alpha", "blank", "cntrl", "digit", "graph", "lower", "print", "punct", "space",
    "upper", "xdigit",
];

/// `c` as a member or range end of a bracket expression: ASCII
/// punctuation escaped (the regex crate reads `--`, `&&`, `~~` and `[` in
/// a class as operators; an escaped one is the character).
fn member(c: char, out: &mut String) {
    if c.is_ascii_punctuation() {
        out.push('\\');
    }
    out.push(c);
}

/// One member of a bracket expression.
enum Item {
    /// A character, written or as a collating symbol (`[.-.]`).
    Char(char),
    /// An equivalence class of one character (`[=e=]`): that character,
    /// but no end of a range.
    Equiv(char),
    /// A character class (`[:alpha:]`).
    Class(String),
}

/// The member of a bracket expression at `chars[j]`, and the index after
/// it. A `[.x.]` or `[=x=]` of several characters, and a class grep does
/// not know, are errors, as grep refuses them.
fn item_at(chars: &[char], j: usize) -> Result<(Item, usize), String> {
    let b = chars[j];
    if b == '[' && matches!(chars.get(j + 1), Some(':' | '.' | '=')) {
        let delim = chars[j + 1];
        let end = (j + 2..chars.len().saturating_sub(1))
            .find(|&k| chars[k] == delim && chars[k + 1] == ']')
            .ok_or("an unclosed [: class")?;
        let inside = &chars[j + 2..end];
        let name: String = inside.iter().collect();
        let item = match (delim, inside) {
            (':', _) if CLASSES.contains(&name.as_str()) => Item::Class(name),
            (':', _) => return Err(format!("invalid character class name [:{name}:]")),
            // Of one character, that character (grep in the C locale).
            ('.', &[c]) => Item::Char(c),
            (_, &[c]) => Item::Equiv(c),
            _ => {
                return Err(format!(
                    "invalid collation character [{delim}{name}{delim}]"
                ));
            }
        };
        return Ok((item, end + 2));
    }
    Ok((Item::Char(b), j + 1))
}

/// The bracket expression that starts at `chars[open]` (`[`), written to
/// `out`: `]` first is a member, backslash a plain character, a range's
/// ends are characters (or collating symbols) in order, `[:class:]` kept.
/// What grep refuses is an error: a range from or to a class or an
/// equivalence class, a reversed range, a `-` right after a range that is
/// not last. Returns the index of its closing `]`.
fn bracket(chars: &[char], open: usize, out: &mut String) -> Result<usize, String> {
    let mut j = open + 1;
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
        let (item, next) = item_at(chars, j)?;
        j = next;
        // A range: a `-` whose next character is not the closing `]`.
        if chars.get(j) == Some(&'-') && chars.get(j + 1).is_some_and(|&c| c != ']') {
            let (end, next) = item_at(chars, j + 1)?;
            let (Item::Char(lo), Item::Char(hi)) = (item, end) else {
                return Err("invalid range end (a class is no end of a range)".into());
            };
            if hi < lo {
                return Err(format!("invalid range end: {lo}-{hi} is reversed"));
            }
            j = next;
            // `[a-z--]`: a range cannot start where another ended.
            if chars.get(j) == Some(&'-') && chars.get(j + 1).is_some_and(|&c| c != ']') {
                return Err(format!("invalid range end after {lo}-{hi}"));
            }
            member(lo, out);
            out.push('-');
            member(hi, out);
            continue;
        }
        match item {
            Item::Char(c) | Item::Equiv(c) => member(c, out),
            Item::Class(name) => out.push_str(&format!("[:{name}:]")),
        }
    }
    out.push(']');
    Ok(j)
}

#[cfg(test)]
mod tests {
    use super::bre;
    use std::process::Command;

    /// Lines for the patterns below, ASCII (grep runs in the C locale).
    const LINES: &[&str] = &[
        "", "ac", "abc", "abbc", "xyz", "^caret", "plain", "a^b", "xb", "xab", "xaab", "xaaab",
        "+1 555", "1 555", "?a", "{1}a", "ab", "ab'", "`ab", "foo", "bar", "baz", "a.c", "a+b",
        "(a)", "abab", "aab", "a$b", "$a", "*star", "x y", "123", "[a]", "a|b", r"c\d", "a{2}",
        "the cat", "other", "aaa", "a*b", "**", "{a", "-x", ",x", "!x", "%x", "&x", "/x", "\"q",
        "~t", "0z",
    ];

    /// Patterns as users of grep write them, and the corners of BRE.
    const PATTERNS: &[&str] = &[
        r"ab\+\?c",
        r"ab\{1,2\}\?c",
        "^^",
        "^^c",
        r"xa\{,2\}b",
        r"\+1",
        r"\?a",
        r"\{1\}a",
        r"zz\|\+1",
        "foo\nbar",
        "foo\n",
        r"\`ab",
        r"ab\'",
        "a**",
        "^*",
        r"^\+",
        r"\(*a\)",
        r"\(a\|b\)\{2\}",
        r"a\{2\}",
        r"a\{2,\}",
        r"x\(ab\)*y",
        "[]a]",
        "[^a-c]x",
        r"[[:digit:]]\+",
        // Collating symbols and equivalence classes of one character are
        // that character, whatever it means in a bracket otherwise.
        "[[.a.]]",
        "[[=e=]]",
        "[[.-.]]x",
        "[[.^.]]c",
        "[x[.].]]",
        "[[:upper:][.$.]]",
        // `-` as a range's end, which the regex crate reads in `--` as a
        // set difference (probe /tmp/probe8-regress repro 01).
        "[+--]",
        "[!--]",
        "[--/]",
        "[%--]",
        "^[^--0]",
        "[a-[.z.]]x",
        "[&~]",
        "[a-z-]",
        r"\<ab",
        r"ab\>",
        r"\bab\b",
        r"\Bb",
        r"\w\+\W",
        "a.c",
        r"a\.c",
        "a|b",
        "a+b",
        "(a)",
        "{1}",
        r"a\{1\}\{2\}",
        "$a",
        "a$",
        "a$b",
        r"\(a$\)",
        r"a\|^b",
        r"\(^a\)",
        "x*",
        "",
        "^$",
        r"\$",
        r"\^",
        r"\*",
        r"\[a\]",
        r"\(ab\)\+",
        r"a\{0\}b",
        r"\(a\)\(b\)",
        r"\<",
        "^*star",
        r"a\?\?b",
        r"\(\)",
        r"c\\d",
        r"\s",
        r"\S\s\S",
        "*",
        r"\(\+\)",
        r"a\|\?",
        "[.]c",
        r"[\]",
        r"t\{0,1\}he",
        r"^\(the\|a\) ",
        r"\{a",
        r"^\{1",
        r"\(\{1\)",
    ];

    /// Each pattern's translation matches the lines GNU grep matches.
    #[test]
    fn matches_the_lines_grep_matches() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("lines.txt");
        std::fs::write(&input, LINES.join("\n") + "\n").unwrap();
        for pat in PATTERNS {
            let grep = Command::new("grep")
                .env("LC_ALL", "C")
                .arg("-e")
                .arg(pat)
                .arg(&input)
                .output()
                .expect("GNU grep, the reference");
            assert!(grep.status.code() != Some(2), "grep refuses {pat:?}");
            let theirs: Vec<&[u8]> = grep.stdout.split(|&b| b == b'\n').collect();
            let re = bre(pat).unwrap_or_else(|e| panic!("{pat:?}: {e}"));
            let re = regex::bytes::Regex::new(&re).unwrap_or_else(|e| panic!("{pat:?}: {e}"));
            let mut ours: Vec<&[u8]> = LINES
                .iter()
                .map(|l| l.as_bytes())
                .filter(|l| re.is_match(l))
                .collect();
            ours.push(b""); // grep's output ends with a newline
            assert_eq!(ours, theirs, "{pat:?} as {re}");
        }
    }

    /// What grep refuses is an error, not a pattern matching something else.
    #[test]
    fn refuses_what_grep_refuses() {
        for pat in [
            r"a\{1",
            r"a\{2,1\}",
            r"a\{x\}",
            r"\(a",
            r"a\)",
            r"\(a\)\1",
            "a\\",
            // Misspelled classes and collating names of several
            // characters (probe /tmp/probe8-mrjob repro 01).
            "[[:digits:]]",
            "[[:Upper:]]",
            "[[.hyphen.]]",
            "[[=ee=]]",
            "[[:digit:]-z]",
            // Ranges grep refuses (repro 02): an equivalence class as an
            // end, a range right after a range, a reversed range.
            "[[=a=]-z]",
            "[[=a=]-[=z=]]",
            "[a-z--]",
            "[]--]",
        ] {
            assert!(bre(pat).is_err(), "{pat:?}");
        }
    }
}
