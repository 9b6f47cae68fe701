//! Renaming rules, `FROM=TO`: a file's own parameter names made the model's (`zoo import
//! --rename`), or the model's made those of another PyTorch class (`zoo export --rename`).

use std::fmt;
use std::str::FromStr;

use regex::Regex;

/// One rule: every match of the regular expression `FROM` (Rust's `regex` syntax) in a name is
/// replaced by `TO`, in which `$1` (or `${1}`) stands for the first group. Written `FROM=TO`,
/// split at the first `=`: `^rnn\.=lstm.`, `^conv(\d)\.0\.=conv$1.`.
#[derive(Debug, Clone)]
pub struct Rename {
    from: Regex,
    to: String,
}

impl Rename {
    /// The rule replacing matches of the pattern `from` by `to`.
    pub fn new(from: &str, to: &str) -> Result<Self, RenameError> {
        let from = Regex::new(from).map_err(|err| RenameError {
            rule: format!("{from}={to}"),
            problem: format!("`{from}` is not a regular expression: {err}"),
        })?;
        Ok(Self {
            from,
            to: to.to_string(),
        })
    }

    /// The rule that renames the module `from` (a name prefix, written plainly, such as
    /// `conv1.0`) to `to`: `^conv1\.0\.=conv1.`.
    pub fn prefix(from: &str, to: &str) -> Self {
        let pattern = format!("^{}", regex::escape(&format!("{from}.")));
        let to = format!("{to}.").replace('$', "$$");
        Self::new(&pattern, &to).expect("an escaped prefix is a valid pattern")
    }

    /// `name` with the rule applied.
    pub fn apply(&self, name: &str) -> String {
        self.from.replace_all(name, self.to.as_str()).into_owned()
    }

    /// The rule as a shell argument, quoted to be copied: `--rename '^rnn\.=lstm.'`.
    pub fn flag(&self) -> String {
        format!("--rename '{}'", self.to_string().replace('\'', r"'\''"))
    }
}

/// `name` with every rule applied, in order.
pub fn apply_all(rules: &[Rename], name: &str) -> String {
    rules
        .iter()
        .fold(name.to_string(), |name, rule| rule.apply(&name))
}

impl fmt::Display for Rename {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.from.as_str(), self.to)
    }
}

impl PartialEq for Rename {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for Rename {}

impl FromStr for Rename {
    type Err = RenameError;

    fn from_str(rule: &str) -> Result<Self, RenameError> {
        match rule.split_once('=') {
            Some((from, to)) if !from.is_empty() => Self::new(from, to),
            _ => Err(RenameError {
                rule: rule.to_string(),
                problem: "a rule is FROM=TO, a regular expression and its replacement, e.g. \
                          '^rnn\\.=lstm.'"
                    .to_string(),
            }),
        }
    }
}

/// A renaming rule that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenameError {
    /// The rule as given.
    pub rule: String,
    /// What is wrong with it.
    pub problem: String,
}

impl fmt::Display for RenameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "--rename '{}': {}", self.rule, self.problem)
    }
}

impl std::error::Error for RenameError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_rename_with_groups_in_order() {
        let rules: Vec<Rename> = [r"^conv(\d)\.0\.=conv$1.", r"^out\.=fc."]
            .iter()
            .map(|r| r.parse().unwrap())
            .collect();
        assert_eq!(apply_all(&rules, "conv2.0.weight"), "conv2.weight");
        assert_eq!(apply_all(&rules, "out.bias"), "fc.bias");
        assert_eq!(apply_all(&rules, "lstm.weight_ih_l0"), "lstm.weight_ih_l0");
        assert_eq!(rules[0].to_string(), r"^conv(\d)\.0\.=conv$1.");
    }

    #[test]
    fn a_prefix_rule_is_escaped_and_prints_as_a_flag() {
        let rule = Rename::prefix("conv1.0", "conv1");
        assert_eq!(rule.apply("conv1.0.weight"), "conv1.weight");
        assert_eq!(rule.apply("conv1x0.weight"), "conv1x0.weight");
        assert_eq!(rule.flag(), r"--rename '^conv1\.0\.=conv1.'");
        let parsed: Rename = rule.to_string().parse().unwrap();
        assert_eq!(parsed.apply("conv1.0.bias"), "conv1.bias");
    }

    #[test]
    fn bad_rules_say_what_a_rule_is() {
        let err = "rnn.".parse::<Rename>().unwrap_err();
        assert!(err.to_string().contains("a rule is FROM=TO"), "{err}");
        let err = "(rnn=lstm".parse::<Rename>().unwrap_err();
        assert!(
            err.to_string()
                .contains("`(rnn` is not a regular expression"),
            "{err}"
        );
    }
}
