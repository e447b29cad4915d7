//! The definition's JSON, read into `serde_json::Value` while noting each member name that
//! occurs twice in one object: a map keeps only the last, and two states of one name must be
//! reported (`DUPLICATE_STATE_NAME`), not silently replaced.

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value as Json};
use std::fmt;

/// `text` as JSON, and the JSON pointers of the members that repeat a name in their object (each
/// one after the first), in document order.
pub fn read(text: &str) -> Result<(Json, Vec<String>), serde_json::Error> {
    let mut repeated = Vec::new();
    let mut de = serde_json::Deserializer::from_str(text);
    let json = At { pointer: String::new(), repeated: &mut repeated }.deserialize(&mut de)?;
    de.end()?;
    Ok((json, repeated))
}

/// A value at `pointer`.
struct At<'r> {
    pointer: String,
    repeated: &'r mut Vec<String>,
}

impl<'de> DeserializeSeed<'de> for At<'_> {
    type Value = Json;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for At<'_> {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
        // Finite: JSON text has no other numbers.
        Ok(serde_json::Number::from_f64(v).map_or(Json::Null, Json::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        loop {
            let at = At { pointer: format!("{}/{}", self.pointer, items.len()), repeated: &mut *self.repeated };
            match seq.next_element_seed(at)? {
                Some(v) => items.push(v),
                None => return Ok(Json::Array(items)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut members = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            let pointer = format!("{}/{}", self.pointer, crate::asl::template::escape_pointer(&name));
            let value = map.next_value_seed(At { pointer: pointer.clone(), repeated: &mut *self.repeated })?;
            if members.insert(name, value).is_some() {
                self.repeated.push(pointer);
            }
        }
        Ok(Json::Object(members))
    }
}
