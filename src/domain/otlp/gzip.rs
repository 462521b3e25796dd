//! gzip bodies (`Content-Encoding: gzip`), inflated with a hard cap on the output.
//!
//! The output buffer grows by doubling with exact reservations and never past the cap, and
//! inflating stops the moment the stream wants more room than that: a kilobyte-sized bomb that
//! would expand to gigabytes costs at most the cap in memory. Members of a multi-member file are
//! inflated one after another under the same cap; each member's CRC-32 and length are checked.

use miniz_oxide::inflate::core::inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
use miniz_oxide::inflate::core::{decompress, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;

/// Why a gzip body was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InflateError {
    /// It inflates to more than the cap (413).
    TooLarge,
    /// It is not a well-formed gzip stream (400); the text is for a person.
    Corrupt(&'static str),
}

const FHCRC: u8 = 2;
const FEXTRA: u8 = 4;
const FNAME: u8 = 8;
const FCOMMENT: u8 = 16;

/// Inflates a gzip body into at most `cap` bytes.
pub fn inflate(body: &[u8], cap: usize) -> Result<Vec<u8>, InflateError> {
    let mut out: Vec<u8> = Vec::new();
    let mut rest = body;
    let mut decomp = DecompressorOxide::new();
    loop {
        let deflated = skip_header(rest)?;
        decomp.init();
        let member_start = out.len();
        let consumed = inflate_member(&mut decomp, deflated, &mut out, cap)?;
        let trailer = deflated
            .get(consumed..consumed + 8)
            .ok_or(InflateError::Corrupt("the gzip stream is truncated"))?;
        let member = &out[member_start..];
        let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
        let size = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
        if crc != crc32(member) || size != member.len() as u32 {
            return Err(InflateError::Corrupt("the gzip checksum does not match"));
        }
        rest = &deflated[consumed + 8..];
        // Trailing zero padding (some tools pad to a block) ends the stream, as in gzip(1).
        if rest.iter().all(|&b| b == 0) {
            return Ok(out);
        }
    }
}

/// The deflate data after a member's header.
fn skip_header(b: &[u8]) -> Result<&[u8], InflateError> {
    const TRUNCATED: InflateError = InflateError::Corrupt("the gzip header is truncated");
    if b.len() < 10 || b[0] != 0x1f || b[1] != 0x8b {
        return Err(InflateError::Corrupt("the body is not gzip"));
    }
    if b[2] != 8 {
        return Err(InflateError::Corrupt("unknown gzip compression method"));
    }
    let flags = b[3];
    if flags & 0xe0 != 0 {
        return Err(InflateError::Corrupt("reserved gzip flags are set"));
    }
    let mut at = 10;
    if flags & FEXTRA != 0 {
        let len = b.get(at..at + 2).ok_or(TRUNCATED)?;
        at += 2 + usize::from(u16::from_le_bytes([len[0], len[1]]));
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let end = b.get(at..).and_then(|s| s.iter().position(|&c| c == 0));
            at += end.ok_or(TRUNCATED)? + 1;
        }
    }
    if flags & FHCRC != 0 {
        at += 2;
    }
    b.get(at..).ok_or(TRUNCATED)
}

/// Inflates one raw deflate stream onto the end of `out`; answers how many input bytes it used.
fn inflate_member(
    decomp: &mut DecompressorOxide,
    input: &[u8],
    out: &mut Vec<u8>,
    cap: usize,
) -> Result<usize, InflateError> {
    let mut pos = out.len();
    let mut consumed = 0;
    loop {
        if out.len() == pos {
            // Grow: double (at least 64 KiB), never past the cap, and reserve exactly that much.
            if out.len() >= cap {
                return Err(InflateError::TooLarge);
            }
            let want = out.len().saturating_mul(2).max(64 * 1024).min(cap);
            out.reserve_exact(want - out.len());
            out.resize(want, 0);
        }
        let (status, used, written) = decompress(
            decomp,
            &input[consumed..],
            out,
            pos,
            TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF,
        );
        consumed += used;
        pos += written;
        match status {
            TINFLStatus::Done => {
                out.truncate(pos);
                return Ok(consumed);
            }
            TINFLStatus::HasMoreOutput => {}
            TINFLStatus::FailedCannotMakeProgress | TINFLStatus::NeedsMoreInput => {
                return Err(InflateError::Corrupt("the gzip stream is truncated"))
            }
            _ => return Err(InflateError::Corrupt("the gzip stream is corrupt")),
        }
    }
}

/// CRC-32 (IEEE), table-driven: the table is built at compile time (1 KiB).
fn crc32(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    };
    !data.iter().fold(!0u32, |c, &b| {
        TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8)
    })
}
