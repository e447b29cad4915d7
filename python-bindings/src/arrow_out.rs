//! `execute_arrow`'s result: a struct array of `status`, `output`, `error` and `cause`, built
//! with no Python object per event and no allocation per row. Each run of events a worker takes
//! writes its rows' texts into buffers of its own (`Run`). When the run ends, the same worker
//! appends them to the table's columns, in event order, while they are still in its cache; a
//! run that ends before an earlier one waits in the table for it. So the columns are whole
//! when the batch returns, with no second pass over 70 MB of output after it. Run buffers and
//! column buffers come back to pools for the next call.

use crate::raw;
use crate::result::ExecutionResult;
use arrow_array::{ArrayRef, StructArray};
use arrow_buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Texts of one column, one after the other, with where each row's text ends (relative to the
/// first) and whether it has one.
#[derive(Default)]
struct Column {
    data: Vec<u8>,
    ends: Vec<usize>,
    valid: Vec<bool>,
}

impl Column {
    fn push(&mut self, text: Option<&[u8]>) {
        self.data.extend_from_slice(text.unwrap_or_default());
        self.ends.push(self.data.len());
        self.valid.push(text.is_some());
    }

    fn clear(&mut self) {
        self.data.clear();
        self.ends.clear();
        self.valid.clear();
    }

    fn rows(&self) -> usize {
        self.ends.len()
    }

    /// The bytes of rows `from..to`.
    fn span(&self, from: usize, to: usize) -> &[u8] {
        let start = if from == 0 { 0 } else { self.ends[from - 1] };
        let end = if to == 0 { 0 } else { self.ends[to - 1] };
        &self.data[start..end]
    }
}

/// The four columns of a run's rows: status, output, error, cause.
#[derive(Default)]
struct Texts([Column; 4]);

impl Texts {
    fn rows(&self) -> usize {
        self.0[0].rows()
    }
}

/// Run buffers kept for the next runs: with runs appended as they end, a handful are in use at
/// a time. At most `KEPT_BYTES` of them are kept.
static KEPT: Mutex<Vec<Texts>> = Mutex::new(Vec::new());
const KEPT_BYTES: usize = 64 << 20;

fn reuse() -> Texts {
    KEPT.try_lock().ok().and_then(|mut kept| kept.pop()).unwrap_or_default()
}

fn keep(mut texts: Texts) {
    // A pool is a cache: one busy (or left locked by a thread not forked along) is passed over.
    if let Ok(mut kept) = KEPT.try_lock() {
        let bytes = |t: &Texts| t.0.iter().map(|c| c.data.capacity()).sum::<usize>();
        if kept.iter().map(bytes).sum::<usize>() + bytes(&texts) <= KEPT_BYTES {
            texts.0.iter_mut().for_each(Column::clear);
            kept.push(texts);
        }
    }
}

/// The table of a call, filled run by run in event order.
pub struct Table(Mutex<Building>);

struct Building {
    /// The number of events (rows that are not null).
    events: usize,
    /// The first event not yet appended.
    next: usize,
    /// Runs that ended before an earlier one, by their first event.
    waiting: BTreeMap<usize, Texts>,
    /// The rows of null events (which have no execution), in order, and how many are appended.
    nulls: Vec<usize>,
    nulls_done: usize,
    /// The table's columns; their `ends` are the Arrow offsets after the first (0).
    columns: [Column; 4],
    /// Set when a column would pass the 2 GiB that 32-bit offsets reach.
    full: bool,
}

const STATUS: usize = 0;

/// The row of a null event: it has no input to run.
const NULL_EVENT: [Option<&[u8]>; 4] = [
    Some(b"FAILED"),
    None,
    Some(b"States.Runtime"),
    Some(b"The execution input is null: the array has no event in this row"),
];

const COLUMN_LIMIT: usize = i32::MAX as usize;

impl Table {
    /// The table of `present.len()` rows, where `present` says which have an event.
    pub fn new(present: &[bool]) -> Arc<Table> {
        let nulls: Vec<usize> = present.iter().enumerate().filter(|(_, p)| !**p).map(|(i, _)| i).collect();
        // The output column, the largest, takes the largest kept buffer.
        let mut columns: [Column; 4] = Default::default();
        for k in [1, 3, 0, 2] {
            columns[k].data = raw::reused_buffer();
            columns[k].ends.reserve(present.len());
            columns[k].valid.reserve(present.len());
        }
        Arc::new(Table(Mutex::new(Building {
            events: present.len() - nulls.len(),
            next: 0,
            waiting: BTreeMap::new(),
            nulls,
            nulls_done: 0,
            columns,
            full: false,
        })))
    }

    fn lock(&self) -> MutexGuard<'_, Building> {
        // A worker that panicked while appending leaves the table short of rows, which `finish`
        // reports; the lock itself stays usable.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A run of rows starting at event `first`.
    pub fn run(self: &Arc<Table>, first: usize) -> Run {
        Run { table: Arc::clone(self), first, texts: reuse() }
    }

    /// The struct array, once every event's run has been appended.
    pub fn finish(&self) -> Result<StructArray, String> {
        let mut b = self.lock();
        let events = b.events;
        if b.full {
            return Err("the results of one call hold more than 2 GiB of text in a column: give it fewer events".into());
        }
        if b.next != events {
            return Err(format!("aslrt lost the results after event {} of {events} (a bug in aslrt)", b.next));
        }
        while b.nulls_done < b.nulls.len() {
            b.push_null_event();
        }
        let columns = std::mem::take(&mut b.columns);
        drop(b);
        let [status, output, error, cause] = columns.map(|c| {
            let mut offsets = Vec::with_capacity(c.ends.len() + 1);
            offsets.push(0i32);
            // Every end is at most COLUMN_LIMIT (`full` is set before one would be).
            offsets.extend(c.ends.iter().map(|&e| e as i32));
            let nulls = c.valid.contains(&false).then(|| NullBuffer::from(c.valid));
            Arc::new(raw::string_array(OffsetBuffer::new(ScalarBuffer::from(offsets)), c.data, nulls)) as ArrayRef
        });
        let field = |name: &str, nullable: bool| Arc::new(Field::new(name, DataType::Utf8, nullable));
        Ok(StructArray::from(vec![
            (field("status", false), status),
            (field("output", true), output),
            (field("error", true), error),
            (field("cause", true), cause),
        ]))
    }

    /// Appends the run starting at event `first`, and any waiting for it; or keeps it until the
    /// runs before it are in.
    fn commit(&self, first: usize, texts: Texts) {
        let mut b = self.lock();
        if first != b.next {
            b.waiting.insert(first, texts);
            return;
        }
        let mut texts = texts;
        loop {
            b.append(&texts);
            keep(texts);
            let next = b.next;
            match b.waiting.remove(&next) {
                Some(t) => texts = t,
                None => return,
            }
        }
    }
}

impl Building {
    /// The number of rows appended.
    fn rows(&self) -> usize {
        self.columns[STATUS].rows()
    }

    fn push_null_event(&mut self) {
        for (column, text) in self.columns.iter_mut().zip(NULL_EVENT) {
            if column.data.len() + text.map_or(0, <[u8]>::len) > COLUMN_LIMIT {
                self.full = true;
            }
            // Once full, the call fails: only the row count still matters.
            column.push(if self.full { None } else { text });
        }
        self.nulls_done += 1;
    }

    /// Appends a run's rows after the rows so far, null events' rows among them where they
    /// fall, in as few copies as that allows.
    fn append(&mut self, texts: &Texts) {
        let mut from = 0;
        let rows = texts.rows();
        self.next += rows;
        while from < rows {
            while self.nulls.get(self.nulls_done) == Some(&self.rows()) {
                self.push_null_event();
            }
            // Up to the next null event's row, or the run's end.
            let room = self.nulls.get(self.nulls_done).map_or(usize::MAX, |&r| r - self.rows());
            let to = rows.min(from.saturating_add(room));
            for (column, run) in self.columns.iter_mut().zip(&texts.0) {
                let bytes = run.span(from, to);
                let base = column.data.len();
                if base + bytes.len() > COLUMN_LIMIT {
                    self.full = true;
                }
                if self.full {
                    // What is appended no longer matters: the call fails. Rows are still
                    // counted, so that the count stays right.
                    column.ends.extend(std::iter::repeat_n(base, to - from));
                    column.valid.extend(std::iter::repeat_n(false, to - from));
                    continue;
                }
                column.data.extend_from_slice(bytes);
                let start = if from == 0 { 0 } else { run.ends[from - 1] };
                column.ends.extend(run.ends[from..to].iter().map(|e| base + e - start));
                column.valid.extend_from_slice(&run.valid[from..to]);
            }
            from = to;
        }
        // Null events' rows right after the run come with the next run, or in `finish`.
    }
}

/// A worker's run of rows (the per-run state of `Runtime::execute_batch_chunked`): their texts
/// go into buffers of its own, appended to the table when the run ends.
pub struct Run {
    table: Arc<Table>,
    first: usize,
    texts: Texts,
}

impl Run {
    /// Adds an execution's row.
    pub fn push(&mut self, e: aslrt::Execution<'_>) {
        let status = ExecutionResult::status_name(e.status).as_bytes();
        let row = [Some(status), e.output.map(str::as_bytes), e.error.map(str::as_bytes), e.cause.map(str::as_bytes)];
        for (column, text) in self.texts.0.iter_mut().zip(row) {
            column.push(text);
        }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        self.table.commit(self.first, std::mem::take(&mut self.texts));
    }
}
