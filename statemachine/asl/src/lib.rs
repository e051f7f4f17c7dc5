//! The Amazon States Language as typed Rust: the document model (lossless parse and emit), paths, intrinsic functions and the validator.
