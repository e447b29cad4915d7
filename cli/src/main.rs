//! The `aslrt` command: argument parsing, then calls into the `aslrt` crate.

use aslrt::internal::conformance::{run_case_with, Case};
use aslrt::{Clock, Handlers, StateMachine};
use clap::{Parser, Subcommand};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::process::ExitCode;

mod bench;
mod bench_async;
mod checkpoint;
mod handlers;
mod lines;
mod out;
mod stream;

use out::outln;

#[global_allocator]
static GLOBAL: bench::CountingMimalloc = bench::CountingMimalloc;

#[derive(Parser)]
#[command(
    name = "aslrt",
    version,
    about = "Run AWS Step Functions Express workflows (Amazon States Language) in process",
    after_help = EXIT_CODES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The exit codes, shown under every command's help.
const EXIT_CODES: &str = "\
Exit codes:
  0  the command did its work; for run and stream, every execution completed, whatever its status
     (a FAILED execution is a result, printed with its error and cause)
  1  an invalid definition or handler spec, a file that cannot be read or written, a conformance
     failure, or a bench workload whose output differs from its expected output
  2  the command line could not be parsed";

/// The short and long forms of Task handlers, shown under the help of commands that take them.
const HANDLER_FORMS: &str = "\
Task handlers (for trying a definition offline, without its real services):
  --handler RESOURCE=SPEC, repeatable, where SPEC is
    echo                       return the Task's input
    return:<json>              return this JSON value
    raise:<error>[:<cause>]    fail with this error name and cause
  --handlers FILE, a JSON object from resource to spec, each spec either a short form above or
    {\"kind\": \"echo\"}
    {\"kind\": \"return\", \"value\": <json>}
    {\"kind\": \"raise\", \"error\": <string>, \"cause\": <string>}
  RESOURCE is the Task's Resource ARN; for arn:aws:states:::lambda:invoke it is the FunctionName.
  A Task with no handler fails with States.TaskFailed naming its resource.";

/// How to build the machine: its Task handlers and its clock.
#[derive(clap::Args)]
struct MachineArgs {
    /// A Task handler, RESOURCE=SPEC with SPEC one of echo, return:<json>, raise:<error>[:<cause>]
    /// (repeatable; see below).
    #[arg(long = "handler", value_name = "RESOURCE=SPEC")]
    handlers: Vec<String>,
    /// A JSON file mapping resource to handler spec, short or long form (see below).
    #[arg(long = "handlers", value_name = "FILE")]
    handlers_file: Option<String>,
    /// Allow Tasks to invoke only these resources: an ARN or a pattern (* any run of
    /// characters, ? one), or a Lambda function's name (repeatable). A Task naming another
    /// resource is a definition error; a lambda:invoke FunctionName outside them fails its Task
    /// with Lambda.AWSLambdaException.
    #[arg(long = "allow-resource", value_name = "PATTERN")]
    allow_resources: Vec<String>,
    /// Run Wait states and retry back-off on a virtual clock instead of sleeping.
    #[arg(long)]
    virtual_clock: bool,
    /// Run the unoptimised reference program: every transition an explicit jump, no fused or
    /// specialised op, every path through the general evaluator. Outcomes are byte-identical.
    #[arg(long)]
    no_optimize: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Validate a definition: prints every diagnostic (code, JSON pointer, message); exit 1 if any.
    #[command(after_help = EXIT_CODES)]
    Validate {
        /// The state machine definition (ASL JSON): a file, or - for standard input.
        definition: String,
    },
    /// Run one execution and print {"status":…,"output":…} or {"status":…,"error":…,"cause":…}.
    #[command(after_help = format!("{HANDLER_FORMS}\n\n{EXIT_CODES}"))]
    Run {
        /// The state machine definition (ASL JSON): a file, or - for standard input.
        definition: String,
        /// The execution input: a file, or - for standard input (default: {}).
        #[arg(long)]
        input: Option<String>,
        #[command(flatten)]
        machine: MachineArgs,
        /// Print the compiled program instead of running it.
        #[arg(long)]
        disasm: bool,
    },
    /// Print what this build uses: version, allocator, and the simd-json parser for this CPU.
    #[command(after_help = EXIT_CODES)]
    Info,
    /// Benchmark the workloads of shared/bench (folders with definition.asl.json, input.json,
    /// expected-output.json) against the simd-json floor measured in the same run.
    #[command(after_help = EXIT_CODES)]
    Bench {
        /// Workload folders (definition.asl.json, input.json, expected-output.json, optional
        /// handlers.json), or folders that hold them, such as ../shared/bench.
        #[arg(required = true, value_name = "DIR")]
        dirs: Vec<String>,
        /// Worker threads for the multi-thread rows (default: the number of cores; at most 1024).
        #[arg(long, value_parser = thread_count)]
        threads: Option<usize>,
        /// Seconds of measurement for each timed thing: on one thread the floor, its second
        /// copy and the runtime (taken in turns, five runs each); on N threads the runtime.
        #[arg(long, default_value_t = 1.0)]
        seconds: f64,
        /// One JSON object per workload and thread count, one per line.
        #[arg(long)]
        json: bool,
        /// Time the unoptimised reference program (the ratios then show what optimising buys).
        #[arg(long)]
        no_optimize: bool,
        /// Also run the suspension suite on the first workload's input (a folder named like
        /// w2-etl-event is preferred): K = 1, 5, 20, 50 sequential Tasks with asynchronous
        /// handlers against synchronous ones, then --in-flight executions suspended at once.
        #[arg(long = "async")]
        asynchronous: bool,
        /// Executions in flight at once in the suspension suite's concurrency runs.
        #[arg(long, default_value_t = 100_000)]
        in_flight: usize,
        /// The parts of the suspension suite to run, comma-separated: glue, steps, sleeping,
        /// held, wait (default: all). One part alone per process gives the cleanest memory
        /// figure.
        #[arg(long, value_delimiter = ',', default_value = "glue,steps,sleeping,held,wait")]
        async_parts: Vec<String>,
        /// Run only the suspension suite (implies --async), without the workload rows first:
        /// a process that has run nothing else gives the cleanest start-up and memory figures.
        #[arg(long)]
        async_only: bool,
        /// The suspension suite's runtime waits in the submitter while executions not yet
        /// started hold this many bytes (`RuntimeBuilder::max_queued_bytes`; default 2 MiB
        /// per worker; 0: no bound, the whole burst queued).
        #[arg(long)]
        max_queued_bytes: Option<usize>,
    },
    /// Run one execution per input line (NDJSON) and write one result line per input line:
    /// {"line":N,"status":…,"output":…} or {"line":N,"status":"FAILED","error":…,"cause":…}.
    #[command(after_help = format!("{HANDLER_FORMS}\n\n{EXIT_CODES}"))]
    Stream {
        /// The state machine definition (ASL JSON): a file.
        definition: String,
        /// Events, one JSON document per line: a file, or - for standard input (default).
        #[arg(long)]
        input: Option<String>,
        /// Results: a file, or - for standard output (default).
        #[arg(long)]
        output: Option<String>,
        /// Worker threads (default: the number of cores; at most 1024).
        #[arg(long, value_parser = thread_count)]
        threads: Option<usize>,
        /// Checkpoint file: how far results are durably written, and the output and input it
        /// belongs to; a restart checks them and resumes after it, or refuses if they changed.
        #[arg(long)]
        checkpoint: Option<String>,
        /// Ignore the checkpoint and start over: the output is written from its beginning.
        #[arg(long, requires = "checkpoint")]
        restart: bool,
        /// Write the execution metrics here at the end, in Prometheus text format.
        #[arg(long)]
        metrics: Option<String>,
        #[command(flatten)]
        machine: MachineArgs,
    },
    /// Run conformance cases (JSON lines, as in shared/conformance) and compare with AWS's results.
    #[command(after_help = EXIT_CODES)]
    Conformance {
        /// Corpus files (.jsonl), such as ../shared/conformance/cases.jsonl.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<String>,
        /// Leave out cases carrying this tag (repeatable).
        #[arg(long = "skip-tag", value_name = "TAG")]
        skip_tags: Vec<String>,
        /// Print pass/fail counts per tag.
        #[arg(long)]
        by_tag: bool,
        /// A file of case ids expected to fail (one per line, # comments). The run then fails on
        /// any failure not listed and on any listed case that passes.
        #[arg(long, value_name = "FILE")]
        known_failures: Option<String>,
        /// Run every case on the unoptimised reference program.
        #[arg(long)]
        no_optimize: bool,
    },
}

/// A `--threads` value: 1 to `Runtime::MAX_THREADS`.
fn thread_count(text: &str) -> Result<usize, String> {
    let max = aslrt::Runtime::MAX_THREADS;
    match text.parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!("the number of threads must be a whole number from 1 to {max}")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate { definition } => validate(&definition),
        Command::Run { definition, input, machine, disasm } => run(&definition, input.as_deref(), &machine, disasm),
        Command::Stream { definition, input, output, threads, checkpoint, restart, metrics, machine } => {
            compile_cli(&definition, &machine).and_then(|machine| {
                let threads = threads.unwrap_or_else(aslrt::Runtime::default_threads);
                let opts = stream::Options {
                    input: input.as_deref(),
                    output: output.as_deref(),
                    threads,
                    checkpoint: checkpoint.as_deref(),
                    restart,
                    metrics: metrics.as_deref(),
                };
                stream::run(&machine, &opts).map(|()| ExitCode::SUCCESS)
            })
        }
        Command::Bench {
            dirs,
            threads,
            seconds,
            json,
            no_optimize,
            asynchronous,
            in_flight,
            async_parts,
            async_only,
            max_queued_bytes,
        } => {
            let threads = threads.unwrap_or_else(aslrt::Runtime::default_threads);
            let ok = match async_only {
                true => Ok(true),
                false => bench::run(&dirs, &bench::Options { threads, seconds, json, optimize: !no_optimize }),
            };
            let ok = match (ok, asynchronous || async_only) {
                (Ok(true), true) => bench::async_event(&dirs).and_then(|(name, event)| {
                    bench_async::run(
                        &event,
                        &name,
                        &bench_async::Options {
                            threads,
                            seconds,
                            in_flight,
                            json,
                            parts: async_parts,
                            max_queued_bytes: match max_queued_bytes {
                                None => {
                                    Some(threads.max(1).saturating_mul(aslrt::RuntimeBuilder::QUEUED_BYTES_PER_WORKER))
                                }
                                Some(0) => None,
                                Some(n) => Some(n),
                            },
                        },
                    )
                }),
                (ok, _) => ok,
            };
            ok.map(|ok| if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        Command::Info => {
            outln!("aslrt {}", env!("CARGO_PKG_VERSION"));
            outln!("allocator: mimalloc");
            outln!("simd-json: {}", aslrt::internal::value::simd_implementation());
            Ok(ExitCode::SUCCESS)
        }
        Command::Conformance { files, skip_tags, by_tag, known_failures, no_optimize } => {
            conformance(&files, &skip_tags, by_tag, known_failures.as_deref(), !no_optimize)
        }
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("aslrt: {message}");
            ExitCode::from(1)
        }
    }
}

fn read(path: &str) -> Result<String, String> {
    if path == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(|e| format!("reading standard input: {e}"))?;
        return Ok(s);
    }
    std::fs::read_to_string(path).map_err(|e| format!("reading {path}: {e}"))
}

/// A file, or standard input for `-`, keeping at most `keep` bytes (see `lines::read_all`).
fn read_bounded(path: &str, keep: usize) -> Result<lines::Bounded, String> {
    if path == "-" {
        return lines::read_all(&mut std::io::stdin().lock(), keep).map_err(|e| format!("reading standard input: {e}"));
    }
    let mut f = std::fs::File::open(path).map_err(|e| format!("reading {path}: {e}"))?;
    lines::read_all(&mut f, keep).map_err(|e| format!("reading {path}: {e}"))
}

fn validate(path: &str) -> Result<ExitCode, String> {
    let text = read(path)?;
    let print = |diags: &[aslrt::Diagnostic]| {
        for d in diags {
            let location = if d.location.is_empty() { "/" } else { &d.location };
            outln!("{path}: {} at {location}: {}", d.code, d.message);
            if let Some(note) = &d.note {
                outln!("  note: {note}");
            }
        }
        outln!("{} diagnostic(s)", diags.len());
    };
    // Compiled, not only parsed, so that what validates runs: compiling also checks the
    // definition against RuntimeLimits (its size, states and nesting) and the compiled form's
    // bounds.
    match StateMachine::compile(&text) {
        Ok(_) => {
            outln!("{path}: OK");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if !e.diagnostics().is_empty() => {
            print(e.diagnostics());
            Ok(ExitCode::from(1))
        }
        Err(e) => {
            outln!("{path}: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

/// Compiles a definition file with the CLI's handler options.
fn compile_cli(path: &str, args: &MachineArgs) -> Result<StateMachine, String> {
    let text = read(path)?;
    let (handler_args, handlers_file, virtual_clock) =
        (&args.handlers, args.handlers_file.as_deref(), args.virtual_clock);
    let mut handlers = Handlers::new();
    if let Some(file) = handlers_file {
        handlers::add_file(&mut handlers, file, &read(file)?)?;
    }
    for arg in handler_args {
        let (resource, spec) = arg.split_once('=').ok_or_else(|| format!("--handler {arg}: expected RESOURCE=SPEC"))?;
        handlers::add_short(&mut handlers, resource, spec)?;
    }
    let clock = if virtual_clock { Clock::Virtual { start_millis: None } } else { Clock::System };
    let mut builder = StateMachine::builder().optimize(!args.no_optimize).handlers(handlers).clock(clock);
    if !args.allow_resources.is_empty() {
        builder = builder.allow_resources(args.allow_resources.iter().cloned());
    }
    builder.compile(&text).map_err(|e| {
        let mut msg = format!("{path}: invalid definition");
        for d in e.diagnostics() {
            msg.push_str(&format!("\n  {d}"));
        }
        if e.diagnostics().is_empty() {
            msg.push_str(&format!(": {e}"));
        }
        msg
    })
}

fn run(path: &str, input: Option<&str>, args: &MachineArgs, disasm: bool) -> Result<ExitCode, String> {
    let machine = compile_cli(path, args)?;
    if disasm {
        outln!("{}", machine.disassemble().trim_end_matches('\n'));
        return Ok(ExitCode::SUCCESS);
    }
    // Read with the payload limit's bound: a larger input fails as an execution of it would,
    // without being held in memory.
    let limit = machine.config().limits.max_payload_bytes;
    let event = match input {
        Some(p) => read_bounded(p, limit.saturating_add(1))?,
        None => lines::Bounded { bytes: b"{}".to_vec(), len: 2 },
    };
    let mut scratch = aslrt::Scratch::new();
    let mut outcome = machine.execute(&mut scratch, &event.bytes).to_outcome();
    if event.len > limit as u64 {
        outcome.cause = Some(aslrt::oversized_input_cause(event.len, limit));
    }
    outln!("{}", outcome.to_json_line());
    Ok(ExitCode::SUCCESS)
}

#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
}

fn conformance(
    files: &[String],
    skip: &[String],
    by_tag: bool,
    known: Option<&str>,
    optimize: bool,
) -> Result<ExitCode, String> {
    if files.is_empty() {
        return Err("conformance: name at least one .jsonl file".into());
    }
    let known: BTreeSet<String> = match known {
        Some(path) => read(path)?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect(),
        None => BTreeSet::new(),
    };
    let mut total = Tally::default();
    let mut tags: BTreeMap<String, Tally> = BTreeMap::new();
    let mut failed_ids = BTreeSet::new();
    for file in files {
        let text = read(file)?;
        for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let case = Case::from_json_line(line).map_err(|e| format!("{file}:{}: {e}", n + 1))?;
            if case.tags.iter().any(|t| skip.contains(t)) {
                continue;
            }
            let verdict = std::panic::catch_unwind(|| run_case_with(&case, optimize));
            let (passed, got) = match verdict {
                Ok(v) => (v.passed, v.got),
                Err(_) => (false, serde_json::json!({"status": "PANIC"})),
            };
            if passed {
                total.passed += 1;
            } else {
                total.failed += 1;
                failed_ids.insert(case.id.clone());
                if !known.contains(&case.id) {
                    outln!("FAIL {}\n  expected: {}\n  got:      {}", case.id, case.expect, got);
                }
            }
            for t in &case.tags {
                let e = tags.entry(t.clone()).or_default();
                if passed {
                    e.passed += 1;
                } else {
                    e.failed += 1;
                }
            }
        }
    }
    if by_tag {
        for (t, c) in &tags {
            outln!("{t:<36} {:>5} passed {:>5} failed", c.passed, c.failed);
        }
    }
    let mut ok = total.failed == 0;
    if !known.is_empty() {
        let unexpected: Vec<&String> = failed_ids.difference(&known).collect();
        let fixed: Vec<&String> = known.difference(&failed_ids).collect();
        for id in &fixed {
            outln!("NOW PASSES (remove from the known-failures list): {id}");
        }
        outln!(
            "known failures: {} listed, {} unexpected failure(s), {} listed case(s) now passing",
            known.len(),
            unexpected.len(),
            fixed.len()
        );
        ok = unexpected.is_empty() && fixed.is_empty();
    }
    outln!("{} passed, {} failed", total.passed, total.failed);
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
