//! `mr man`: the manual pages, one a command (`mr man gen clicklog`), set
//! from the command line's definition by clap_mangen, with the examples
//! kept as they are typed.

/// The subcommand whose manual page `mr man WORDS...` asks for: its path
/// (`gen clicklog`) or its page's name as a page's SUBCOMMANDS section
/// gives it (`mr-gen-clicklog`, `gen-clicklog`).
pub(crate) fn man_page_of<'a>(
    cmd: &'a clap::Command,
    words: &[String],
) -> Option<&'a clap::Command> {
    fn find<'a>(cmd: &'a clap::Command, dashed: &str) -> Option<&'a clap::Command> {
        cmd.get_subcommands()
            .filter(|c| !c.is_hide_set() && c.get_name() != "help")
            .find_map(|sub| {
                let name = sub.get_name();
                if dashed == name {
                    return Some(sub);
                }
                let rest = dashed.strip_prefix(name)?.strip_prefix('-')?;
                find(sub, rest)
            })
    }
    let dashed = words.join("-");
    let prefix = format!("{}-", cmd.get_name());
    find(cmd, dashed.strip_prefix(&prefix).unwrap_or(&dashed))
}

/// `cmd` and its subcommands without clap's `help` subcommand: the pages
/// list the subcommands, and `help` has no page of its own.
pub(crate) fn without_help_subcommands(cmd: clap::Command) -> clap::Command {
    cmd.disable_help_subcommand(true)
        .mut_subcommands(without_help_subcommands)
}

/// The pages `mr man WORDS...` prints, as their WORDS: `run`, `gen`,
/// `gen clicklog`, ...
pub(crate) fn man_pages(cmd: &clap::Command, parent: &str) -> Vec<String> {
    let mut pages = Vec::new();
    for sub in cmd
        .get_subcommands()
        .filter(|c| !c.is_hide_set() && c.get_name() != "help")
    {
        let path = format!("{parent}{}", sub.get_name());
        pages.push(path.clone());
        pages.extend(man_pages(sub, &format!("{path} ")));
    }
    pages
}

/// `cmd`'s manual page (roff). Its examples (the after-help text, headed
/// `Examples:`) are an EXAMPLES section set no-fill, so that their aligned
/// columns stay aligned: clap_mangen would fill and justify them.
pub(crate) fn man_page(cmd: clap::Command) -> anyhow::Result<Vec<u8>> {
    let examples = cmd.get_after_help().map(|h| h.to_string());
    let cmd = if examples.is_some() {
        cmd.after_help(None::<&str>)
    } else {
        cmd
    };
    let mut text = Vec::new();
    // Every page's footer names the program, not its command ("run 0.1.0"
    // was: probe /tmp/probe3-ux repro 10).
    let program = cmd
        .get_bin_name()
        .and_then(|b| b.split_whitespace().next())
        .unwrap_or("mr")
        .to_string();
    let source = match cmd.get_version() {
        Some(v) => format!("{program} {v}"),
        None => program,
    };
    clap_mangen::Man::new(cmd)
        .source(source)
        .render(&mut text)?;
    let Some(examples) = examples else {
        return Ok(text);
    };
    let body = examples.strip_prefix("Examples:\n").unwrap_or(&examples);
    let mut section = String::from(".SH EXAMPLES\n.nf\n");
    for line in body.lines() {
        // The section is indented already.
        section.push_str(&roff_literal(line.strip_prefix("  ").unwrap_or(line)));
        section.push('\n');
    }
    section.push_str(".fi\n");
    let page = String::from_utf8_lossy(&text).into_owned();
    Ok(match page.find(".SH VERSION") {
        Some(at) => format!("{}{section}{}", &page[..at], &page[at..]),
        None => page + &section,
    }
    .into_bytes())
}

/// `line` as roff text shown as it is: a backslash and a minus escaped (a
/// `-` would print as a hyphen, which cannot be pasted into a shell), a
/// line starting with `.` or `'` kept from being read as a request.
fn roff_literal(line: &str) -> String {
    let mut out = String::new();
    if line.starts_with(['.', '\'']) {
        out.push_str("\\&");
    }
    for c in line.chars() {
        match c {
            '\\' => out.push_str("\\e"),
            '-' => out.push_str("\\-"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BinInfo, Registry, command};

    #[test]
    fn roff_literal_escapes_what_roff_reads() {
        assert_eq!(roff_literal(".x -o a\\b"), "\\&.x \\-o a\\eb");
        assert_eq!(roff_literal("'q"), "\\&'q");
        assert_eq!(roff_literal("  mr jobs   x"), "  mr jobs   x");
    }

    #[test]
    fn man_pages_by_path_or_by_name() {
        let info = BinInfo {
            name: "mr",
            version: "0",
        };
        let mut cmd = command(&Registry::builtin(), &info, &[]);
        cmd.build();
        let page = |w: &[&str]| {
            let words: Vec<String> = w.iter().map(|s| s.to_string()).collect();
            man_page_of(&cmd, &words).map(|c| c.get_display_name().unwrap_or_default().to_string())
        };
        for w in [
            &["gen", "clicklog"][..],
            &["gen-clicklog"],
            &["mr-gen-clicklog"],
        ] {
            assert_eq!(page(w).as_deref(), Some("mr-gen-clicklog"), "{w:?}");
        }
        assert_eq!(
            page(&["emulate-hadoop"]).as_deref(),
            Some("mr-emulate-hadoop")
        );
        assert_eq!(page(&["gen"]).as_deref(), Some("mr-gen"));
        assert_eq!(page(&["gen", "nope"]), None);
        assert_eq!(page(&["help"]), None);
        let all = man_pages(&cmd, "");
        assert!(
            all.starts_with(&[
                "run".into(),
                "jobs".into(),
                "gen".into(),
                "gen clicklog".into()
            ]),
            "{all:?}"
        );
    }

    #[test]
    fn examples_are_set_no_fill() {
        let page = man_page(command(
            &Registry::builtin(),
            &BinInfo {
                name: "mr",
                version: "0",
            },
            &[],
        ))
        .unwrap();
        let page = String::from_utf8(page).unwrap();
        let ex = page.find(".SH EXAMPLES\n.nf\n").expect(&page);
        assert!(page[ex..].contains("\nmr jobs      "), "{page}");
        assert!(
            page[ex..].find(".fi\n") < page[ex..].find(".SH VERSION"),
            "{page}"
        );
        assert!(!page.contains(".SH EXTRA"), "{page}");
    }
}
