//! Input read with a bound: a line (or a whole `run` input) longer than the payload limit is not
//! held in memory. Its first bytes are kept, enough to exceed the limit, and the rest is read and
//! dropped, so that the event fails on its own (`States.DataLimitExceeded`) with its real size,
//! and a 1.5 GB line cannot take the process down with the results before it.

use std::io::{BufRead, ErrorKind, Read};

/// An input's kept bytes and its full length in bytes.
pub struct Bounded {
    pub bytes: Vec<u8>,
    pub len: u64,
}

/// The next line of `r` without its line ending (`\n`, or `\r\n`), keeping at most `keep` of its
/// bytes, and whether a newline ended it (the input's last line may have none); `None` at the
/// end of the input.
pub fn next_line(r: &mut impl BufRead, keep: usize) -> std::io::Result<Option<(Bounded, bool)>> {
    let mut line = Bounded { bytes: Vec::new(), len: 0 };
    let mut read_any = false;
    let mut ended = false;
    let mut last = None;
    loop {
        let chunk = match r.fill_buf() {
            Ok(chunk) => chunk,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            break;
        }
        read_any = true;
        let end = memchr::memchr(b'\n', chunk);
        let part = &chunk[..end.unwrap_or(chunk.len())];
        let room = keep.saturating_sub(line.bytes.len());
        line.bytes.extend_from_slice(&part[..part.len().min(room)]);
        line.len += part.len() as u64;
        last = part.last().copied().or(last);
        let used = end.map_or(chunk.len(), |i| i + 1);
        r.consume(used);
        if end.is_some() {
            ended = true;
            break;
        }
    }
    if !read_any {
        return Ok(None);
    }
    if last == Some(b'\r') {
        line.len -= 1;
        line.bytes.truncate(line.len.min(line.bytes.len() as u64) as usize);
    }
    Ok(Some((line, ended)))
}

/// All of `r`, keeping at most `keep` bytes.
pub fn read_all(r: &mut impl Read, keep: usize) -> std::io::Result<Bounded> {
    let mut bytes = Vec::new();
    r.by_ref().take(keep as u64).read_to_end(&mut bytes)?;
    let rest = std::io::copy(r, &mut std::io::sink())?;
    Ok(Bounded { len: bytes.len() as u64 + rest, bytes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &[u8], keep: usize) -> Vec<(Vec<u8>, u64)> {
        // A tiny buffer, so that lines cross reads.
        let mut r = std::io::BufReader::with_capacity(3, text);
        std::iter::from_fn(|| next_line(&mut r, keep).unwrap()).map(|(l, _)| (l.bytes, l.len)).collect()
    }

    #[test]
    fn only_a_last_line_without_a_newline_is_unended() {
        let mut r = std::io::BufReader::with_capacity(3, &b"ab\r\nlast\r"[..]);
        let ended: Vec<bool> = std::iter::from_fn(|| next_line(&mut r, 8).unwrap()).map(|(_, ended)| ended).collect();
        assert_eq!(ended, [true, false]);
    }

    #[test]
    fn lines_are_split_and_bounded_whatever_the_reads() {
        let got = lines(b"ab\r\n\n0123456789\nlast", 4);
        let want: Vec<(Vec<u8>, u64)> =
            vec![(b"ab".to_vec(), 2), (Vec::new(), 0), (b"0123".to_vec(), 10), (b"last".to_vec(), 4)];
        assert_eq!(got, want);
        assert_eq!(lines(b"", 4), Vec::<(Vec<u8>, u64)>::new());
        assert_eq!(lines(b"x\n", 4), vec![(b"x".to_vec(), 1)]);
    }

    #[test]
    fn a_whole_input_is_bounded_and_measured() {
        let all = read_all(&mut &b"0123456789"[..], 4).unwrap();
        assert_eq!((all.bytes, all.len), (b"0123".to_vec(), 10));
    }
}
