//! Standard output for the commands' reports. A closed stdout (the reader went away, as with
//! `aslrt conformance … | head`) ends the command quietly with status 141, as SIGPIPE ends a
//! Unix filter (not 0: what was cut off may have been a failure); any other write error ends it
//! with a message and status 1. `println!` would panic instead.

use std::io::Write;

/// Writes `args` and a newline to stdout.
pub fn line(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    let written = out.write_fmt(args).and_then(|()| out.write_all(b"\n")).and_then(|()| out.flush());
    if let Err(e) = written {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
        eprintln!("aslrt: writing to stdout: {e}");
        std::process::exit(1);
    }
}

/// `println!` through [`line()`].
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::out::line(format_args!($($arg)*))
    };
}
pub(crate) use outln;
