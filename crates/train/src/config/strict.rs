//! Reading config TOML strictly: every unknown key and every mistyped value is an error naming
//! the file and the key (`train.epochz`, `model.hidden_size`).

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::ConfigError;

/// Parses `text` (from `file`) as a TOML table.
pub(crate) fn parse_toml(text: &str, file: &str) -> Result<toml::Table, ConfigError> {
    text.parse::<toml::Table>()
        .map_err(|e| ConfigError::Syntax {
            file: file.to_string(),
            message: e.to_string().trim_end().replace('\n', " "),
        })
}

/// Overlays `top` onto `base`, table by table.
pub(crate) fn merge(base: &mut toml::Table, top: toml::Table) {
    for (key, value) in top {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(below)), toml::Value::Table(above)) => merge(below, above),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// The error of a key the schema does not have, listing those it has.
pub(crate) fn unknown_key(file: &str, key: &str, known: &[&str]) -> ConfigError {
    ConfigError::UnknownKey {
        file: file.to_string(),
        key: key.to_string(),
        known: format!("; expected one of: {}", known.join(", ")),
    }
}

/// The toml and serde messages end in a newline and a repeat of the key; the key is named already.
fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or("").trim().to_string()
}

/// Deserializes one section strictly, naming the key of any unknown or mistyped value.
pub(crate) fn typed<T: DeserializeOwned>(
    table: toml::Table,
    section: &str,
    file: &str,
) -> Result<T, ConfigError> {
    let value = toml::Value::Table(table);
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let inner = first_line(&err.into_inner().to_string());
        if let Some(rest) = inner.strip_prefix("unknown field `") {
            let (field, known) = rest.split_once('`').unwrap_or((rest, ""));
            return ConfigError::UnknownKey {
                file: file.to_string(),
                key: format!("{section}.{field}"),
                known: format!(";{}", known.trim_start_matches(',')),
            };
        }
        let key = if path == "." {
            section.to_string()
        } else {
            format!("{section}.{path}")
        };
        ConfigError::Invalid {
            file: file.to_string(),
            key,
            reason: inner,
        }
    })
}

/// A `[model]` section: `defaults` (the model's config with every field) with the keys `given`
/// over it. A key that `defaults` does not serialize is unknown, and one of `from_data` (which
/// the data decides) refused; so the check works for any serde struct, a Burn
/// `#[derive(Config)]` one included.
pub(crate) fn network<C: Serialize + DeserializeOwned>(
    defaults: &C,
    from_data: &[&str],
    given: toml::Table,
    file: &str,
) -> Result<C, ConfigError> {
    let mut value = serde_json::to_value(defaults).expect("model configs serialize");
    let fields = value.as_object_mut().expect("model configs are structs");
    let known: Vec<String> = std::iter::once("name".to_string())
        .chain(
            fields
                .keys()
                .filter(|k| !from_data.contains(&k.as_str()))
                .cloned(),
        )
        .collect();
    for (key, v) in given {
        if from_data.contains(&key.as_str()) {
            return Err(ConfigError::Invalid {
                file: file.to_string(),
                key: format!("model.{key}"),
                reason:
                    "is decided by the data (its vocabularies), not by a config file: remove it"
                        .to_string(),
            });
        }
        if !fields.contains_key(&key) {
            let known: Vec<&str> = known.iter().map(String::as_str).collect();
            return Err(unknown_key(file, &format!("model.{key}"), &known));
        }
        fields.insert(
            key,
            serde_json::to_value(v).expect("TOML values convert to JSON"),
        );
    }
    serde_path_to_error::deserialize(value).map_err(|err| ConfigError::Invalid {
        file: file.to_string(),
        key: format!("model.{}", err.path()),
        reason: first_line(&err.into_inner().to_string()),
    })
}

/// Every `section.key` of a TOML document with its value's text, in key order.
pub(crate) fn flatten(text: &str) -> std::collections::BTreeMap<String, String> {
    let table: toml::Table = toml::from_str(text).expect("written configs re-parse");
    let mut flat = std::collections::BTreeMap::new();
    for (section, value) in table {
        match value {
            toml::Value::Table(keys) => {
                for (key, value) in keys {
                    flat.insert(format!("{section}.{key}"), value.to_string());
                }
            }
            value => {
                flat.insert(section, value.to_string());
            }
        }
    }
    flat
}

/// The field names a struct's `Deserialize` asks for (serde's derive and Burn's `Config` alike):
/// the keys its section may hold, read by a deserializer that records them and reads nothing.
pub(crate) fn field_names<T: DeserializeOwned>() -> Vec<&'static str> {
    let mut names = Vec::new();
    // The recorder always ends in an error; what matters is what it recorded.
    let _ = T::deserialize(FieldNames(&mut names));
    names
}

/// A deserializer that records the fields of the struct asked for, then fails.
struct FieldNames<'a>(&'a mut Vec<&'static str>);

impl<'de> serde::Deserializer<'de> for FieldNames<'_> {
    type Error = serde::de::value::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(serde::de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.extend_from_slice(fields);
        Err(serde::de::Error::custom("fields recorded"))
    }

    fn deserialize_newtype_struct<V: serde::de::Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}
