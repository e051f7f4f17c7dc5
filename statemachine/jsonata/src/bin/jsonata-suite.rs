//! Runs the jsonata-js test suite (`test/test-suite`) against this implementation.
//!
//! Usage: `jsonata-suite <path/to/test-suite> [--verbose] [--group NAME] [--bench]`

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use jsonata::{Environment, Expression, Limits};
use serde_json::Value as Json;

struct Outcome {
    pass: bool,
    detail: String,
}

fn num_eq(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => {
            let (x, y) = (
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            );
            x == y || ((x - y).abs() <= 1e-12 * x.abs().max(y.abs()))
        }
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| num_eq(p, q))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| num_eq(v, w)))
        }
        _ => a == b,
    }
}

fn run_case(case: &Json, group_dir: &Path, datasets: &Path) -> Outcome {
    let fail = |detail: String| Outcome {
        pass: false,
        detail,
    };
    let expr_src = if let Some(e) = case.get("expr").and_then(Json::as_str) {
        e.to_owned()
    } else if let Some(f) = case.get("expr-file").and_then(Json::as_str) {
        match std::fs::read_to_string(group_dir.join(f)) {
            Ok(s) => s,
            Err(e) => return fail(format!("cannot read expr-file: {e}")),
        }
    } else {
        return fail("no expr".into());
    };
    let expected_code = case.get("code").and_then(Json::as_str).or_else(|| {
        case.get("error")
            .and_then(|e| e.get("code"))
            .and_then(Json::as_str)
    });
    let expr = match Expression::parse(&expr_src) {
        Ok(e) => e,
        Err(err) => {
            if let Some(code) = expected_code {
                if err.code != code {
                    return fail(format!(
                        "parse error {} ({}), expected {code}",
                        err.code, err.message
                    ));
                }
                if let Some(tok) = case.get("token").and_then(Json::as_str)
                    && err.token.as_deref() != Some(tok)
                {
                    return fail(format!("token {:?}, expected {tok}", err.token));
                }
                return Outcome {
                    pass: true,
                    detail: String::new(),
                };
            }
            return fail(format!(
                "unexpected parse error {}: {}",
                err.code, err.message
            ));
        }
    };
    let input: Option<Json> = if let Some(d) = case.get("data") {
        Some(d.clone())
    } else {
        match case.get("dataset") {
            None | Some(Json::Null) => None,
            Some(Json::String(name)) => {
                match std::fs::read_to_string(datasets.join(format!("{name}.json"))) {
                    Ok(s) => serde_json::from_str(&s).ok(),
                    Err(e) => return fail(format!("dataset {name}: {e}")),
                }
            }
            Some(_) => None,
        }
    };
    let mut env = Environment::new();
    if let Some(Json::Object(b)) = case.get("bindings") {
        for (k, v) in b {
            env.bind(k, v.clone());
        }
    }
    // jsonata-js's harness bounds such cases by depth and wall-clock time: map the time to steps
    if let (Some(depth), Some(ms)) = (
        case.get("depth").and_then(Json::as_u64),
        case.get("timelimit").and_then(Json::as_u64),
    ) {
        env.set_limits(Limits {
            max_depth: depth as usize,
            max_steps: ms.max(1000) * 10_000,
        });
    }
    env.set_now(1_700_000_000_000);
    let result = expr.evaluate(input.as_ref(), &env);
    if case.get("undefinedResult").is_some() {
        return match result {
            Ok(None) => Outcome {
                pass: true,
                detail: String::new(),
            },
            other => fail(format!("expected undefined, got {other:?}")),
        };
    }
    if let Some(expected) = case.get("result") {
        return match result {
            Ok(Some(v)) if num_eq(&v, expected) => Outcome {
                pass: true,
                detail: String::new(),
            },
            other => fail(format!("expected {expected}, got {other:?}")),
        };
    }
    if let Some(code) = expected_code {
        return match result {
            Err(e) if e.code == code => {
                if let Some(err) = case.get("error") {
                    if let Some(m) = err.get("message").and_then(Json::as_str)
                        && m != e.message
                    {
                        return fail(format!("message {:?}, expected {m:?}", e.message));
                    }
                    if let Some(t) = err.get("token").and_then(Json::as_str)
                        && e.token.as_deref() != Some(t)
                    {
                        return fail(format!("token {:?}, expected {t:?}", e.token));
                    }
                }
                Outcome {
                    pass: true,
                    detail: String::new(),
                }
            }
            other => fail(format!("expected error {code}, got {other:?}")),
        };
    }
    fail("nothing to test".into())
}

fn bench() {
    let expr = Expression::parse("$states.input.a.b").unwrap_or_else(|e| panic!("{e}"));
    let mut env = Environment::new();
    env.bind(
        "states",
        serde_json::json!({"input": {"a": {"b": 42, "c": "x"}, "d": [1, 2, 3]}, "context": {}}),
    );
    let n = 200_000;
    let start = Instant::now();
    for _ in 0..n {
        let r = expr.evaluate(None, &env);
        std::hint::black_box(r.ok());
    }
    let per = start.elapsed().as_secs_f64() / n as f64;
    println!(
        "bench: `$states.input.a.b` {:.2} µs per evaluate ({n} runs)",
        per * 1e6
    );
    let expr = Expression::parse("$sum(items[price > 10].(price * qty))")
        .unwrap_or_else(|e| panic!("{e}"));
    let input = serde_json::json!({"items": [
        {"price": 5, "qty": 2}, {"price": 15, "qty": 1}, {"price": 25, "qty": 3}, {"price": 8, "qty": 4}
    ]});
    let env = Environment::new();
    let start = Instant::now();
    for _ in 0..n {
        std::hint::black_box(expr.evaluate(Some(&input), &env).ok());
    }
    let per = start.elapsed().as_secs_f64() / n as f64;
    println!(
        "bench: `$sum(items[price > 10].(price * qty))` {:.2} µs per evaluate",
        per * 1e6
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let verbose = args.iter().any(|a| a == "--verbose" || a == "-v");
    let group_filter = args
        .iter()
        .position(|a| a == "--group")
        .and_then(|i| args.get(i + 1))
        .cloned();
    if args.iter().any(|a| a == "--bench") {
        bench();
        return;
    }
    let Some(root) = args
        .iter()
        .find(|a| !a.starts_with('-') && Some(*a) != group_filter.as_ref())
    else {
        eprintln!("usage: jsonata-suite <path/to/test-suite> [--verbose] [--group NAME] [--bench]");
        std::process::exit(2);
    };
    let root = PathBuf::from(root);
    let handle = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || run_all(&root, verbose, group_filter.as_deref()))
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    let ok = handle.join().unwrap_or(false);
    if !ok {
        std::process::exit(1);
    }
}

fn run_all(root: &Path, verbose: bool, group_filter: Option<&str>) -> bool {
    let groups_dir = root.join("groups");
    let datasets = root.join("datasets");
    let mut groups: Vec<PathBuf> = match std::fs::read_dir(&groups_dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect(),
        Err(e) => {
            eprintln!("cannot read {}: {e}", groups_dir.display());
            return false;
        }
    };
    groups.sort();
    let mut totals: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let (mut pass, mut total) = (0, 0);
    for g in groups {
        let gname = g
            .file_name()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        if group_filter.is_some_and(|f| f != gname) {
            continue;
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(&g)
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "json"));
        files.sort();
        let (mut gp, mut gt) = (0, 0);
        for f in files {
            let fname = f
                .file_name()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            let spec: Json = match serde_json::from_str(&text) {
                Ok(j) => j,
                Err(e) => {
                    gt += 1;
                    println!("FAIL {gname}/{fname}: bad JSON {e}");
                    continue;
                }
            };
            let cases: Vec<Json> = match spec {
                Json::Array(a) => a,
                other => vec![other],
            };
            for (i, case) in cases.iter().enumerate() {
                gt += 1;
                let started = Instant::now();
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    run_case(case, &g, &datasets)
                }))
                .unwrap_or_else(|_| Outcome {
                    pass: false,
                    detail: "PANIC".into(),
                });
                let elapsed = started.elapsed();
                if outcome.pass {
                    gp += 1;
                } else if verbose {
                    let expr = case.get("expr").and_then(Json::as_str).unwrap_or("<file>");
                    let label = if cases.len() > 1 {
                        format!("{fname}[{i}]")
                    } else {
                        fname.clone()
                    };
                    println!("FAIL {gname}/{label}: {expr}\n     {}", outcome.detail);
                }
                if elapsed.as_secs() >= 5 {
                    println!("SLOW {gname}/{fname}: {:?}", elapsed);
                }
            }
        }
        pass += gp;
        total += gt;
        totals.insert(gname, (gp, gt));
    }
    println!("\n{:<40} {:>6} {:>6}", "group", "pass", "total");
    for (g, (p, t)) in &totals {
        let mark = if p == t { "" } else { "  <" };
        println!("{g:<40} {p:>6} {t:>6}{mark}");
    }
    println!(
        "\nTOTAL {pass}/{total} passed ({:.1} %)",
        if total == 0 {
            0.0
        } else {
            100.0 * pass as f64 / total as f64
        }
    );
    true
}
