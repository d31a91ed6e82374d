#![no_main]
//! A server's authentication message, from arbitrary bytes, to a fresh authenticator and to one mid-SCRAM.
libfuzzer_sys::fuzz_target!(|bytes: &[u8]| fraiseql_wire::fuzzing::auth(bytes));
