//! Test support shared by every crate's tests: in-memory fakes of the ports ([`memory`]), the
//! contract suites that every implementation of a port must pass ([`contract`]), an IAM-faithful
//! object store fed with the Terraform's role statements ([`iam`]), generated media ([`media`])
//! and a launcher for the moto emulator ([`moto`]).

pub mod chaos;
pub mod contract;
pub mod iam;
pub mod media;
pub mod memory;
pub mod moto;
