//! What keeps a file's tensors from fitting a model, in PyTorch's spelling on both sides, and the
//! renames that would make them fit.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use super::rename::Rename;

/// A tensor as PyTorch names and shapes it (`lstm.weight_ih_l0`, a Linear weight `[out, in]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    /// Its name.
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
}

/// A tensor of the file: its own name, the name the renaming rules made of it, its shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The name in the file.
    pub name: String,
    /// After the `--rename` rules (the same as `name` where none applies).
    pub renamed: String,
    /// Its shape in the file.
    pub shape: Vec<usize>,
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name)?;
        if self.renamed != self.name {
            write!(f, " (renamed {})", self.renamed)?;
        }
        write!(f, " {:?}", self.shape)
    }
}

/// A tensor both sides have, in different shapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrongShape {
    /// The file's tensor.
    pub file: Found,
    /// The model's shape of it.
    pub model: Vec<usize>,
}

/// Every difference between the model's tensors and the file's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The model's tensors the file lacks.
    pub missing: Vec<Named>,
    /// The file's tensors the model has no place for.
    pub unexpected: Vec<Found>,
    /// Tensors of the wrong shape.
    pub wrong_shape: Vec<WrongShape>,
    /// Renames of whole modules (`rnn.` to `lstm.`) after which every missing tensor is found,
    /// with its shape; empty where no such renaming exists.
    pub renames: Vec<Rename>,
}

impl Mismatch {
    /// Compares the model's tensors with the file's (after its renames); `None` when every one
    /// fits.
    pub fn between(model: &[Named], file: &[Found]) -> Option<Self> {
        let in_file: BTreeMap<&str, &Found> =
            file.iter().map(|f| (f.renamed.as_str(), f)).collect();
        let in_model: HashSet<&str> = model.iter().map(|m| m.name.as_str()).collect();
        let missing: Vec<Named> = model
            .iter()
            .filter(|m| !in_file.contains_key(m.name.as_str()))
            .cloned()
            .collect();
        let unexpected: Vec<Found> = file
            .iter()
            .filter(|f| !in_model.contains(f.renamed.as_str()))
            .cloned()
            .collect();
        let wrong_shape: Vec<WrongShape> = model
            .iter()
            .filter_map(|m| {
                let found = in_file.get(m.name.as_str())?;
                (found.shape != m.shape).then(|| WrongShape {
                    file: (*found).clone(),
                    model: m.shape.clone(),
                })
            })
            .collect();
        if missing.is_empty() && unexpected.is_empty() && wrong_shape.is_empty() {
            return None;
        }
        let renames = module_renames(&missing, &unexpected);
        Some(Self {
            missing,
            unexpected,
            wrong_shape,
            renames,
        })
    }
}

/// A module's tensors: its own part of each name and the shape, sorted.
type Signature = Vec<(String, Vec<usize>)>;

/// Groups tensors by module (the name up to its last dot) with each module's signature.
fn modules<'a>(tensors: impl Iterator<Item = (&'a str, &'a [usize])>) -> Vec<(String, Signature)> {
    let mut groups: Vec<(String, Signature)> = Vec::new();
    for (name, shape) in tensors {
        let Some((module, own)) = name.rsplit_once('.') else {
            continue;
        };
        let entry = (own.to_string(), shape.to_vec());
        match groups.iter_mut().find(|(m, _)| m == module) {
            Some((_, signature)) => signature.push(entry),
            None => groups.push((module.to_string(), vec![entry])),
        }
    }
    for (_, signature) in &mut groups {
        signature.sort();
    }
    groups
}

/// Renames of the file's modules to the model's, each file module matched with the first model
/// module (in the model's order) that has the same tensors in the same shapes; only when every
/// missing and every unexpected tensor is accounted for.
fn module_renames(missing: &[Named], unexpected: &[Found]) -> Vec<Rename> {
    let tensor_count = |groups: &[(String, Signature)]| -> usize {
        groups.iter().map(|(_, s)| s.len()).sum::<usize>()
    };
    let wanted = modules(
        missing
            .iter()
            .map(|m| (m.name.as_str(), m.shape.as_slice())),
    );
    let mut offered = modules(
        unexpected
            .iter()
            .map(|f| (f.renamed.as_str(), f.shape.as_slice())),
    );
    offered.sort();
    if wanted.is_empty()
        || wanted.len() != offered.len()
        || tensor_count(&wanted) != missing.len()
        || tensor_count(&offered) != unexpected.len()
    {
        return Vec::new();
    }
    let mut taken = vec![false; wanted.len()];
    let mut renames = Vec::new();
    for (module, signature) in &offered {
        let Some(index) = (0..wanted.len()).find(|&i| !taken[i] && wanted[i].1 == *signature)
        else {
            return Vec::new();
        };
        taken[index] = true;
        renames.push(Rename::prefix(module, &wanted[index].0));
    }
    renames
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut list = |f: &mut fmt::Formatter<'_>, what: &str, items: Vec<String>| {
            if items.is_empty() {
                return Ok(());
            }
            let separator = if first { "" } else { ";" };
            first = false;
            write!(
                f,
                "{separator} {what} ({}): {}",
                items.len(),
                items.join(", ")
            )
        };
        list(
            f,
            "missing from the file",
            self.missing
                .iter()
                .map(|m| format!("{} {:?}", m.name, m.shape))
                .collect(),
        )?;
        list(
            f,
            "not in the model",
            self.unexpected.iter().map(Found::to_string).collect(),
        )?;
        list(
            f,
            "wrong shape",
            self.wrong_shape
                .iter()
                .map(|w| {
                    format!(
                        "{}: model {:?}, file {:?}",
                        w.file.renamed, w.model, w.file.shape
                    )
                })
                .collect(),
        )?;
        if !self.renames.is_empty() {
            let flags: Vec<String> = self.renames.iter().map(Rename::flag).collect();
            write!(
                f,
                "; every tensor fits its place after renaming, add: {}",
                flags.join(" ")
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str, shape: &[usize]) -> Named {
        Named {
            name: name.to_string(),
            shape: shape.to_vec(),
        }
    }

    fn found(name: &str, shape: &[usize]) -> Found {
        Found {
            name: name.to_string(),
            renamed: name.to_string(),
            shape: shape.to_vec(),
        }
    }

    fn lstm(prefix: &str, hidden: usize) -> Vec<(String, Vec<usize>)> {
        ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
            .iter()
            .zip([
                vec![4 * hidden, 28],
                vec![4 * hidden, hidden],
                vec![4 * hidden],
                vec![4 * hidden],
            ])
            .map(|(n, s)| (format!("{prefix}.{n}"), s))
            .collect()
    }

    #[test]
    fn renamed_modules_are_found_by_their_shapes() {
        let mut model: Vec<Named> = lstm("lstm", 64).iter().map(|(n, s)| named(n, s)).collect();
        model.push(named("fc.weight", &[10, 64]));
        model.push(named("fc.bias", &[10]));
        let mut file: Vec<Found> = lstm("rnn", 64).iter().map(|(n, s)| found(n, s)).collect();
        file.push(found("out.weight", &[10, 64]));
        file.push(found("out.bias", &[10]));
        let mismatch = Mismatch::between(&model, &file).unwrap();
        assert_eq!(mismatch.missing.len(), 6);
        let flags: Vec<String> = mismatch.renames.iter().map(Rename::flag).collect();
        assert_eq!(
            flags,
            [r"--rename '^out\.=fc.'", r"--rename '^rnn\.=lstm.'"]
        );
        let text = mismatch.to_string();
        assert!(text.contains("rnn.weight_ih_l0 [256, 28]"), "{text}");
        assert!(
            text.ends_with(r"add: --rename '^out\.=fc.' --rename '^rnn\.=lstm.'"),
            "{text}"
        );
        let renamed: Vec<Found> = file
            .iter()
            .map(|f| Found {
                renamed: super::super::rename::apply_all(&mismatch.renames, &f.name),
                ..f.clone()
            })
            .collect();
        assert_eq!(Mismatch::between(&model, &renamed), None);
    }

    #[test]
    fn no_rename_is_proposed_where_shapes_cannot_fit() {
        let model: Vec<Named> = lstm("lstm", 128).iter().map(|(n, s)| named(n, s)).collect();
        let file: Vec<Found> = lstm("rnn", 64).iter().map(|(n, s)| found(n, s)).collect();
        let mismatch = Mismatch::between(&model, &file).unwrap();
        assert!(mismatch.renames.is_empty());
        let file: Vec<Found> = lstm("lstm", 64).iter().map(|(n, s)| found(n, s)).collect();
        let mismatch = Mismatch::between(&model, &file).unwrap();
        assert_eq!(mismatch.wrong_shape.len(), 4);
        assert!(mismatch.renames.is_empty());
        assert!(
            mismatch
                .to_string()
                .contains("wrong shape (4): lstm.weight_ih_l0: model [512, 28], file [256, 28]")
        );
    }
}
