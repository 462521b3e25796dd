//! The LLM provider services a key can belong to, and what each needs to be called.

use serde::{Deserialize, Serialize};

pub const DEFAULT_OPENAI: &str = "https://api.openai.com";
pub const DEFAULT_ANTHROPIC: &str = "https://api.anthropic.com";
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// A provider service, as named in the API and stored on the key's row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Service {
    #[serde(rename = "openai")]
    OpenAi,
    #[serde(rename = "anthropic")]
    Anthropic,
    #[serde(rename = "openai_compatible")]
    OpenAiCompatible,
}

impl Service {
    pub fn parse(raw: &str) -> Result<Service, &'static str> {
        match raw {
            "openai" => Ok(Service::OpenAi),
            "anthropic" => Ok(Service::Anthropic),
            "openai_compatible" => Ok(Service::OpenAiCompatible),
            _ => Err("must be one of openai, anthropic, openai_compatible"),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Service::OpenAi => "openai",
            Service::Anthropic => "anthropic",
            Service::OpenAiCompatible => "openai_compatible",
        }
    }

    /// Where the service lives when the key names no `base_url` (an OpenAI-compatible
    /// service always names one).
    pub fn default_base_url(self) -> Option<&'static str> {
        match self {
            Service::OpenAi => Some(DEFAULT_OPENAI),
            Service::Anthropic => Some(DEFAULT_ANTHROPIC),
            Service::OpenAiCompatible => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_parse_and_serialise_as_their_stored_names() {
        for s in [
            Service::OpenAi,
            Service::Anthropic,
            Service::OpenAiCompatible,
        ] {
            assert_eq!(Service::parse(s.as_str()), Ok(s));
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
            assert_eq!(serde_json::from_str::<Service>(&json).unwrap(), s);
        }
        assert!(Service::parse("OpenAI").is_err());
        assert_eq!(Service::OpenAiCompatible.default_base_url(), None);
    }
}
