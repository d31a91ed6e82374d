#![no_main]
//! Server bytes read as a query's rows, split into reads at arbitrary places: same result whatever the split,
//! read buffer within the caps.
libfuzzer_sys::fuzz_target!(|input: (&[u8], Vec<usize>)| fraiseql_wire::fuzzing::session(input.0, &input.1));
