//! Test support: in-memory fakes of every port, the contract test suites every adapter runs, and launchers for emulators (moto).
