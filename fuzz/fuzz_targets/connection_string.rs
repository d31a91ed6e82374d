#![no_main]
//! libpq connection strings (URI and key=value).
libfuzzer_sys::fuzz_target!(|text: &str| fraiseql_wire::fuzzing::connection_string(text));
