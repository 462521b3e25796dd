//! CSV lines for exports (RFC 4180). Telemetry text comes from other people's apps and ends up
//! in someone's spreadsheet, so a cell that would start a formula is prefixed with `'`.

/// One line: the cells escaped and joined by commas, ending in `\r\n`.
pub fn line<S: AsRef<str>>(cells: &[S]) -> String {
    let mut out = cells
        .iter()
        .map(|c| cell(c.as_ref()))
        .collect::<Vec<_>>()
        .join(",");
    out.push_str("\r\n");
    out
}

fn cell(raw: &str) -> String {
    let neutral = if raw.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{raw}")
    } else {
        raw.to_string()
    };
    if neutral.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", neutral.replace('"', "\"\""))
    } else {
        neutral
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_what_needs_quoting() {
        assert_eq!(line(&["a", "b c", ""]), "a,b c,\r\n");
        assert_eq!(
            line(&["x,y", "say \"hi\"", "l1\nl2"]),
            "\"x,y\",\"say \"\"hi\"\"\",\"l1\nl2\"\r\n"
        );
    }

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(
            line(&["=SUM(A1)", "+1", "-2", "@x"]),
            "'=SUM(A1),'+1,'-2,'@x\r\n"
        );
        assert_eq!(line(&["=a,b"]), "\"'=a,b\"\r\n");
    }
}
