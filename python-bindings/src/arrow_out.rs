//! `execute_arrow`'s result: a struct array of `status`, `output`, `error` and `cause`, built
//! with no Python object per event and no allocation per row. Each run of events a worker takes
//! writes its rows' texts into one buffer of its own (`Chunk`); then each column is gathered
//! into one buffer by several threads at once, since copying (and faulting in) 70 MB of output
//! on one thread took as long as running the events. Buffers of both kinds come back to pools
//! for the next call (`raw`).

use crate::raw;
use crate::result::ExecutionResult;
use arrow_array::{ArrayRef, StringArray, StructArray};
use arrow_buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field};
use std::sync::{Arc, OnceLock};

/// The texts of a run of rows, once the run is over.
type Texts = Arc<OnceLock<raw::ChunkBuffer>>;

/// A worker's run of rows (the per-run state of `Runtime::execute_batch_chunked`): their texts
/// are appended to `buffer`, which goes to `texts` when the run ends.
pub struct Chunk {
    buffer: raw::ChunkBuffer,
    texts: Texts,
}

impl Default for Chunk {
    fn default() -> Chunk {
        Chunk { buffer: raw::ChunkBuffer::take(), texts: Arc::default() }
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        let _ = self.texts.set(std::mem::take(&mut self.buffer));
    }
}

/// Where a text is in its run's buffer.
#[derive(Clone, Copy)]
struct Span {
    start: u32,
    len: u32,
}

/// One execution's row, made on the worker that ran it.
pub struct Row {
    status: &'static str,
    texts: Texts,
    output: Option<Span>,
    error: Option<Span>,
    cause: Option<Span>,
}

impl Row {
    pub fn of(chunk: &mut Chunk, e: aslrt::Execution<'_>) -> Row {
        let mut put = |t: Option<&str>| {
            t.map(|t| {
                let start = chunk.buffer.len();
                chunk.buffer.extend(t.as_bytes());
                Span {
                    start: u32::try_from(start).unwrap_or(u32::MAX),
                    len: u32::try_from(t.len()).unwrap_or(u32::MAX),
                }
            })
        };
        let (output, error, cause) = (put(e.output), put(e.error), put(e.cause));
        Row { status: ExecutionResult::status_name(e.status), texts: Arc::clone(&chunk.texts), output, error, cause }
    }

    /// The row's status, output, error and cause.
    fn all_texts(&self) -> [Option<&[u8]>; 4] {
        [Some(self.status.as_bytes()), self.text(self.output), self.text(self.error), self.text(self.cause)]
    }

    fn text(&self, span: Option<Span>) -> Option<&[u8]> {
        let buffer = self.texts.get().expect("a run's texts are set when the run ends, before the table is built");
        span.map(|s| &buffer.bytes()[s.start as usize..(s.start + s.len) as usize])
    }
}

/// How many of `n` items each of `threads` threads takes (at least one).
fn per_thread(n: usize, threads: usize) -> usize {
    n.div_ceil(threads.max(1)).max(1)
}

/// A string column of `texts` (each the bytes of a `str`), copied by up to `threads` threads.
fn column(texts: &[Option<&[u8]>], threads: usize) -> Result<StringArray, String> {
    let mut offsets = Vec::with_capacity(texts.len() + 1);
    let mut end = 0i32;
    offsets.push(0);
    for t in texts {
        end = i32::try_from(t.map_or(0, <[u8]>::len))
            .ok()
            .and_then(|n| end.checked_add(n))
            .ok_or("the results of one call hold more than 2 GiB of text in a column: give it fewer events")?;
        offsets.push(end);
    }
    let mut data = raw::column_buffer(end as usize);
    let per = per_thread(texts.len(), threads);
    std::thread::scope(|s| {
        let mut rest = data.as_mut_slice();
        for (k, part) in texts.chunks(per).enumerate() {
            let len = (offsets[k * per + part.len()] - offsets[k * per]) as usize;
            let (mine, after) = rest.split_at_mut(len);
            rest = after;
            s.spawn(move || {
                let mut at = 0;
                for t in part.iter().flatten() {
                    mine[at..at + t.len()].copy_from_slice(t);
                    at += t.len();
                }
            });
        }
    });
    let nulls = texts.iter().any(Option::is_none).then(|| NullBuffer::from_iter(texts.iter().map(Option::is_some)));
    Ok(raw::string_array(OffsetBuffer::new(ScalarBuffer::from(offsets)), data, nulls))
}

/// The struct array of `present.len()` rows: `rows` in order where `present` is true, and a
/// FAILED row for each null event.
pub fn table(present: &[bool], rows: Vec<Row>, threads: usize) -> Result<StructArray, String> {
    // A thread per few thousand rows at most: starting threads costs more than small copies.
    let threads = threads.min(present.len() / 4096 + 1);
    let null_event: [Option<&[u8]>; 4] = [
        Some(b"FAILED"),
        None,
        Some(b"States.Runtime"),
        Some(b"The execution input is null: the array has no event in this row"),
    ];
    // Each row's texts, looked up in its run's buffer: by several threads when every event was
    // there (each row's buffer is a cache miss), in order otherwise.
    let all: Vec<[Option<&[u8]>; 4]> = if rows.len() == present.len() {
        let mut all = vec![[None; 4]; rows.len()];
        let per = per_thread(rows.len(), threads);
        std::thread::scope(|s| {
            for (out, part) in all.chunks_mut(per).zip(rows.chunks(per)) {
                s.spawn(move || out.iter_mut().zip(part).for_each(|(o, r)| *o = r.all_texts()));
            }
        });
        all
    } else {
        let mut given = rows.iter();
        present
            .iter()
            .map(|&there| match if there { given.next() } else { None } {
                Some(r) => r.all_texts(),
                None => null_event,
            })
            .collect()
    };
    let texts = |k: usize| all.iter().map(|row| row[k]).collect::<Vec<_>>();
    let field = |k: usize, name: &str, nullable: bool| -> Result<(Arc<Field>, ArrayRef), String> {
        Ok((Arc::new(Field::new(name, DataType::Utf8, nullable)), Arc::new(column(&texts(k), threads)?) as ArrayRef))
    };
    let table = StructArray::from(vec![
        field(0, "status", false)?,
        field(1, "output", true)?,
        field(2, "error", true)?,
        field(3, "cause", true)?,
    ]);
    drop(all);
    // Each row holds its run's buffer (which goes back to its pool with the last of them):
    // dropping 100,000 of them, cache misses again, is shared by the threads too.
    let per = per_thread(rows.len(), threads);
    let mut rows = rows;
    std::thread::scope(|s| {
        while rows.len() > per {
            let part = rows.split_off(rows.len() - per);
            s.spawn(move || drop(part));
        }
        drop(std::mem::take(&mut rows));
    });
    Ok(table)
}
