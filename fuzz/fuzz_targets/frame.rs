#![no_main]
//! Message framing and the DataRow fast path on arbitrary bytes.
libfuzzer_sys::fuzz_target!(|bytes: &[u8]| fraiseql_wire::fuzzing::frame(bytes));
