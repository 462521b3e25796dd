//! The life of an execution and of its steps, as types: a status read from a row is parsed
//! once, into one of these, and every rule about what may happen next lives here.

use std::fmt;

use serde::{Deserialize, Serialize};

/// `pending → running → succeeded | failed | cancelled | timed_out`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecutionStatus {
    Pending,
    Running,
    Succeeded,
    Failed,
    Cancelled,
    TimedOut,
}

impl ExecutionStatus {
    pub const ALL: [ExecutionStatus; 6] = [
        ExecutionStatus::Pending,
        ExecutionStatus::Running,
        ExecutionStatus::Succeeded,
        ExecutionStatus::Failed,
        ExecutionStatus::Cancelled,
        ExecutionStatus::TimedOut,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::Pending => "pending",
            ExecutionStatus::Running => "running",
            ExecutionStatus::Succeeded => "succeeded",
            ExecutionStatus::Failed => "failed",
            ExecutionStatus::Cancelled => "cancelled",
            ExecutionStatus::TimedOut => "timed_out",
        }
    }

    pub fn parse(s: &str) -> Option<ExecutionStatus> {
        ExecutionStatus::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Finished: nothing will change it any more.
    pub fn is_terminal(self) -> bool {
        !matches!(self, ExecutionStatus::Pending | ExecutionStatus::Running)
    }

    /// A run that has not finished may be cancelled.
    pub fn can_cancel(self) -> bool {
        !self.is_terminal()
    }

    /// A run that ended badly may be run again (as a new execution).
    pub fn can_retry(self) -> bool {
        matches!(
            self,
            ExecutionStatus::Failed | ExecutionStatus::Cancelled | ExecutionStatus::TimedOut
        )
    }

    /// Ended badly: the team hears about it and an error occurrence is recorded.
    pub fn is_failure(self) -> bool {
        matches!(self, ExecutionStatus::Failed | ExecutionStatus::TimedOut)
    }
}

impl fmt::Display for ExecutionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A step's status: `pending → running → succeeded | failed`, or `skipped` (the run ended
/// before it) or `cancelled` (the run was cancelled before it started).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Pending,
    Running,
    Succeeded,
    Failed,
    Skipped,
    Cancelled,
}

impl StepStatus {
    pub const ALL: [StepStatus; 6] = [
        StepStatus::Pending,
        StepStatus::Running,
        StepStatus::Succeeded,
        StepStatus::Failed,
        StepStatus::Skipped,
        StepStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Pending => "pending",
            StepStatus::Running => "running",
            StepStatus::Succeeded => "succeeded",
            StepStatus::Failed => "failed",
            StepStatus::Skipped => "skipped",
            StepStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<StepStatus> {
        StepStatus::ALL.into_iter().find(|v| v.as_str() == s)
    }

    pub fn is_terminal(self) -> bool {
        !matches!(self, StepStatus::Pending | StepStatus::Running)
    }

    /// A step that ended without an output: the execution it belongs to is over or ending.
    pub fn ends_the_run(self) -> bool {
        matches!(
            self,
            StepStatus::Failed | StepStatus::Skipped | StepStatus::Cancelled
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unfinished_runs_can_be_cancelled_and_only_bad_endings_retried() {
        use ExecutionStatus::*;
        for s in ExecutionStatus::ALL {
            assert_eq!(s.can_cancel(), matches!(s, Pending | Running), "{s}");
            assert_eq!(
                s.can_retry(),
                matches!(s, Failed | Cancelled | TimedOut),
                "{s}"
            );
            assert_eq!(s.is_failure(), matches!(s, Failed | TimedOut), "{s}");
        }
    }

    #[test]
    fn statuses_read_and_write_their_stored_names() {
        for s in ExecutionStatus::ALL {
            assert_eq!(ExecutionStatus::parse(s.as_str()), Some(s));
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
            assert_eq!(serde_json::from_str::<ExecutionStatus>(&json).unwrap(), s);
        }
        assert_eq!(ExecutionStatus::parse("done"), None);
        for s in StepStatus::ALL {
            assert_eq!(StepStatus::parse(s.as_str()), Some(s));
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(serde_json::from_str::<StepStatus>(&json).unwrap(), s);
        }
        let step: StepStatus = serde_json::from_str("\"skipped\"").unwrap();
        assert!(step.is_terminal() && step.ends_the_run());
        assert!(!StepStatus::Running.is_terminal());
        assert!(!StepStatus::Succeeded.ends_the_run());
    }
}
