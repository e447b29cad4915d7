//! The oracle of the differential tests: a definition must give the same outcome, byte for byte
//! (status, output, error, cause, transitions), optimised and unoptimised, suspended at every
//! Task (going on from where it stopped, or replaying from its start: the two agree, and agree
//! with one run where no branches run at once), and under every metamorphic variant in both
//! modes. Any difference is a bug.

use super::variants::Variant;
use aslrt::{Clock, Config, Handlers, Outcome, Runtime, RuntimeLimits, Scratch, StateMachine};
use serde_json::Value;

/// What every run of the oracle uses: a virtual clock from a fixed start (waits and back-off
/// take no time, and time-outs still come), a fixed seed, and few transitions, so that a
/// generated loop ends soon, and a little memory, so that one whose data grows ends soon too.
pub fn config() -> Config {
    Config::default()
        .clock(Clock::Virtual { start_millis: Some(1_700_000_000_000) })
        .seed(Some(7))
        .limits(RuntimeLimits::default().max_transitions(300).max_arena_bytes(8 << 20))
}

/// One run of `definition` on `input` (JSON text, passed as it is): the outcome, or the text of
/// the error that rejected the definition.
pub fn run(
    definition: &Value,
    input: &[u8],
    handlers: &dyn Fn() -> Handlers,
    optimize: bool,
) -> Result<Outcome, String> {
    Ok(compile(definition, handlers(), optimize)?.execute(&mut Scratch::new(), input).to_outcome())
}

/// `definition` compiled with `handlers` and [`config`]: the machine, or the error's text.
fn compile(definition: &Value, handlers: Handlers, optimize: bool) -> Result<StateMachine, String> {
    StateMachine::builder()
        .optimize(optimize)
        .handlers(handlers)
        .config(config())
        .compile(&definition.to_string())
        .map_err(|e| e.to_string())
}

/// [`run`], optimised, on a `Runtime` with every handler of the generator answering later
/// ([`super::gen::handlers_answering_later`]), so that the execution suspends at every Task
/// and goes on from where it stopped, or, `from_start`, replays from its start each time.
pub fn run_suspending(definition: &Value, input: &[u8], from_start: bool) -> Result<Outcome, String> {
    static RUNTIMES: [std::sync::OnceLock<Runtime>; 2] = [const { std::sync::OnceLock::new() }; 2];
    let runtime = RUNTIMES[from_start as usize]
        .get_or_init(|| Runtime::builder().threads(2).replay_from_start(from_start).build().expect("a runtime starts"));
    let machine = compile(definition, super::gen::handlers_answering_later(), true)?;
    // Bounded, so that an execution that never ends (a lost wake-up) is reported with its
    // definition rather than hanging the run.
    let pending = runtime.execute_async(&machine, input.to_vec());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || drop(tx.send(pending.wait())));
    rx.recv_timeout(std::time::Duration::from_secs(60)).map_err(|e| match e {
        std::sync::mpsc::RecvTimeoutError::Timeout => "the suspended execution did not end within 60 s".to_owned(),
        std::sync::mpsc::RecvTimeoutError::Disconnected => "waiting for the suspended execution panicked".to_owned(),
    })
}

/// Whether `outcome` ran out of arena memory (`RuntimeLimits::max_arena_bytes`). That limit is
/// a safety net, not part of the semantics: the unoptimised program allocates more, and the
/// states at which the two reach it may differ. Such an outcome decides nothing.
fn out_of_memory(outcome: &Result<Outcome, String>) -> bool {
    outcome.as_ref().is_ok_and(|o| o.cause.as_deref().is_some_and(|c| c.contains("RuntimeLimits::max_arena_bytes")))
}

/// The first disagreement between the ways of running `definition`, described; `None` when
/// they all agree (a definition rejected both ways, with the same error, agrees).
pub fn disagreement(definition: &Value, input: &[u8], handlers: &dyn Fn() -> Handlers) -> Option<String> {
    let base = run(definition, input, handlers, true);
    let reference = run(definition, input, handlers, false);
    if out_of_memory(&base) || out_of_memory(&reference) {
        return None;
    }
    if base != reference {
        return Some(format!("optimised: {base:?}\nunoptimised: {reference:?}"));
    }
    if base.is_err() {
        return None;
    }
    // Suspended at every Task, an execution goes on from where it stopped as it would replay
    // from its start, and when a handler answers does not matter, so the outcome is the one
    // run's. Unless a TimeoutSecondsPath may read 0, which races a handler's answer against
    // its time-out; and, for the one run's outcome, unless branches run at once (under
    // Parallel or Map, a branch that fails while another waits fails the state first, as on
    // AWS).
    let resumed = run_suspending(definition, input, false);
    let replayed = run_suspending(definition, input, true);
    let text = definition.to_string();
    let races = text.contains("\"TimeoutSecondsPath\"");
    let timing = races || ["\"Parallel\"", "\"Map\""].iter().any(|t| text.contains(t));
    // The one run compiled and ran, so an error here is an execution that did not end.
    if let Err(e) = resumed.as_ref().and(replayed.as_ref()) {
        return Some(format!("suspended at every Task: {e}"));
    }
    if !out_of_memory(&resumed) && !out_of_memory(&replayed) {
        if !races && resumed != replayed {
            return Some(format!(
                "suspended at every Task, going on from where it stopped: {resumed:?}\nreplaying from the start: {replayed:?}"
            ));
        }
        if !timing && resumed != base {
            return Some(format!("suspended at every Task: {resumed:?}\nin one run: {base:?}"));
        }
    }
    let seed = super::seed_of(&text);
    for variant in Variant::each(seed) {
        let transformed = variant.apply(definition);
        for optimize in [true, false] {
            let got = run(&transformed, input, handlers, optimize);
            if !out_of_memory(&got) && super::catcher_places(&got) != super::catcher_places(&base) {
                let mode = if optimize { "optimised" } else { "unoptimised" };
                return Some(format!(
                    "the {} variant ({mode}) gives {got:?}\nthe definition as written gives {base:?}\nvariant: {transformed}",
                    variant.name()
                ));
            }
        }
    }
    None
}
