//! When to try a provider call again: 429 and 5xx answers are retried up to three times with
//! exponential backoff, honouring `Retry-After` up to 30 s; everything else fails at once.

pub const MAX_RETRIES: u32 = 3;
const MAX_RETRY_AFTER_MS: u64 = 30_000;

/// Whether an HTTP status is worth another attempt.
pub fn is_retryable(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

/// How long to wait before retry number `retry` (1-based): the provider's `Retry-After`
/// (seconds) when it gave one, capped at 30 s, else `base_ms` doubled per retry.
pub fn backoff_ms(retry: u32, retry_after: Option<&str>, base_ms: u64) -> u64 {
    if let Some(seconds) = retry_after
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
    {
        return ((seconds * 1000.0) as u64).min(MAX_RETRY_AFTER_MS);
    }
    base_ms
        .saturating_mul(1 << retry.saturating_sub(1).min(16))
        .min(MAX_RETRY_AFTER_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_rate_limits_and_server_errors_only() {
        assert!(is_retryable(429) && is_retryable(500) && is_retryable(503));
        assert!(!is_retryable(400) && !is_retryable(401) && !is_retryable(404));
    }

    #[test]
    fn backoff_doubles_and_honours_retry_after_up_to_30s() {
        assert_eq!(
            [1, 2, 3].map(|n| backoff_ms(n, None, 500)),
            [500, 1000, 2000]
        );
        assert_eq!(backoff_ms(1, Some("2"), 500), 2000);
        assert_eq!(backoff_ms(1, Some("120"), 500), 30_000);
        assert_eq!(backoff_ms(1, Some("soon"), 500), 500);
    }
}
