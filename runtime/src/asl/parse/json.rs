//! The definition's JSON, read into `serde_json::Value` while noting each member name that
//! occurs twice in one object (a map keeps only the last, and two states of one name must be
//! reported, `DUPLICATE_STATE_NAME`, not silently replaced) and holding its nesting to
//! [`MAX_DEPTH`]: serde_json's own limit of 128 stopped 32 nested Parallel states as "not
//! valid JSON".

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value as Json};
use std::fmt;

/// The deepest arrays and objects may nest in a definition: enough for Parallel and Map states
/// nested past `RuntimeLimits::max_depth` (each takes 3 or 4 levels), shallow enough for the
/// parser and compiler, which recurse on it.
pub const MAX_DEPTH: usize = crate::common::DEFINITION_JSON_DEPTH;

/// Why a definition's text could not be read.
pub enum ReadError {
    Json(serde_json::Error),
    /// Nested deeper than [`MAX_DEPTH`], at this pointer.
    TooDeep(String),
}

/// `text` as JSON, and the JSON pointers of the members that repeat a name in their object (each
/// one after the first), in document order.
pub fn read(text: &str) -> Result<(Json, Vec<String>), ReadError> {
    let mut state = State { repeated: Vec::new(), too_deep: None };
    let mut de = serde_json::Deserializer::from_str(text);
    // The depth is held by `At` instead, with a message that says so; the stack grows as needed.
    de.disable_recursion_limit();
    let read = At { pointer: String::new(), depth: 0, state: &mut state }
        .deserialize(serde_stacker::Deserializer::new(&mut de))
        .and_then(|json| de.end().map(|()| json));
    match (read, state.too_deep) {
        (_, Some(pointer)) => Err(ReadError::TooDeep(pointer)),
        (Ok(json), None) => Ok((json, state.repeated)),
        (Err(e), None) => Err(ReadError::Json(e)),
    }
}

struct State {
    repeated: Vec<String>,
    too_deep: Option<String>,
}

/// A value at `pointer`, inside `depth` arrays and objects.
struct At<'r> {
    pointer: String,
    depth: usize,
    state: &'r mut State,
}

impl At<'_> {
    /// Entering an array or object: an error (noted) past the limit.
    fn enter<E: serde::de::Error>(&mut self) -> Result<(), E> {
        if self.depth >= MAX_DEPTH {
            self.state.too_deep = Some(self.pointer.clone());
            return Err(E::custom("nested too deep"));
        }
        Ok(())
    }
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

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Json, A::Error> {
        self.enter()?;
        let mut items = Vec::new();
        loop {
            let pointer = format!("{}/{}", self.pointer, items.len());
            let at = At { pointer, depth: self.depth + 1, state: &mut *self.state };
            match seq.next_element_seed(at)? {
                Some(v) => items.push(v),
                None => return Ok(Json::Array(items)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Json, A::Error> {
        self.enter()?;
        let mut members = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            let pointer = format!("{}/{}", self.pointer, crate::asl::template::escape_pointer(&name));
            let at = At { pointer: pointer.clone(), depth: self.depth + 1, state: &mut *self.state };
            let value = map.next_value_seed(at)?;
            if members.insert(name, value).is_some() {
                self.state.repeated.push(pointer);
            }
        }
        Ok(Json::Object(members))
    }
}
