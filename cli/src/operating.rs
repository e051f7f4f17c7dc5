//! The operator commands on either backend: `status`, `list`, `reprocess` (`--from`,
//! `--redrive`) and `dlq inspect|replay`. The work is done by [`crate::operate`] and
//! [`crate::dlq`]; this module picks the backend, builds it once and prints.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use meeting_domain::contracts::CatalogRecord;
use meeting_domain::ports::{Catalog, ChunkTable, ObjectStore};
use meeting_domain::{RecordingId, RecordingRef, RecordingStatus, UserId};
use recorder_local::object_store::DirObjectStore;
use recorder_local::runtime::{BUCKET, LocalBackend, open_catalog};

use crate::args::{
    BackendArgs, BackendKind, DlqCommand, ListArgs, ReprocessArgs, SpeakersArgs, StatusArgs,
};
use crate::aws::{AwsBackend, QueueChoice};
use crate::commands::{Global, Session, finish, pipeline_config, print_json};
use crate::error::CliError;
use crate::interrupt::Signals;
use crate::lock::command_line;
use crate::operate::{
    DetachedExecutions, Liveness, LocalExecutions, Operator, StatusView, redrive_unsupported,
};
use crate::progress::Progress;
use crate::report::render_line;

/// Turns an object key into where an operator finds it (a path, an `s3://` URL).
type KeyLocation = Box<dyn Fn(&str) -> String>;

/// How often `reprocess --wait` reads the catalog on AWS.
const AWS_POLL: Duration = Duration::from_secs(10);

fn recording_ref(user: &str, id: &str) -> Result<RecordingRef, CliError> {
    let user = UserId::new(user).map_err(|e| CliError::Usage(format!("--user: {e}")))?;
    let id = RecordingId::new(id).map_err(|e| CliError::Usage(e.to_string()))?;
    Ok(RecordingRef::new(user, id))
}

/// The operator over the data directory without starting the backend (status, list).
fn local_reader(global: &Global) -> Result<Operator, CliError> {
    let (catalog, chunks) = open_catalog(&global.data_dir)?;
    Ok(Operator {
        catalog: Arc::new(catalog) as Arc<dyn Catalog>,
        chunks: Arc::new(chunks) as Arc<dyn ChunkTable>,
        objects: Arc::new(DirObjectStore::new(&global.data_dir)) as Arc<dyn ObjectStore>,
        bucket: BUCKET.to_owned(),
        executions: Arc::new(DetachedExecutions),
    })
}

/// The operator over a running local backend.
pub fn local_operator(backend: &LocalBackend) -> Operator {
    let ports = backend.ports();
    Operator {
        catalog: Arc::clone(&ports.catalog),
        chunks: Arc::clone(&ports.chunks),
        objects: Arc::clone(&ports.objects),
        bucket: BUCKET.to_owned(),
        executions: Arc::new(LocalExecutions::new(
            backend.engine().clone(),
            backend.state_machine_arn(),
        )),
    }
}

/// The operator over a deployment. `with_bucket` when the command reads objects.
async fn aws_operator(aws: &AwsBackend, with_bucket: bool) -> Result<Operator, CliError> {
    let bucket = if with_bucket {
        aws.bucket()?.to_owned()
    } else {
        aws.names().bucket.clone().unwrap_or_default()
    };
    Ok(Operator {
        catalog: aws.catalog(),
        chunks: aws.chunks(),
        objects: aws.objects(),
        bucket,
        executions: Arc::new(aws.executions().await?),
    })
}

/// `0-3, 5, 7-9`.
pub fn ranges(indices: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < indices.len() {
        let start = indices[i];
        let mut end = start;
        while i + 1 < indices.len() && indices[i + 1] == end + 1 {
            i += 1;
            end = indices[i];
        }
        if !out.is_empty() {
            out.push_str(", ");
        }
        if start == end {
            let _ = write!(out, "{start}");
        } else {
            let _ = write!(out, "{start}-{end}");
        }
        i += 1;
    }
    if out.is_empty() {
        out.push_str("none");
    }
    out
}

/// The text of `status RECORDING`; `location` turns an object key into where it can be found.
pub fn render_status(view: &StatusView, location: &dyn Fn(&str) -> String) -> String {
    let mut out = String::new();
    let r = &view.record;
    let c = &view.chunks;
    let _ = writeln!(out, "recording   {} (user {})", r.recording_id, r.user_id);
    let _ = writeln!(out, "status      {}", r.status);
    let _ = writeln!(
        out,
        "chunks      {} recorded, expected {}",
        c.recorded.len(),
        c.expected
            .map_or_else(|| "unknown (no manifest yet)".to_owned(), |n| n.to_string())
    );
    let _ = writeln!(out, "recorded    {}", ranges(&c.recorded));
    if !c.missing.is_empty() {
        let _ = writeln!(out, "missing     {}", ranges(&c.missing));
    }
    for failed in &c.failed {
        let _ = writeln!(
            out,
            "rejected    chunk {}: {}",
            failed.index,
            failed.reason.as_deref().unwrap_or("no reason recorded")
        );
    }
    if !c.extra.is_empty() {
        let _ = writeln!(out, "beyond end  {}", ranges(&c.extra));
    }
    let _ = writeln!(out, "run         {}", r.run);
    if let Some(error) = &r.error {
        let _ = writeln!(out, "error       {error}");
    }
    if let Some(cause) = &r.cause {
        let _ = writeln!(out, "cause       {cause}");
    }
    match (&view.execution, &r.execution_name) {
        (Some(e), _) => {
            let _ = writeln!(out, "execution   {} {}", e.arn, e.status);
            if let Some(start) = e.start_date {
                let stop = e
                    .stop_date
                    .map(|s| format!(", stopped {s}"))
                    .unwrap_or_default();
                let _ = writeln!(out, "            started {start}{stop}");
            }
            if let Some(count) = e.redrive_count.filter(|n| *n > 0) {
                let _ = writeln!(out, "            redriven {count}x");
            }
        }
        (None, Some(name)) => {
            let _ = writeln!(out, "execution   {name}");
        }
        (None, None) => {}
    }
    if let Some(note) = &view.execution_note {
        let _ = writeln!(out, "            ({note})");
    }
    if let Some(progress) = &view.transcription {
        let _ = writeln!(
            out,
            "transcribing {} (as of {})",
            crate::operate::describe_progress(progress),
            progress.updated_at
        );
    }
    if let Some(f) = &view.failure {
        let _ = writeln!(
            out,
            "failed in   {} ({}{})",
            f.state.as_deref().unwrap_or("an unknown state"),
            f.event,
            if f.recorded_by_workflow {
                ", recorded by the workflow"
            } else {
                ", not recorded in the catalog by the workflow"
            }
        );
        if r.error.is_none() {
            if let Some(error) = &f.error {
                let _ = writeln!(out, "            error {error}");
            }
            if let Some(cause) = &f.cause {
                let _ = writeln!(out, "            cause {cause}");
            }
        }
    }
    if let Some(results) = &r.results {
        let _ = writeln!(out, "transcript  {}", location(&results.transcript_key));
        let _ = writeln!(out, "summary     {}", location(&results.summary_key));
        let _ = writeln!(out, "media       {}", location(&results.recording_key));
    }
    let _ = writeln!(out, "updated     {}", r.updated_at);
    for step in &view.next_steps {
        let _ = writeln!(out, "next        {step}");
    }
    out
}

fn print_records(global: &Global, records: &[CatalogRecord], empty: &str) {
    if global.json {
        print_json(&records);
    } else if records.is_empty() {
        println!("{empty}");
    } else {
        for record in records {
            println!("{}", render_line(record));
        }
    }
}

/// `recorder speakers`.
pub async fn speakers(
    global: &Global,
    backend: &BackendArgs,
    args: SpeakersArgs,
) -> Result<ExitCode, CliError> {
    let recording = recording_ref(&args.user, &args.recording)?;
    let operator = match backend.backend {
        BackendKind::Local => local_reader(global)?,
        // It reads and writes objects: the bucket must be known.
        BackendKind::Aws => aws_operator(&AwsBackend::connect(backend).await?, true).await?,
    };
    let view = crate::speakers::speakers(&operator, &recording, &args.renames).await?;
    if global.json {
        print_json(&view);
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = String::new();
    for (old, new) in &view.renamed {
        let _ = writeln!(out, "renamed {old:?} to {new:?}");
    }
    if !view.written.is_empty() {
        let _ = writeln!(out, "wrote {} files again", view.written.len());
    }
    let _ = writeln!(out, "Speakers of {}:", recording.recording_id);
    for s in &view.speakers {
        let minutes = s.speaking_seconds / 60.0;
        let suggestion = s
            .suggested
            .as_deref()
            .map(|name| format!(" — the meeting suggests {name:?}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {} ({}): {minutes:.1} min of speech{suggestion}",
            s.label, s.id
        );
    }
    if !view.mentioned.is_empty() {
        let _ = writeln!(
            out,
            "Names used in the meeting: {}",
            view.mentioned.join(", ")
        );
    }
    if view.renamed.is_empty() && args.renames.is_empty() {
        let example = view
            .speakers
            .iter()
            .find_map(|s| Some(format!("{}={}", s.label, s.suggested.as_deref()?)))
            .or_else(|| view.speakers.first().map(|s| format!("{}=NAME", s.label)))
            .unwrap_or_else(|| "Speaker 1=NAME".to_owned());
        let _ = writeln!(
            out,
            "Name them with: recorder speakers {} {example:?} …",
            recording.recording_id
        );
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// `recorder status`.
pub async fn status(
    global: &Global,
    backend: &BackendArgs,
    args: StatusArgs,
) -> Result<ExitCode, CliError> {
    let (operator, location): (Operator, KeyLocation) = match backend.backend {
        BackendKind::Local => {
            let data_dir = global.data_dir.clone();
            (
                local_reader(global)?,
                Box::new(move |key: &str| {
                    crate::report::object_path(&data_dir, key)
                        .display()
                        .to_string()
                }),
            )
        }
        BackendKind::Aws => {
            let aws = AwsBackend::connect(backend).await?;
            let bucket = aws
                .names()
                .bucket
                .clone()
                .unwrap_or_else(|| "BUCKET".into());
            (
                aws_operator(&aws, false).await?,
                Box::new(move |key: &str| format!("s3://{bucket}/{key}")),
            )
        }
    };
    let Some(id) = args.recording else {
        if backend.backend == BackendKind::Aws {
            return Err(CliError::Usage(
                "on AWS, name a recording (`recorder status REC`) or list a user's recordings \
                 (`recorder list --user ID`)"
                    .into(),
            ));
        }
        drop(operator);
        let (catalog, _) = open_catalog(&global.data_dir)?;
        let mut all = Vec::new();
        for status in RecordingStatus::ALL {
            all.extend(catalog.with_status(status).await?);
        }
        all.sort_by(|a, b| b.updated_at.cmp(&a.updated_at));
        print_records(
            global,
            &all,
            &format!(
                "no recordings in {} (try `recorder process FILE`)",
                global.data_dir.display()
            ),
        );
        return Ok(ExitCode::SUCCESS);
    };
    let view = operator.status(&recording_ref(&args.user, &id)?).await?;
    if global.json {
        print_json(&view);
    } else {
        print!("{}", render_status(&view, &*location));
    }
    Ok(ExitCode::SUCCESS)
}

/// `recorder list`.
pub async fn list(
    global: &Global,
    backend: &BackendArgs,
    args: ListArgs,
) -> Result<ExitCode, CliError> {
    let user = UserId::new(&args.user).map_err(|e| CliError::Usage(format!("--user: {e}")))?;
    let status = match &args.status {
        None => None,
        Some(s) => Some(RecordingStatus::parse(s).ok_or_else(|| {
            CliError::Usage(format!(
                "--status {s}: expected one of {}",
                RecordingStatus::ALL.map(RecordingStatus::as_str).join(", ")
            ))
        })?),
    };
    let operator = match backend.backend {
        BackendKind::Local => local_reader(global)?,
        BackendKind::Aws => {
            let aws = AwsBackend::connect(backend).await?;
            // Listing needs neither the bucket nor the state machine.
            Operator {
                catalog: aws.catalog(),
                chunks: aws.chunks(),
                objects: aws.objects(),
                bucket: String::new(),
                executions: Arc::new(DetachedExecutions),
            }
        }
    };
    let records = operator.list(&user, status, args.limit).await?;
    print_records(
        global,
        &records,
        &format!("no recordings of user {user} with that status"),
    );
    Ok(ExitCode::SUCCESS)
}

/// `recorder reprocess`.
pub async fn reprocess(
    global: &Global,
    backend: &BackendArgs,
    args: ReprocessArgs,
) -> Result<ExitCode, CliError> {
    let recording = recording_ref(&args.user, &args.recording)?;
    match backend.backend {
        BackendKind::Local => {
            if args.redrive {
                return Err(redrive_unsupported());
            }
            let signals = Signals::install();
            // Holding the lock, this process is the only one that can run the recording: a
            // `processing` one was interrupted and is taken over (Liveness::NoneAlive).
            let session = Session::start(global, signals, command_line())?;
            let local = LocalBackend::start(pipeline_config(global, &args.pipeline)).await?;
            let started = local_operator(&local)
                .reprocess_run(&recording, args.from, Liveness::NoneAlive)
                .await;
            let run = match started {
                Ok((run, _)) => run,
                Err(e) => {
                    local.shutdown().await;
                    return Err(e);
                }
            };
            let mut progress = Progress::new(!global.json);
            finish(
                global,
                &local,
                &recording,
                run,
                &mut progress,
                session,
                None,
            )
            .await
        }
        BackendKind::Aws => {
            let aws = AwsBackend::connect(backend).await?;
            let operator = aws_operator(&aws, !args.redrive).await?;
            let (run, arn) = if args.redrive {
                let record = operator.catalog.get(&recording).await?;
                let run = record.map_or(0, |r| r.run);
                (run, operator.redrive(&recording).await?)
            } else {
                operator.reprocess(&recording, args.from).await?
            };
            let what = if args.redrive { "redriven" } else { "started" };
            if global.json && !args.wait {
                print_json(&serde_json::json!({
                    "userId": recording.user_id.as_str(),
                    "recordingId": recording.recording_id.as_str(),
                    "run": run,
                    "executionArn": arn,
                    "action": what,
                }));
            } else {
                eprintln!("run {run} of {recording} {what}: {arn}");
                eprintln!("follow it with: recorder --backend aws status {recording}");
            }
            if !args.wait {
                return Ok(ExitCode::SUCCESS);
            }
            wait_on_aws(global, &operator, &recording, run).await
        }
    }
}

/// Polls the catalog until run `run` of `recording` is completed or failed.
async fn wait_on_aws(
    global: &Global,
    operator: &Operator,
    recording: &RecordingRef,
    run: u32,
) -> Result<ExitCode, CliError> {
    let mut progress = Progress::new(!global.json);
    loop {
        let view = operator.status(recording).await?;
        let status = view.record.status;
        if view.record.run == run
            && matches!(
                status,
                RecordingStatus::Completed | RecordingStatus::ProcessingFailed
            )
        {
            progress.finish(status.as_str());
            if global.json {
                print_json(&view);
            } else {
                print!(
                    "{}",
                    render_status(&view, &|key: &str| format!(
                        "s3://{}/{key}",
                        operator.bucket
                    ))
                );
            }
            if status == RecordingStatus::Completed {
                return Ok(ExitCode::SUCCESS);
            }
            return Err(CliError::RecordingFailed {
                recording: recording.to_string(),
                status: status.to_string(),
                detail: format!(
                    "{}: {}",
                    view.record.error.as_deref().unwrap_or("unknown error"),
                    view.record.cause.as_deref().unwrap_or("no cause recorded")
                ),
            });
        }
        let execution = view
            .execution
            .as_ref()
            .map_or_else(|| "starting".to_owned(), |e| e.status.clone());
        progress.show(&format!("{status}, execution {execution}"));
        tokio::time::sleep(AWS_POLL).await;
    }
}

/// `recorder dlq inspect|replay`.
pub async fn dlq(
    global: &Global,
    backend: &BackendArgs,
    command: DlqCommand,
) -> Result<ExitCode, CliError> {
    if backend.backend != BackendKind::Aws {
        return Err(CliError::Unsupported(
            "the dead-letter queues exist only in a deployment: run with --backend aws (the \
             local backend retries failed events in process and reports each one it gives up on)"
                .into(),
        ));
    }
    let aws = AwsBackend::connect(backend).await?;
    let (args, replay) = match command {
        DlqCommand::Inspect(args) => (args, false),
        DlqCommand::Replay(args) => (args, true),
    };
    let queues = QueueChoice::parse_list(&args.queue)?;
    let ports = if replay {
        Some(aws.ports().await?)
    } else {
        None
    };
    let mut reports = Vec::new();
    for which in &queues {
        let queue = aws.queue(which).await?;
        let report = match &ports {
            Some(ports) => crate::dlq::replay(&queue, ports, args.limit).await?,
            None => crate::dlq::inspect(&queue, args.limit).await?,
        };
        if !global.json {
            print!("{}", crate::dlq::render(&report, replay));
        }
        reports.push(report);
    }
    if global.json {
        print_json(&reports);
    }
    let failing: usize = reports.iter().map(|r| r.still_failing).sum();
    if replay && failing > 0 {
        return Err(CliError::DeadLettersRemain { count: failing });
    }
    Ok(ExitCode::SUCCESS)
}
