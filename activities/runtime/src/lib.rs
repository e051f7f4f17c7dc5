//! The activity worker runtime and the activities it runs.
//!
//! An [`activity::Activity`] is the code behind one Step Functions activity; its types and error
//! names come from its [`meeting_domain::activity::ActivityContract`], which the workflow generator
//! uses too.

pub mod activity;
