//! A local Step Functions engine: interprets ASL (JSONPath mode) with a virtual clock and serves the Step Functions API (AWS JSON 1.0) with activities.
