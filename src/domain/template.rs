//! Step templates: `{{input.<path>}}` and `{{steps.<step_id>.output}}` inside prompts, URLs,
//! headers and bodies. Parsing happens when a workflow is saved (so a bad reference is a 422 that
//! names the step); rendering happens when the step runs.

use serde_json::Value;

/// One `{{ ... }}` reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ref {
    /// `input.a.b`: a path into the execution's input object.
    Input(Vec<String>),
    /// `steps.<id>.output`: an earlier step's output.
    StepOutput(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Ref(Ref),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(Vec<Part>);

impl Template {
    pub fn parse(source: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut rest = source;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let end = after
                .find("}}")
                .ok_or("has a '{{' without its closing '}}'")?;
            parts.push(Part::Ref(parse_ref(after[..end].trim())?));
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template(parts))
    }

    /// The references it makes, for checking them against the workflow.
    pub fn refs(&self) -> impl Iterator<Item = &Ref> {
        self.0.iter().filter_map(|p| match p {
            Part::Ref(r) => Some(r),
            Part::Text(_) => None,
        })
    }

    pub fn has_refs(&self) -> bool {
        self.refs().next().is_some()
    }

    /// Fills the references. Strings go in as they are; other JSON values as JSON text.
    pub fn render(
        &self,
        input: &Value,
        step_output: impl Fn(&str) -> Option<String>,
    ) -> Result<String, String> {
        let mut out = String::new();
        for part in &self.0 {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Ref(Ref::Input(path)) => {
                    let value = path.iter().try_fold(input, |v, key| v.get(key.as_str()));
                    match value {
                        Some(Value::String(s)) => out.push_str(s),
                        Some(Value::Null) | None => {
                            return Err(format!(
                                "input.{} is missing from the execution's input",
                                path.join(".")
                            ))
                        }
                        Some(other) => out.push_str(&other.to_string()),
                    }
                }
                Part::Ref(Ref::StepOutput(id)) => {
                    out.push_str(
                        &step_output(id).ok_or_else(|| format!("step {id} has no output yet"))?,
                    );
                }
            }
        }
        Ok(out)
    }
}

fn parse_ref(inner: &str) -> Result<Ref, String> {
    let segments: Vec<&str> = inner.split('.').collect();
    let valid = |s: &&str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    match segments.as_slice() {
        ["input", path @ ..] if !path.is_empty() && path.iter().all(valid) => {
            Ok(Ref::Input(path.iter().map(|s| s.to_string()).collect()))
        }
        ["steps", id, "output"] if valid(id) => Ok(Ref::StepOutput(id.to_string())),
        _ => Err(format!("'{{{{{inner}}}}}' is not a reference; use {{{{input.<field>}}}} or {{{{steps.<step_id>.output}}}}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_input_paths_and_step_outputs() {
        let t = Template::parse(
            "Summarise {{ input.doc.title }} ({{input.n}}): {{steps.fetch.output}}!",
        )
        .unwrap();
        let out = t
            .render(&json!({"doc": {"title": "Q3"}, "n": 3}), |id| {
                (id == "fetch").then(|| "body".to_string())
            })
            .unwrap();
        assert_eq!(out, "Summarise Q3 (3): body!");
    }

    #[test]
    fn lists_its_references() {
        let t = Template::parse("{{input.a}} {{steps.s1.output}} plain").unwrap();
        let refs: Vec<_> = t.refs().cloned().collect();
        assert_eq!(
            refs,
            [Ref::Input(vec!["a".into()]), Ref::StepOutput("s1".into())]
        );
        assert!(!Template::parse("no refs").unwrap().has_refs());
    }

    #[test]
    fn bad_templates_say_why() {
        assert!(Template::parse("{{input.a")
            .unwrap_err()
            .contains("closing"));
        assert!(Template::parse("{{secrets.key}}")
            .unwrap_err()
            .contains("not a reference"));
        assert!(Template::parse("{{steps.a.input}}").is_err());
        assert!(Template::parse("{{input.}}").is_err());
    }

    #[test]
    fn missing_values_fail_rendering_with_the_path() {
        let t = Template::parse("{{input.who}}").unwrap();
        assert!(t
            .render(&json!({}), |_| None)
            .unwrap_err()
            .contains("input.who"));
        let t = Template::parse("{{steps.x.output}}").unwrap();
        assert!(t
            .render(&json!({}), |_| None)
            .unwrap_err()
            .contains("step x"));
    }
}
