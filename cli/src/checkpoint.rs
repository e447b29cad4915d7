//! `aslrt stream`'s checkpoint: how far results are durably written, and what that depends on.
//!
//! It records the input lines done and the output bytes that hold their results, and also the
//! SHA-256 of the last of those result lines and of the input's first bytes (up to 64 KiB). A
//! restart checks them before it writes anything: the output must still hold that many bytes
//! ending in that line, and the input must begin with those bytes. Then it resumes exactly;
//! otherwise it refuses, saying what does not match, and `--restart` starts over. So a deleted
//! or cut output, an edited checkpoint or one left by another input never leads to garbage
//! written or work silently skipped.

use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};

/// The most bytes of the input's start that identify it.
pub const INPUT_HEAD: usize = 64 * 1024;

/// 3 since a last line with no newline is never covered: a version 2 checkpoint may cover one
/// that has grown since, and is refused.
const VERSION: u64 = 3;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Checkpoint {
    /// Input lines whose results are written.
    pub line: u64,
    /// Output bytes that hold those results.
    pub offset: u64,
    /// SHA-256 (hex) of the last result line in those bytes, newline included; empty when none.
    pub last_line: String,
    /// How many of the input's first bytes `input_head` hashes.
    pub input_head_len: u64,
    /// SHA-256 (hex) of the input's first `input_head_len` bytes.
    pub input_head: String,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

const START_OVER: &str = "start over with --restart (the output is then written from its beginning)";

/// The checkpoint at `path`, or `None` when there is none yet.
pub fn read(path: &str) -> Result<Option<Checkpoint>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{path}: {e}")),
    };
    let refuse = |why: &str| format!("{path}: {why}; {START_OVER}");
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| refuse(&format!("not a checkpoint ({e})")))?;
    let number = |k: &str| v[k].as_u64();
    let text_of = |k: &str| v[k].as_str().map(str::to_owned);
    if number("version") != Some(VERSION) {
        return Err(refuse(&format!(
            "not a checkpoint this version of aslrt writes (it has no \"version\": {VERSION})"
        )));
    }
    match (
        number("line"),
        number("offset"),
        text_of("last_line_sha256"),
        number("input_head_bytes"),
        text_of("input_head_sha256"),
    ) {
        (Some(line), Some(offset), Some(last_line), Some(input_head_len), Some(input_head)) => {
            Ok(Some(Checkpoint { line, offset, last_line, input_head_len, input_head }))
        }
        _ => Err(refuse("a checkpoint needs line, offset, last_line_sha256, input_head_bytes and input_head_sha256")),
    }
}

/// Writes `c` to `path` atomically (a synced temporary file renamed over it).
pub fn write(path: &str, c: &Checkpoint) -> std::io::Result<()> {
    let text = serde_json::json!({
        "version": VERSION,
        "line": c.line,
        "offset": c.offset,
        "last_line_sha256": c.last_line,
        "input_head_bytes": c.input_head_len,
        "input_head_sha256": c.input_head,
    });
    let tmp = format!("{path}.tmp");
    {
        let mut f = File::create(&tmp)?;
        f.write_all(format!("{text}\n").as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

/// Checks that `c` belongs to this output (`output`, at `output_path`) and to an input that
/// begins with `head`: why not, otherwise, naming what differs.
pub fn verify(c: &Checkpoint, path: &str, output: &mut File, output_path: &str, head: &[u8]) -> Result<(), String> {
    let refuse = |why: String| Err(format!("{path} does not match: {why}; {START_OVER}"));
    if c.line == 0 && c.offset == 0 {
        return Ok(());
    }
    if c.line == 0 || c.offset == 0 {
        return refuse(format!("it says {} lines have {} bytes of results, which cannot be", c.line, c.offset));
    }
    let len = output.metadata().map_err(|e| format!("{output_path}: {e}"))?.len();
    if len < c.offset {
        return refuse(format!(
            "it says {} bytes of results were written to {output_path}, which holds {len} (deleted or cut since)",
            c.offset
        ));
    }
    let last = last_line(output, c.offset).map_err(|e| format!("{output_path}: {e}"))?;
    // The result line names its input line: it must be the checkpoint's last.
    let names = format!("{{\"line\":{},", c.line);
    let recorded = last.as_ref().is_some_and(|l| sha256_hex(l) == c.last_line && l.starts_with(names.as_bytes()));
    if !recorded {
        return refuse(format!(
            "the result line that ends at byte {} of {output_path} is not the one it recorded (the output \
             or the checkpoint was changed)",
            c.offset
        ));
    }
    let n = usize::try_from(c.input_head_len).unwrap_or(usize::MAX);
    if head.len() < n || sha256_hex(&head[..n]) != c.input_head {
        return refuse(format!("the input does not begin with the {n} bytes it recorded (another input)"));
    }
    Ok(())
}

/// The longest result line: four times the most the writer writes of one value, enough for an
/// output and a cause that quotes one. A longer "line" is no result of ours, and is not read.
const MAX_LINE: usize = 4 * aslrt::RuntimeLimits::WRITTEN_VALUE_BYTES;

/// The line of `f` that ends at byte `end` (its newline included): the newline before it is
/// looked for back from `end`, a block at a time, then the line is read once; `None` if it is
/// longer than [`MAX_LINE`].
fn last_line(f: &mut File, end: u64) -> std::io::Result<Option<Vec<u8>>> {
    const BLOCK: u64 = 64 * 1024;
    let mut block = vec![0; BLOCK as usize];
    // The line's own newline is its last byte: search before it.
    let mut at = end.saturating_sub(1);
    let start = loop {
        if end - at > MAX_LINE as u64 {
            return Ok(None);
        }
        let from = at.saturating_sub(BLOCK);
        let part = &mut block[..(at - from) as usize];
        f.seek(SeekFrom::Start(from))?;
        f.read_exact(part)?;
        if let Some(i) = memchr::memrchr(b'\n', part) {
            break from + i as u64 + 1;
        }
        if from == 0 {
            break 0;
        }
        at = from;
    };
    let mut line = vec![0; (end - start) as usize];
    f.seek(SeekFrom::Start(start))?;
    f.read_exact(&mut line)?;
    Ok(Some(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_line_is_found_across_blocks() {
        let path = std::env::temp_dir().join(format!("aslrt-last-line-{}", std::process::id()));
        let long = "x".repeat(200_000);
        std::fs::write(&path, format!("a\n{long}\nb\n")).unwrap();
        let mut f = File::open(&path).unwrap();
        let end = 2 + long.len() as u64 + 1;
        assert_eq!(last_line(&mut f, end).unwrap(), Some(format!("{long}\n").into_bytes()));
        assert_eq!(last_line(&mut f, 2).unwrap().as_deref(), Some(&b"a\n"[..]));
        assert_eq!(last_line(&mut f, end + 2).unwrap().as_deref(), Some(&b"b\n"[..]));
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_last_line_longer_than_any_result_is_not_read_whole() {
        // A file of zeros (sparse), with no newline: its "last line" is no result line.
        let path = std::env::temp_dir().join(format!("aslrt-long-line-{}", std::process::id()));
        let f = File::create(&path).unwrap();
        let len = MAX_LINE as u64 + (1 << 20);
        f.set_len(len).unwrap();
        let mut f = File::open(&path).unwrap();
        assert_eq!(last_line(&mut f, len).unwrap(), None);
        let _ = std::fs::remove_file(&path);
    }
}
