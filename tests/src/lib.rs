//! Cross-crate integration tests: emulators and end to end.
