//! The data-flow check catches wrong paths at generation time.

use asl::model::State;
use serde_json::{Value, json};
use statemachine::builder::{
    ActivityHandle, Catch, PassOptions, ResultPath, Retry, TaskOptions, Transition, WorkflowBuilder,
};
use statemachine::dataflow;
use statemachine::workflow::{Deployment, input_schema, processing_workflow, states};

use meeting_domain::contracts::{PrepareMedia, StartTranscription};

/// Replaces the string `from` by `to` inside the Parameters of `state`.
fn mutate_parameters(state: &mut State, from: &str, to: &str) {
    let State::Task(task) = state else {
        panic!("a task state")
    };
    let text = serde_json::to_string(task.parameters.as_ref().unwrap()).unwrap();
    assert!(text.contains(from), "{from} not in the parameters");
    task.parameters = Some(serde_json::from_str(&text.replace(from, to)).unwrap());
}

fn findings_after(mutate: impl FnOnce(&mut asl::StateMachine)) -> Vec<String> {
    let workflow = processing_workflow(&Deployment::default()).expect("workflow builds");
    let mut machine = workflow.machine.clone();
    mutate(&mut machine);
    dataflow::check(&machine, &input_schema(), &workflow.task_schemas)
        .into_iter()
        .map(|f| f.to_string())
        .collect()
}

#[test]
fn the_processing_workflow_has_no_data_flow_findings() {
    assert_eq!(findings_after(|_| {}), Vec::<String>::new());
}

#[test]
fn a_mistyped_path_in_an_activity_input_is_reported_with_its_pointer() {
    let findings = findings_after(|m| {
        mutate_parameters(
            m.states.get_mut(states::START_TRANSCRIPTION).unwrap(),
            "$.media.audioKey",
            "$.media.audioKye",
        );
    });
    assert!(
        findings.iter().any(
            |f| f.contains("/States/StartTranscription/Parameters/audioKey.$")
                && f.contains("$.media.audioKye does not exist")
        ),
        "{findings:#?}"
    );
}

#[test]
fn reading_a_result_before_the_state_that_writes_it_is_reported() {
    let findings = findings_after(|m| {
        mutate_parameters(
            m.states.get_mut(states::PREPARE_MEDIA).unwrap(),
            "$.chunkCount",
            "$.summary.summaryKey",
        );
    });
    assert!(
        findings
            .iter()
            .any(|f| f.contains("$.summary does not exist")),
        "{findings:#?}"
    );
}

#[test]
fn an_input_field_the_activity_does_not_accept_is_reported() {
    let findings = findings_after(|m| {
        let State::Task(task) = m.states.get_mut(states::PREPARE_MEDIA).unwrap() else {
            panic!()
        };
        task.parameters.as_mut().unwrap()["language"] = json!("en");
    });
    assert!(
        findings
            .iter()
            .any(|f| f.contains("input.language is not accepted")),
        "{findings:#?}"
    );
}

#[test]
fn a_missing_required_activity_input_is_reported() {
    let findings = findings_after(|m| {
        let State::Task(task) = m.states.get_mut(states::PREPARE_MEDIA).unwrap() else {
            panic!()
        };
        task.parameters
            .as_mut()
            .unwrap()
            .as_object_mut()
            .unwrap()
            .remove("bucket.$");
    });
    assert!(
        findings
            .iter()
            .any(|f| f.contains("input.bucket is required by the activity but is not provided")),
        "{findings:#?}"
    );
}

#[test]
fn a_wrongly_typed_activity_input_is_reported() {
    let findings = findings_after(|m| {
        mutate_parameters(
            m.states.get_mut(states::PREPARE_MEDIA).unwrap(),
            "\"chunkCount.$\":\"$.chunkCount\"",
            "\"chunkCount.$\":\"$.bucket\"",
        );
    });
    assert!(
        findings
            .iter()
            .any(|f| f.contains("input.chunkCount may be a string")),
        "{findings:#?}"
    );
}

#[test]
fn an_optional_field_read_without_a_guard_is_reported() {
    // Without the Choice that proves transcriptKey is present, Summarize reads an optional field.
    let findings = findings_after(|m| {
        let State::Choice(choice) = m.states.get_mut(states::TRANSCRIPTION_STATUS).unwrap() else {
            panic!()
        };
        let guarded = choice.choices[0].clone();
        choice.choices[0] = guarded.and.unwrap()[0].clone().with_next(states::SUMMARIZE);
    });
    assert!(
        findings.iter().any(
            |f| f.contains("/States/Summarize/Parameters/transcriptKey.$")
                && f.contains("optional")
        ),
        "{findings:#?}"
    );
}

#[test]
fn a_result_path_that_replaces_the_input_loses_fields_read_later() {
    let findings = findings_after(|m| {
        let State::Task(task) = m.states.get_mut(states::PREPARE_MEDIA).unwrap() else {
            panic!()
        };
        task.result_path = None; // the media output replaces the whole input
    });
    assert!(
        findings
            .iter()
            .any(|f| f.contains("/States/StartTranscription/Parameters/userId.$")),
        "{findings:#?}"
    );
}

#[test]
fn the_builder_refuses_a_workflow_with_a_wrong_path() {
    let prefix = Deployment::default().activity_arn_prefix();
    let mut wf = WorkflowBuilder::new("t");
    wf.activity(
        "Prepare",
        &ActivityHandle::<PrepareMedia>::new(&prefix),
        TaskOptions {
            parameters: Some(json!({
                "userId.$": "$.userId", "recordingId.$": "$.recordingId",
                "bucket.$": "$.bucket", "chunkCount.$": "$.chunks"
            })),
            result_path: ResultPath::at("$.media"),
            ..TaskOptions::default()
        },
        Transition::End,
    );
    let err = wf
        .build("Prepare", &input_schema())
        .unwrap_err()
        .to_string();
    assert!(err.contains("$.chunks does not exist"), "{err}");
}

#[test]
fn retry_naming_an_error_the_activity_cannot_raise_is_rejected() {
    let prefix = Deployment::default().activity_arn_prefix();
    let mut wf = WorkflowBuilder::new("t");
    wf.activity(
        "Start",
        &ActivityHandle::<StartTranscription>::new(&prefix),
        TaskOptions {
            parameters: Some(json!({})),
            retry: vec![Retry::on(["Media.ChunkInvalid"])],
            catch: vec![Catch::on(
                ["Summary.InvalidModelOutput"],
                "Done",
                ResultPath::Discard,
            )],
            ..TaskOptions::default()
        },
        Transition::next("Done"),
    );
    wf.pass("Done", PassOptions::default(), Transition::End);
    let err = wf.build("Start", &json!({})).unwrap_err().to_string();
    assert!(err.contains("/States/Start/Retry/0/ErrorEquals/0"), "{err}");
    assert!(err.contains("cannot raise \"Media.ChunkInvalid\""), "{err}");
    assert!(err.contains("/States/Start/Catch/0/ErrorEquals/0"), "{err}");
}

#[test]
fn heartbeat_timeout_is_only_raisable_by_tasks_with_heartbeats() {
    let mut wf = WorkflowBuilder::new("t");
    wf.dynamodb_update_item(
        "Write",
        TaskOptions {
            parameters: Some(json!({"TableName": "t"})),
            retry: vec![Retry::on(["States.HeartbeatTimeout"])],
            ..TaskOptions::default()
        },
        Transition::End,
    );
    let err = wf
        .build("Write", &Value::Bool(true))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cannot raise \"States.HeartbeatTimeout\""),
        "{err}"
    );
}
