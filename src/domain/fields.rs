//! Reading a JSON request body into typed values, reporting every bad field at once.
//!
//! Handlers build a [`Fields`] over the parsed body, ask for each field with the rule it must
//! satisfy, and call [`Fields::finish`] with the collected `Option`s: either every field is present
//! and valid, or the caller gets the full list of [`FieldError`]s for a 422.

use serde::Serialize;
use serde_json::{Map, Value};

/// One field that failed validation, as listed in a 422's `details`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// A JSON object being read field by field.
pub struct Fields<'a> {
    obj: &'a Map<String, Value>,
    errors: Vec<FieldError>,
}

impl<'a> Fields<'a> {
    /// Fails when the body is valid JSON but not an object.
    pub fn new(body: &'a Value) -> Result<Fields<'a>, Vec<FieldError>> {
        match body {
            Value::Object(obj) => Ok(Fields {
                obj,
                errors: Vec::new(),
            }),
            _ => Err(vec![FieldError::new("body", "must be a JSON object")]),
        }
    }

    /// Records an error found by the handler itself (a cross-field rule, say).
    pub fn error(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    /// Errors found elsewhere (a nested definition, say), reported with these.
    pub fn extend(&mut self, errors: Vec<FieldError>) {
        self.errors.extend(errors);
    }

    /// A field's raw value, for nested structures parsed by their own module.
    pub fn value(&self, name: &str) -> Option<&'a Value> {
        self.present(name)
    }

    /// Whether the body names this field at all (even as null): for partial updates.
    pub fn has(&self, name: &str) -> bool {
        self.obj.contains_key(name)
    }

    /// How many errors have been recorded so far (to tell "absent" from "invalid").
    pub fn error_count(&self) -> usize {
        self.errors.len()
    }

    fn present(&self, name: &str) -> Option<&'a Value> {
        self.obj.get(name).filter(|v| !v.is_null())
    }

    /// A string field that must be present: trimmed, non-empty, at most `max` characters.
    pub fn text(&mut self, name: &str, max: usize) -> Option<String> {
        match self.present(name) {
            None => {
                self.error(name, "is required");
                None
            }
            Some(_) => self.optional_text(name, max),
        }
    }

    /// A string field that may be absent or null; when present the same rules as [`Fields::text`].
    pub fn optional_text(&mut self, name: &str, max: usize) -> Option<String> {
        let value = self.present(name)?;
        let Some(s) = value.as_str() else {
            self.error(name, "must be a string");
            return None;
        };
        let s = s.trim();
        if s.is_empty() {
            self.error(name, "must not be empty");
            None
        } else if s.chars().count() > max {
            self.error(name, format!("must be at most {max} characters"));
            None
        } else {
            Some(s.to_string())
        }
    }

    /// A string field taken as given (not trimmed): passwords and tokens.
    pub fn raw_string(&mut self, name: &str, max: usize) -> Option<String> {
        match self.present(name) {
            None => {
                self.error(name, "is required");
                None
            }
            Some(Value::String(s)) if s.is_empty() => {
                self.error(name, "must not be empty");
                None
            }
            Some(Value::String(s)) if s.chars().count() > max => {
                self.error(name, format!("must be at most {max} characters"));
                None
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.error(name, "must be a string");
                None
            }
        }
    }

    /// An integer field that may be absent or null (`Some(None)`); when present it must be a whole
    /// number in `min..=max`. `None` means it was invalid (the error is recorded).
    pub fn optional_integer(&mut self, name: &str, min: i64, max: i64) -> Option<Option<i64>> {
        let Some(value) = self.present(name) else {
            return Some(None);
        };
        match value.as_i64().filter(|n| (min..=max).contains(n)) {
            Some(n) => Some(Some(n)),
            None => {
                self.error(name, format!("must be a whole number from {min} to {max}"));
                None
            }
        }
    }

    /// A required string field turned into a domain value by `parse`, whose error is the message.
    pub fn parsed<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, &'static str>,
    ) -> Option<T> {
        let raw = self.raw_string(name, 1024)?;
        match parse(&raw) {
            Ok(v) => Some(v),
            Err(message) => {
                self.error(name, message);
                None
            }
        }
    }

    /// Every field was read: the values if all are valid, else every error.
    pub fn finish<T: AllSome>(self, values: T) -> Result<T::Out, Vec<FieldError>> {
        if !self.errors.is_empty() {
            return Err(self.errors);
        }
        // A missing value always recorded an error above; this is a guard, not a path.
        values
            .all_some()
            .ok_or_else(|| vec![FieldError::new("body", "is incomplete")])
    }
}

/// A tuple of `Option`s that becomes a tuple of values when every one is `Some`.
pub trait AllSome {
    type Out;
    fn all_some(self) -> Option<Self::Out>;
}

macro_rules! all_some {
    ($($t:ident),+) => {
        impl<$($t),+> AllSome for ($(Option<$t>,)+) {
            type Out = ($($t,)+);
            #[allow(non_snake_case)]
            fn all_some(self) -> Option<Self::Out> {
                let ($($t,)+) = self;
                Some(($($t?,)+))
            }
        }
    };
}
all_some!(A);
all_some!(A, B);
all_some!(A, B, C);
all_some!(A, B, C, D);
all_some!(A, B, C, D, E);
all_some!(A, B, C, D, E, F);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn collects_every_error_with_its_field() {
        let body = json!({"name": 5, "email": "  "});
        let mut f = Fields::new(&body).unwrap();
        let name = f.text("name", 10);
        let email = f.text("email", 10);
        let pw = f.raw_string("password", 10);
        let errors = f.finish((name, email, pw)).unwrap_err();
        let fields: Vec<_> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.message.as_str()))
            .collect();
        assert_eq!(
            fields,
            [
                ("name", "must be a string"),
                ("email", "must not be empty"),
                ("password", "is required")
            ]
        );
    }

    #[test]
    fn optional_integers_are_absent_or_in_range() {
        let body = json!({"a": 5, "b": null, "c": 0, "d": 1.5, "e": "7"});
        let mut f = Fields::new(&body).unwrap();
        assert_eq!(f.optional_integer("a", 1, 365), Some(Some(5)));
        assert_eq!(f.optional_integer("b", 1, 365), Some(None));
        assert_eq!(f.optional_integer("missing", 1, 365), Some(None));
        for bad in ["c", "d", "e"] {
            assert_eq!(f.optional_integer(bad, 1, 365), None, "{bad}");
        }
        assert_eq!(f.error_count(), 3);
    }

    #[test]
    fn finish_gives_the_values_when_all_are_valid() {
        let body = json!({"name": "  Ada ", "password": " secret "});
        let mut f = Fields::new(&body).unwrap();
        let name = f.text("name", 10);
        let pw = f.raw_string("password", 10);
        assert_eq!(
            f.finish((name, pw)).unwrap(),
            ("Ada".to_string(), " secret ".to_string())
        );
    }

    #[test]
    fn refuses_bodies_that_are_not_objects_and_overlong_text() {
        assert!(Fields::new(&json!([1])).is_err());
        let body = json!({"name": "abcdef"});
        let mut f = Fields::new(&body).unwrap();
        let name = f.text("name", 3);
        assert_eq!(
            f.finish((name,)).unwrap_err()[0].message,
            "must be at most 3 characters"
        );
    }

    #[test]
    fn parsed_reports_the_parsers_message() {
        let body = json!({"role": "king"});
        let mut f = Fields::new(&body).unwrap();
        let role = f.parsed("role", |s| {
            crate::domain::role::Role::parse(s).ok_or("must be one of viewer, member, admin, owner")
        });
        assert_eq!(
            f.finish((role,)).unwrap_err()[0].message,
            "must be one of viewer, member, admin, owner"
        );
    }
}
