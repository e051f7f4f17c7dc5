//! Generated media for tests (being written).
