//! `aslrt stream`: one result line per input line, at-least-once with a checkpoint.
//!
//! The checkpoint (`checkpoint.rs`) says the first L input lines have their results in the first
//! O bytes of the output, and those bytes are on disk (synced before the checkpoint is replaced,
//! atomically, by rename). A restart with the same arguments checks that the output and the
//! input are still the ones it describes, cuts the output back to O (dropping any torn or
//! uncommitted line) and resumes at line L + 1, so no line is ever lost; lines after the
//! checkpoint may be produced twice across a crash, never missed. A last line with no newline
//! is never covered by the checkpoint (the input may still be growing): its result is written,
//! and a restart runs it again, as it then reads (if it grew; one rewritten in place changes the
//! input's head, and the restart refuses).

use crate::checkpoint::{self, Checkpoint};
use aslrt::{Execution, Runtime, StateMachine};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, IsTerminal, Read, Seek, SeekFrom, Write};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Options<'a> {
    pub input: Option<&'a str>,
    pub output: Option<&'a str>,
    pub threads: usize,
    pub checkpoint: Option<&'a str>,
    /// Ignore the checkpoint and start over.
    pub restart: bool,
    pub metrics: Option<&'a str>,
}

/// Lines between checkpoints (also written at least every 200 ms).
const CHECKPOINT_EVERY: u64 = 8192;

/// The result line for one event.
fn result_line(line: u64, r: &Execution<'_>) -> Vec<u8> {
    // A malformed event is named by its line; within it, one line long, the column says where.
    let named = match (r.error, r.cause.and_then(|c| c.strip_prefix(aslrt::INVALID_INPUT_CAUSE))) {
        (Some("States.Runtime"), Some(why)) => {
            let why = why.replace("(line 1, column ", "(column ");
            Some(format!("The event on line {line} is not valid JSON: {why}"))
        }
        _ => None,
    };
    let r = Execution { cause: named.as_deref().or(r.cause), ..*r };
    let mut text = String::with_capacity(64 + r.output.map_or(0, str::len));
    text.push_str(&format!("{{\"line\":{line},"));
    r.write_fields(&mut text);
    let mut out = text.into_bytes();
    out.extend_from_slice(b"}\n");
    out
}

pub fn run(machine: &StateMachine, opts: &Options<'_>) -> Result<(), String> {
    if opts.checkpoint.is_some() && opts.output.is_none_or(|o| o == "-") {
        return Err("--checkpoint needs --output FILE (the output is cut back to the checkpoint on restart)".into());
    }
    let mut reader: Box<dyn Read> = match opts.input {
        None | Some("-") => Box::new(std::io::stdin().lock()),
        Some(path) => Box::new(File::open(path).map_err(|e| format!("{path}: {e}"))?),
    };
    // With a checkpoint, the input's first bytes identify it; they are read again from here.
    // (Without one nothing waits for them: a slow pipe's first event runs at once.)
    let mut head = Vec::new();
    if opts.checkpoint.is_some() {
        reader
            .by_ref()
            .take(checkpoint::INPUT_HEAD as u64)
            .read_to_end(&mut head)
            .map_err(|e| format!("reading the input: {e}"))?;
    }
    let input_head = checkpoint::sha256_hex(&head);
    let input_head_len = head.len() as u64;
    let resumed = match opts.checkpoint {
        Some(path) if !opts.restart => checkpoint::read(path)?,
        _ => None,
    };
    // The output, checked against the checkpoint and cut back to it, before anything is written.
    let mut sink: Box<dyn Write> = match opts.output {
        None | Some("-") => Box::new(BufWriter::with_capacity(1 << 16, std::io::stdout().lock())),
        Some(path) => {
            let mut f = OpenOptions::new()
                .create(true)
                .read(true)
                .write(true)
                .truncate(false)
                .open(path)
                .map_err(|e| format!("{path}: {e}"))?;
            if let (Some(c), Some(cp)) = (&resumed, opts.checkpoint) {
                checkpoint::verify(c, cp, &mut f, path, &head)?;
            }
            let had = f.metadata().map_err(|e| format!("{path}: {e}"))?.len();
            if let (None, Some(cp), false, true) = (&resumed, opts.checkpoint, opts.restart, had > 0) {
                // Results with no checkpoint to say how far they go (it was deleted, or its path
                // mistyped): not silently overwritten.
                return Err(format!(
                    "{path} already holds {had} bytes of results, but there is no checkpoint {cp} to resume \
                     from; start over with --restart (the output is then written from its beginning)"
                ));
            }
            let keep = resumed.as_ref().map_or(0, |c| c.offset);
            f.set_len(keep).map_err(|e| format!("{path}: {e}"))?;
            f.seek(SeekFrom::Start(keep)).map_err(|e| format!("{path}: {e}"))?;
            if let Some(cp) = opts.checkpoint {
                // At once, so that a kill before the first checkpoint of this run (or after
                // --restart cut the output) restarts from what is on disk now.
                f.sync_data().map_err(|e| format!("{path}: {e}"))?;
                let now = Checkpoint {
                    input_head: input_head.clone(),
                    input_head_len,
                    ..resumed.clone().unwrap_or_default()
                };
                checkpoint::write(cp, &now).map_err(|e| format!("{cp}: {e}"))?;
            }
            Box::new(DurableFile::new(f))
        }
    };
    let reader = std::io::Cursor::new(head).chain(reader);
    let checkpoint = resumed.unwrap_or_default();
    let mut lines = BufReader::with_capacity(1 << 16, reader);
    let skip = checkpoint.line;
    let mut number = 0u64;
    // A line past the payload limit is not read whole: enough of it to fail its execution, and
    // its real length, for the result's cause.
    let limit = machine.config().limits.max_payload_bytes;
    let oversized: Arc<Mutex<HashMap<u64, u64>>> = Arc::default();
    let read_error: Rc<RefCell<Option<(u64, std::io::Error)>>> = Rc::default();
    // The number of a last line that no newline ended, once read.
    let unended: Rc<Cell<Option<u64>>> = Rc::default();
    let source = {
        let (oversized, read_error, unended) = (Arc::clone(&oversized), Rc::clone(&read_error), Rc::clone(&unended));
        std::iter::from_fn(move || loop {
            match crate::lines::next_line(&mut lines, limit.saturating_add(1)) {
                Ok(None) if number < skip => {
                    let e = std::io::Error::other(format!(
                        "it has {number} lines, fewer than the {skip} the checkpoint says are done (another input?)"
                    ));
                    *read_error.borrow_mut() = Some((number, e));
                    return None;
                }
                Ok(None) => return None,
                Err(e) => {
                    // Not the end of the input: the run fails after the results before it.
                    *read_error.borrow_mut() = Some((number, e));
                    return None;
                }
                Ok(Some((line, ended))) => {
                    number += 1;
                    if !ended {
                        unended.set(Some(number));
                    }
                    if number <= skip {
                        continue;
                    }
                    if line.len > limit as u64 {
                        oversized.lock().unwrap_or_else(|p| p.into_inner()).insert(number, line.len);
                    }
                    return Some((number, line.bytes));
                }
            }
        })
    };

    let runtime = Runtime::try_new(opts.threads).map_err(|e| e.to_string())?;
    let progress = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {pos} events, {per_sec}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar
    });
    let mut done = Checkpoint { input_head, input_head_len, ..checkpoint };
    // The last result line written since the start, hashed only when a checkpoint is written.
    let mut last: Option<Vec<u8>> = None;
    let mut since = Instant::now();
    let durable = opts.checkpoint;
    let format = move |line: u64, r: &Execution<'_>| {
        let real = match r.error {
            Some("States.DataLimitExceeded") => oversized.lock().unwrap_or_else(|p| p.into_inner()).remove(&line),
            _ => None,
        };
        match real {
            Some(len) => {
                let cause = format!("The event on line {line}: {}", aslrt::oversized_input_cause(len, limit));
                result_line(line, &Execution { cause: Some(&cause), ..*r })
            }
            None => result_line(line, r),
        }
    };
    let result = runtime.stream(machine, source, opts.threads * 1024, format, |line, bytes| {
        sink.write_all(bytes)?;
        if let Some(bar) = &progress {
            bar.inc(1);
        }
        if unended.get() == Some(line) {
            return Ok(()); // written, but left to the next run to cover
        }
        done.line = line;
        done.offset += bytes.len() as u64;
        if let Some(path) = durable {
            let kept = last.get_or_insert_with(Vec::new);
            kept.clear();
            kept.extend_from_slice(bytes);
            if line % CHECKPOINT_EVERY == 0 || since.elapsed() > Duration::from_millis(200) {
                sink.flush()?; // DurableFile syncs on flush
                done.last_line = checkpoint::sha256_hex(kept);
                checkpoint::write(path, &done)?;
                since = Instant::now();
            }
        }
        Ok(())
    });
    sink.flush().map_err(|e| format!("writing the output: {e}"))?;
    if let Some(path) = opts.checkpoint {
        if let Some(kept) = &last {
            done.last_line = checkpoint::sha256_hex(kept);
        }
        checkpoint::write(path, &done).map_err(|e| format!("{path}: {e}"))?;
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    if let Some(path) = opts.metrics {
        std::fs::write(path, runtime.metrics().snapshot().prometheus()).map_err(|e| format!("{path}: {e}"))?;
    }
    runtime.shutdown();
    result.map_err(|e| format!("writing the output: {e}"))?;
    let failed = read_error.borrow_mut().take();
    match failed {
        Some((line, e)) => Err(format!("reading the input after line {line}: {e} (the results before it are written)")),
        None => Ok(()),
    }
}

/// A buffered file whose `flush` also syncs its data to disk.
struct DurableFile {
    inner: BufWriter<File>,
}

impl DurableFile {
    fn new(f: File) -> Self {
        DurableFile { inner: BufWriter::with_capacity(1 << 16, f) }
    }
}

impl Write for DurableFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()?;
        self.inner.get_ref().sync_data()
    }
}
