//! Amazon States Language in Rust: typed model, validator, builder, data-flow check, the processing workflow and the generator of asl/.
