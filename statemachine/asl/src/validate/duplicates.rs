//! Duplicate keys in the JSON text itself. A JSON parser keeps only one of two equal keys,
//! so a state defined twice in the same `States` object would silently disappear; AWS
//! rejects it (`DUPLICATE_STATE_NAME`). This walks the text once and reports the pointer of
//! every repeated key.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use super::pointer_push;

/// Pointers of the second (and later) occurrences of repeated keys; empty for invalid JSON.
pub(super) fn duplicate_keys(text: &str) -> Vec<String> {
    let found = RefCell::new(Vec::new());
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let seed = Walker {
        pointer: String::new(),
        found: &found,
    };
    if seed.deserialize(&mut deserializer).is_err() {
        return Vec::new();
    }
    found.into_inner()
}

struct Walker<'a> {
    pointer: String,
    found: &'a RefCell<Vec<String>>,
}

impl<'de> DeserializeSeed<'de> for Walker<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walker<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let child = pointer_push(&self.pointer, &key);
            if !seen.insert(key) {
                self.found.borrow_mut().push(child.clone());
            }
            map.next_value_seed(Walker {
                pointer: child,
                found: self.found,
            })?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        while seq
            .next_element_seed(Walker {
                pointer: pointer_push(&self.pointer, &index.to_string()),
                found: self.found,
            })?
            .is_some()
        {
            index += 1;
        }
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_a_state_defined_twice_when_scanned_then_the_second_one_is_reported() {
        let text = r#"{"StartAt":"A","States":{"A":{"Type":"Succeed"},"A":{"Type":"Fail"}}}"#;
        assert_eq!(duplicate_keys(text), vec!["/States/A".to_owned()]);
    }

    #[test]
    fn given_repeated_keys_in_arrays_and_nested_objects_when_scanned_then_pointers_say_where() {
        let text = r#"{"a":[{"x":1,"x":2}],"b":{"c":{"d":1,"d":1}}}"#;
        assert_eq!(
            duplicate_keys(text),
            vec!["/a/0/x".to_owned(), "/b/c/d".to_owned()]
        );
    }

    #[test]
    fn given_distinct_keys_when_scanned_then_nothing_is_reported() {
        assert!(duplicate_keys(r#"{"a":1,"b":{"a":2}}"#).is_empty());
    }
}
