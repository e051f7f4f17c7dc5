//! Chunk ingest and session completion over ports, and the thin Lambda binaries.
