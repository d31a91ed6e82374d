//! trybuild compile-fail tests for fraiseql-wire; see `tests/ui.rs`.
