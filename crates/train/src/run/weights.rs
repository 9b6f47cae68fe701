//! Reading a `model.mpk` (a run's weights, a shipped model's, a checkpoint's) into a module, with
//! an error in the user's terms where the file is cut short, corrupt, of another model or of
//! another shape, instead of Burn's record error (which blames a format change that never
//! happened) or a panic at the first forward pass.

use std::path::Path;

use burn::module::Module;
use burn::prelude::Backend;
use burn::record::{FullPrecisionSettings, NamedMpkBytesRecorder, Recorder};
use zoo_models::import::{pytorch_tensors, Named};

/// `model` with the weights of the file at `path`: the file is read whole (nothing larger is
/// allocated) and decoded, and each tensor must have the shape `model` gives it.
pub fn load_weights<B: Backend, M: Module<B>>(
    model: M,
    path: &Path,
    device: &B::Device,
) -> anyhow::Result<M> {
    let bytes = std::fs::read(path).map_err(|err| {
        anyhow::anyhow!("{}: cannot read the model weights: {err}", path.display())
    })?;
    let broken = |what: String| {
        anyhow::anyhow!(
            "{}: the model weights file {what}; restore it from a copy, or train the run again",
            path.display()
        )
    };
    match msgpack_document_len(&bytes) {
        Err(err) if is_truncation(&err) => return Err(broken("is cut short (truncated)".into())),
        Err(rmp_serde::decode::Error::Syntax(what)) => {
            return Err(broken(format!("is corrupt ({what})")))
        }
        Err(_) => {
            return Err(broken(
                "is not a weights file the zoo wrote (corrupt or of another kind)".into(),
            ))
        }
        Ok(len) if len < bytes.len() => {
            let after = bytes.len() - len;
            return Err(broken(format!(
                "has {after} bytes after the weights (not a file the zoo wrote as it is)"
            )));
        }
        Ok(_) => {}
    }
    // Burn's decoder panics on some damage the walk above cannot see (a parameter id that is
    // not one): caught, it is a corrupt file like any other.
    let record = crate::backend::catch_quietly(|| {
        NamedMpkBytesRecorder::<FullPrecisionSettings>::default().load(bytes, device)
    })
    .map_err(|panic| broken(format!("is corrupt ({panic})")))?
    .map_err(|_| broken("holds the weights of another model".into()))?;
    let expected = pytorch_tensors(&model);
    let loaded = model.load_record(record);
    match first_difference(&expected, &pytorch_tensors(&loaded)) {
        None => Ok(loaded),
        Some(difference) => anyhow::bail!(
            "{}: the weights do not fit the model its config describes ({difference}); the run's \
             config.toml (or its vocabularies) and model.mpk no longer belong together: restore \
             the one that was changed, or train the run again",
            path.display()
        ),
    }
}

/// The length of the MessagePack document at the start of `bytes` (what the zoo writes as a
/// weights or checkpoint file), read without allocating beyond `bytes`: a string or binary is
/// read only as far as the bytes go, whatever length its header claims. Every tensor in it (a
/// map with `bytes` and `shape`, as Burn writes tensor data) must hold the bytes its shape calls
/// for, so that no reader after this one allocates what a damaged shape claims.
pub(crate) fn msgpack_document_len(bytes: &[u8]) -> Result<usize, rmp_serde::decode::Error> {
    use serde::Deserializer as _;
    let mut decoder = rmp_serde::Deserializer::new(std::io::Cursor::new(bytes));
    (&mut decoder).deserialize_any(Walk)?;
    Ok(decoder.position() as usize)
}

/// What [`Walk`] keeps of a value: a binary's length, an integer, a sequence of integers (a
/// shape), a string (a map's key), or nothing.
enum Node {
    Bytes(usize),
    Int(u64),
    Ints(Vec<u64>),
    Text(String),
    Other,
}

/// Walks a whole document (`deserialize_any` at every level) and checks every tensor's bytes
/// against its shape.
struct Walk;

impl<'de> serde::de::DeserializeSeed<'de> for Walk {
    type Value = Node;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Walk {
    type Value = Node;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a MessagePack value")
    }

    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Node, E> {
        Ok(Node::Bytes(v.len()))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Int(v))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(u64::try_from(v).map_or(Node::Other, Node::Int))
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Other)
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Node, E> {
        Ok(Node::Other)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Node, E> {
        // Only a key's name is kept: no longer than the names Burn gives fields.
        Ok(match v.len() <= 64 {
            true => Node::Text(v.to_string()),
            false => Node::Other,
        })
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Node, E> {
        Ok(Node::Other)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Node, E> {
        Ok(Node::Other)
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(Walk)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut ints = Some(Vec::new());
        while let Some(node) = seq.next_element_seed(Walk)? {
            match (&mut ints, node) {
                (Some(list), Node::Int(v)) if list.len() < 16 => list.push(v),
                _ => ints = None,
            }
        }
        Ok(ints.map_or(Node::Other, Node::Ints))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let (mut bytes, mut shape) = (None, None);
        while let Some(key) = map.next_key_seed(Walk)? {
            let value = map.next_value_seed(Walk)?;
            match (key, value) {
                (Node::Text(k), Node::Bytes(len)) if k == "bytes" => bytes = Some(len),
                (Node::Text(k), Node::Ints(dims)) if k == "shape" => shape = Some(dims),
                _ => {}
            }
        }
        if let (Some(len), Some(dims)) = (bytes, shape) {
            let elements = dims.iter().try_fold(1u64, |n, &d| n.checked_mul(d));
            let fits = elements.is_some_and(|n| match n {
                0 => len == 0,
                n => len as u64 % n == 0 && [1, 2, 4, 8].contains(&(len as u64 / n)),
            });
            if !fits {
                return Err(serde::de::Error::custom(format!(
                    "a tensor of shape {dims:?} holds {len} bytes"
                )));
            }
        }
        Ok(Node::Other)
    }
}

/// Whether a MessagePack decoder's error is the document ending early.
fn is_truncation(err: &rmp_serde::decode::Error) -> bool {
    use rmp_serde::decode::Error;
    let eof = |io: &std::io::Error| io.kind() == std::io::ErrorKind::UnexpectedEof;
    match err {
        Error::InvalidMarkerRead(io) | Error::InvalidDataRead(io) => eof(io),
        _ => false,
    }
}

/// The first tensor whose name or shape differs between what the model expects and what was
/// loaded, as `lstm.weight_ih_l0 [512, 28] in the file, [256, 28] in the model`.
fn first_difference(expected: &[Named], loaded: &[Named]) -> Option<String> {
    let pairs = expected.iter().zip(loaded);
    if let Some((want, got)) = pairs.clone().find(|(want, got)| want != got) {
        return Some(format!(
            "{} {:?} in the file, {} {:?} in the model",
            got.name, got.shape, want.name, want.shape
        ));
    }
    (expected.len() != loaded.len()).then(|| {
        format!(
            "{} tensors in the file, {} in the model",
            loaded.len(),
            expected.len()
        )
    })
}
