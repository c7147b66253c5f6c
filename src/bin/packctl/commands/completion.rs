//! `packctl completion SHELL` and `packctl man`.

use crate::cli::{Cli, CompletionArgs};
use clap::CommandFactory;
use std::io::Write;
use std::process::ExitCode;

pub fn run(args: CompletionArgs) -> anyhow::Result<ExitCode> {
    let mut command = Cli::command();
    // The generator panics on a failed write, so it writes to memory and the printer's
    // stdout reports a failure as an error.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "packctl", &mut script);
    if args.shell == clap_complete::Shell::Bash {
        let spaced = spaced_values(&Cli::command());
        script = quote_bash(&String::from_utf8_lossy(&script), &spaced).into_bytes();
    }
    crate::printer::Stdout.write_all(&script)?;
    Ok(ExitCode::SUCCESS)
}

/// Every possible value of every argument that holds a space (`load balancer`).
fn spaced_values(command: &clap::Command) -> Vec<String> {
    let mut found: Vec<String> = command
        .get_arguments()
        .flat_map(|a| a.get_possible_values())
        .map(|v| v.get_name().to_string())
        .filter(|v| v.contains(' '))
        .collect();
    for sub in command.get_subcommands() {
        found.extend(spaced_values(sub));
    }
    found.sort();
    found.dedup();
    // Longest first, so that `app services` is found before a shorter value inside it.
    found.sort_by_key(|v| std::cmp::Reverse(v.len()));
    found
}

/// clap's bash script offers values with `compgen -W "a b c"`, which splits `load balancer`
/// in two. Where a list holds such a value, it is offered one value a line instead, each
/// escaped for the command line (`load\ balancer`).
fn quote_bash(script: &str, spaced: &[String]) -> String {
    const HEAD: &str = "COMPREPLY=($(compgen -W \"";
    const TAIL: &str = "\" -- \"${cur}\"))";
    let mut out = String::with_capacity(script.len());
    for line in script.lines() {
        let rewritten = line.find(HEAD).and_then(|start| {
            let list_start = start + HEAD.len();
            let end = line[list_start..].find(TAIL)? + list_start;
            let list = &line[list_start..end];
            if !spaced.iter().any(|v| list.contains(v.as_str())) {
                return None;
            }
            let mut marked = format!(" {list} ");
            for value in spaced {
                marked = marked.replace(&format!(" {value} "), &format!(" {} ", value.replace(' ', "\u{1}")));
            }
            let words: Vec<String> = marked
                .split_whitespace()
                .map(|w| w.replace('\u{1}', " "))
                .collect();
            let wordlist = words.join("\\n");
            Some(format!(
                "{}local IFS=$'\\n'; COMPREPLY=($(compgen -W $'{wordlist}' -- \"${{cur}}\" | while read -r w; do printf '%q\\n' \"$w\"; done)){}",
                &line[..start],
                &line[end + TAIL.len()..]
            ))
        });
        out.push_str(rewritten.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

/// The man page, generated from the same definitions as `--help` (clap_mangen); with
/// `--dir`, every command's page written there.
pub fn man(
    args: crate::cli::ManArgs,
    printer: crate::printer::Printer,
) -> anyhow::Result<ExitCode> {
    let mut command = Cli::command();
    command.build();
    let Some(dir) = args.dir else {
        let mut page = Vec::new();
        clap_mangen::Man::new(command).render(&mut page)?;
        crate::printer::Stdout.write_all(&page)?;
        return Ok(ExitCode::SUCCESS);
    };
    std::fs::create_dir_all(&dir)?;
    let mut written = Vec::new();
    write_pages(&command, "packctl", &dir, &mut written)?;
    printer.status(format_args!(
        "wrote {} into {}",
        crate::commands::count(written.len(), "man page"),
        dir.display()
    ));
    for path in &written {
        printer.data(path.display())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes `name.1` for `command` and, below it, `name-sub.1` for each subcommand.
fn write_pages(
    command: &clap::Command,
    name: &str,
    dir: &std::path::Path,
    written: &mut Vec<std::path::PathBuf>,
) -> anyhow::Result<()> {
    let page = command.clone().name(name.to_string());
    let mut bytes = Vec::new();
    clap_mangen::Man::new(page).render(&mut bytes)?;
    let path = dir.join(format!("{name}.1"));
    packctl::scratch::write_atomic(&path, &bytes)?;
    written.push(path);
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        write_pages(sub, &format!("{name}-{}", sub.get_name()), dir, written)?;
    }
    Ok(())
}
