#![no_main]
//! `where_sql` fragments and relation names.
libfuzzer_sys::fuzz_target!(|input: (&str, usize)| fraiseql_wire::fuzzing::sql(input.0, input.1));
