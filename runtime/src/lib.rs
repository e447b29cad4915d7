//! # aslrt: AWS Step Functions Express workflows, in process
//!
//! `aslrt` runs state machines written in the Amazon States Language (ASL) the way AWS Step
//! Functions runs Express workflows: same outputs, same error names, same cause texts. A
//! definition is validated and compiled once into a [`StateMachine`]; each execution then runs
//! on a reusable [`Scratch`] with no parsing of paths, no lookups by name and no copies of the
//! document per state.
//!
//! ## Define, compile, run
//!
//! ```
//! use aslrt::{JsonFn, Scratch, StateMachine, Status, TaskError};
//!
//! let definition = r#"{
//!   "StartAt": "Enrich",
//!   "States": {
//!     "Enrich": {
//!       "Type": "Task",
//!       "Resource": "arn:aws:states:::local:price",
//!       "Parameters": {"sku.$": "$.sku", "qty.$": "$.qty"},
//!       "ResultPath": "$.price",
//!       "Next": "Route"
//!     },
//!     "Route": {
//!       "Type": "Choice",
//!       "Choices": [{"Variable": "$.price", "NumericGreaterThan": 100, "Next": "Big"}],
//!       "Default": "Small"
//!     },
//!     "Big": {"Type": "Pass", "Result": "big", "ResultPath": "$.size", "End": true},
//!     "Small": {"Type": "Fail", "Error": "TooSmall", "Cause": "order below 100"}
//!   }
//! }"#;
//!
//! let machine = StateMachine::builder()
//!     .handler("arn:aws:states:::local:price", JsonFn(|input: serde_json::Value| {
//!         let qty = input["qty"].as_i64().ok_or(TaskError::new("BadInput", "qty"))?;
//!         Ok(serde_json::json!(qty * 40))
//!     }))
//!     .compile(definition)?;
//!
//! let mut scratch = Scratch::new();
//! let run = machine.execute(&mut scratch, br#"{"sku":"A-1","qty":3}"#);
//! assert_eq!(run.status, Status::Succeeded);
//! assert_eq!(run.output, Some(r#"{"sku":"A-1","qty":3,"price":120,"size":"big"}"#));
//!
//! let run = machine.execute(&mut scratch, br#"{"sku":"A-1","qty":1}"#);
//! assert_eq!((run.status, run.error, run.cause), (Status::Failed, Some("TooSmall"), Some("order below 100")));
//! # Ok::<(), aslrt::Error>(())
//! ```
//!
//! ## The API
//!
//! - [`StateMachine`]: a compiled definition, immutable and shared; built by
//!   [`StateMachine::compile`] or [`StateMachine::builder`] ([`Builder`]: handlers, [`Config`]
//!   with its [`RuntimeLimits`] and [`Clock`], and whether to optimise).
//! - [`Scratch`]: the buffers one thread reuses from one execution to the next; an
//!   [`Execution`] borrows it, an [`Outcome`] owns its copy. [`Status`] says how it ended.
//! - [`Runtime`]: a work-stealing pool for batches, streams and asynchronous executions
//!   ([`Pending`]), with [`Metrics`].
//! - Task handlers: [`TaskHandler`] (synchronous, on the crate's [`Value`], whose JSON type is a
//!   [`ValueKind`]), [`TextFn`] (a closure on JSON text), [`JsonFn`] (a closure on `serde_json`
//!   values: convenient, and the slow path), [`AsyncTaskHandler`], [`AsyncTextFn`] and
//!   [`AsyncFn`] (futures, on JSON text or `serde_json` values), collected in [`Handlers`].
//! - [`Error`]: why a definition could not be compiled ([`ErrorKind`], [`Diagnostic`]).
//!
//! Everything else is internal. The project's own CLI, tests, benchmarks and fuzz targets reach
//! it through the hidden `internal` module, which makes no promise of stability.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod asl;
mod bytecode;
mod common;
mod compile;
mod config;
mod conformance;
mod error;
mod exec;
mod handler;
mod intrinsics;
mod jsonata;
mod machine;
mod path;
mod value;
mod vm;

pub use asl::Diagnostic;
pub use common::Status;
pub use config::{Clock, Config, Identity, RuntimeLimits};
pub use error::{Error, ErrorKind};
pub use exec::{Metrics, MetricsSnapshot, Pending, Runtime, RuntimeBuilder, TIME_BUCKETS_US};
pub use handler::{
    AsyncFn, AsyncTaskHandler, AsyncTextFn, Handlers, JsonFn, TaskAnswer, TaskContext, TaskError, TaskFuture,
    TaskHandler, TaskInfo, TextFn, TextFuture,
};
pub use machine::{oversized_input_cause, Builder, Cancel, Execution, Outcome, StateMachine, INVALID_INPUT_CAUSE};
pub use value::{ArenaExt, InvalidJson, Kind as ValueKind, Value};
pub use vm::Scratch;

/// The crate's internals, for its own CLI, tests, benchmarks and fuzz targets: no part of the
/// API, no promise of stability.
#[doc(hidden)]
pub mod internal {
    #![allow(missing_docs)]
    pub mod asl {
        pub use crate::asl::*;
    }
    pub mod bytecode {
        pub use crate::bytecode::*;
    }
    pub mod compile {
        pub use crate::compile::*;
    }
    pub mod conformance {
        pub use crate::conformance::*;
    }
    pub mod handler {
        pub use crate::handler::*;
    }
    pub mod intrinsics {
        pub use crate::intrinsics::*;
    }
    pub mod jsonata {
        pub use crate::jsonata::*;
    }
    pub mod path {
        pub use crate::path::*;
    }
    pub mod value {
        pub use crate::value::*;
    }
    pub mod common {
        pub use crate::common::*;
    }
}

// The README's examples compile and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeExamples;
