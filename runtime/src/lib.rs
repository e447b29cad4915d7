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
//! use aslrt::{StateMachine, Scratch, Status, TaskError, handler::JsonFn};
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
//! ## Contents
//!
//! - [`asl`]: JSON → validated [`asl::Definition`], with every diagnostic AWS would give.
//! - [`path`]: JSONPath in AWS's dialect, reference paths and payload templates.
//! - [`intrinsics`]: the 18 `States.*` functions.
//! - [`compile`] and [`bytecode`]: the compiled, immutable program.
//! - `vm`: the interpreter; [`RuntimeLimits`], [`Clock`].
//! - [`handler`]: Task handlers and their registry.
//! - [`value`]: the zero-copy JSON value and the arena.
//! - [`exec`]: the [`Runtime`], a work-stealing pool for batches and streams, with metrics.
//! - [`conformance`]: the runner for the AWS-recorded corpus.

#![forbid(unsafe_code)]

pub mod asl;
pub mod bytecode;
pub mod compile;
pub mod conformance;
mod error;
pub mod exec;
pub mod handler;
pub mod intrinsics;
pub mod jsonata;
/// Items the JSONata engine needs from the VM, re-exported for tests and tools.
pub mod jsonata_support {
    pub use crate::vm::Rng;
}
mod machine;
pub mod path;
pub mod value;
mod vm;

pub use error::{Error, ErrorKind};
pub use exec::Runtime;
pub use handler::{AsyncFn, AsyncTaskHandler, Handlers, TaskContext, TaskError, TaskHandler, TaskInfo};
pub use machine::{Builder, Cancel, Config, Execution, Outcome, Scratch, StateMachine, INVALID_INPUT_CAUSE};
pub use vm::{timestamp, Clock, Identity, RuntimeLimits, Status};
