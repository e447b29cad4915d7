//! `execute_arrow`'s result: a struct array of `status`, `output`, `error` and `cause`, built
//! from the rows the workers made, with no Python object per event. Each text column's bytes
//! are gathered into one buffer by several threads at once: copying 100,000 outputs (and
//! faulting in their fresh pages) on one thread took as long as running them. The buffers come
//! back to a pool when pyarrow releases them (`raw::column_buffer`).

use crate::result::ExecutionResult;
use arrow_array::{ArrayRef, StringArray, StructArray};
use arrow_buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field};
use std::sync::Arc;

/// One execution's row, made on the worker that ran it.
pub struct Row {
    status: &'static str,
    output: Option<String>,
    error: Option<String>,
    cause: Option<String>,
}

impl Row {
    pub fn of(e: aslrt::Execution<'_>) -> Row {
        Row {
            status: ExecutionResult::status_name(e.status),
            output: e.output.map(str::to_owned),
            error: e.error.map(str::to_owned),
            cause: e.cause.map(str::to_owned),
        }
    }

    /// The row of a null event.
    fn null_event() -> Row {
        Row {
            status: "FAILED",
            output: None,
            error: Some("States.Runtime".into()),
            cause: Some("The execution input is null: the array has no event in this row".into()),
        }
    }
}

/// A string column of `texts`, its bytes copied by up to `threads` threads.
fn column(texts: &[Option<&str>], threads: usize) -> StringArray {
    let mut offsets = Vec::with_capacity(texts.len() + 1);
    let mut end = 0i32;
    offsets.push(0);
    for t in texts {
        end += i32::try_from(t.map_or(0, str::len)).expect("a column of at most 2 GiB (256 KiB per event)");
        offsets.push(end);
    }
    let mut data = crate::raw::column_buffer(end as usize);
    let per = texts.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|s| {
        let mut rest = data.as_mut_slice();
        for (k, part) in texts.chunks(per).enumerate() {
            let len = (offsets[(k * per + part.len()).min(texts.len())] - offsets[k * per]) as usize;
            let (mine, after) = rest.split_at_mut(len);
            rest = after;
            s.spawn(move || {
                let mut at = 0;
                for t in part.iter().flatten() {
                    mine[at..at + t.len()].copy_from_slice(t.as_bytes());
                    at += t.len();
                }
            });
        }
    });
    let nulls = texts.iter().any(Option::is_none).then(|| NullBuffer::from_iter(texts.iter().map(Option::is_some)));
    StringArray::new(OffsetBuffer::new(ScalarBuffer::from(offsets)), crate::raw::pooled_buffer(data), nulls)
}

/// The struct array of `present.len()` rows: `rows` in order where `present` is true, and a
/// FAILED row for each null event.
pub fn table(present: &[bool], rows: Vec<Row>, threads: usize) -> StructArray {
    let null_event = Row::null_event();
    let mut given = rows.iter();
    let all: Vec<&Row> =
        present.iter().map(|&there| if there { given.next().unwrap_or(&null_event) } else { &null_event }).collect();
    let texts = |pick: fn(&Row) -> Option<&str>| all.iter().map(|r| pick(r)).collect::<Vec<_>>();
    let field = |name: &str, nullable: bool, array: StringArray| {
        (Arc::new(Field::new(name, DataType::Utf8, nullable)), Arc::new(array) as ArrayRef)
    };
    let table = StructArray::from(vec![
        field("status", false, column(&texts(|r| Some(r.status)), threads)),
        field("output", true, column(&texts(|r| r.output.as_deref()), threads)),
        field("error", true, column(&texts(|r| r.error.as_deref()), threads)),
        field("cause", true, column(&texts(|r| r.cause.as_deref()), threads)),
    ]);
    drop(all);
    // The rows' strings were allocated on the workers; freeing 100,000 of them on one thread
    // took a tenth of the call, so the threads share that too.
    let per = rows.len().div_ceil(threads.max(1)).max(1);
    let mut rows = rows;
    std::thread::scope(|s| {
        while rows.len() > per {
            let part = rows.split_off(rows.len() - per);
            s.spawn(move || drop(part));
        }
        drop(std::mem::take(&mut rows));
    });
    table
}
