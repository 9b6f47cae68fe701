//! The README's table of commands against the command line itself: one row per `zoo`
//! subcommand, no row for a command `zoo --help` lacks, and every `--help` ends with examples.

use clap::{CommandFactory, Parser};
use zoo_cli::cli::Cli;

/// The `zoo X` of each row of the README's "Commands" table.
fn readme_commands() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
    let readme = std::fs::read_to_string(path).unwrap();
    let table = readme
        .split("## Commands")
        .nth(1)
        .expect("the README has a Commands section");
    table
        .lines()
        .skip_while(|line| !line.starts_with("| command"))
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .map(|row| {
            let cell = row.split('|').nth(1).unwrap_or_default().trim();
            cell.trim_matches('`')
                .trim_start_matches("zoo ")
                .to_string()
        })
        .collect()
}

#[test]
fn the_readme_lists_every_subcommand_of_zoo_help_and_no_other() {
    let cli = Cli::command();
    let mut help: Vec<String> = cli
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    let mut readme = readme_commands();
    help.sort();
    readme.sort();
    assert_eq!(
        readme, help,
        "README.md's Commands table against `zoo --help`"
    );
}

#[test]
fn every_help_ends_with_examples() {
    let cli = Cli::command();
    let mut commands = vec![&cli];
    commands.extend(cli.get_subcommands());
    let data = cli.find_subcommand("data").unwrap();
    commands.extend(data.get_subcommands());
    for command in commands {
        let examples = command
            .get_after_help()
            .map(|h| h.to_string())
            .unwrap_or_default();
        assert!(
            examples.starts_with("Examples:\n  zoo "),
            "`zoo {} --help` ends without examples",
            command.get_name()
        );
    }
}

#[test]
fn a_mistyped_subcommand_suggests_the_nearest() {
    let err = Cli::try_parse_from(["zoo", "trian"])
        .unwrap_err()
        .to_string();
    assert!(err.contains("similar") && err.contains("train"), "{err}");
}
