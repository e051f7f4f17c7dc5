//! Property: any machine the model can hold emits JSON that parses back to the same machine, and
//! re-emits to the same JSON (no loss, no reordering of meaning).

use asl::model::{
    Branch, Catcher, ChoiceRule, ChoiceState, ComparisonOperator, FailState, ItemProcessor,
    JitterStrategy, MapState, NumberOrExpr, ParallelState, PassState, ProcessorConfig,
    ProcessorMode, QueryLanguage, Retrier, State, StateMachine, SucceedState, TaskState, WaitState,
};
use indexmap::IndexMap;
use proptest::prelude::*;
use serde_json::{Number, Value, json};

const NAMES: &[&str] = &["A", "B", "Check status", "Done", "x.y", "état", "s/1"];

fn name() -> impl Strategy<Value = String> {
    prop::sample::select(NAMES).prop_map(str::to_owned)
}

fn number() -> impl Strategy<Value = Number> {
    prop_oneof![
        (0u64..1000).prop_map(Number::from),
        (1.0f64..10.0).prop_map(|f| Number::from_f64((f * 4.0).round() / 4.0).unwrap()),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-50i64..50).prop_map(|n| json!(n)),
        "[a-z$.]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z.$]{1,6}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn path() -> impl Strategy<Value = Option<Option<String>>> {
    prop_oneof![
        Just(None),
        Just(Some(None)),
        "\\$(\\.[a-z]{1,4}){0,3}".prop_map(|p| Some(Some(p))),
    ]
}

fn retrier() -> impl Strategy<Value = Retrier> {
    (
        prop::collection::vec(
            prop::sample::select(&["States.ALL", "States.Timeout", "Custom.Error"][..]),
            1..3,
        ),
        prop::option::of(number()),
        prop::option::of(number()),
        prop::option::of(number()),
        prop::option::of(number()),
        prop::option::of(prop_oneof![
            Just(JitterStrategy::Full),
            Just(JitterStrategy::None)
        ]),
    )
        .prop_map(|(errors, interval, max, backoff, delay, jitter)| Retrier {
            error_equals: errors.into_iter().map(str::to_owned).collect(),
            interval_seconds: interval,
            max_attempts: max,
            backoff_rate: backoff,
            max_delay_seconds: delay,
            jitter_strategy: jitter,
            comment: None,
        })
}

fn catcher() -> impl Strategy<Value = Catcher> {
    (name(), path(), prop::option::of(json_value())).prop_map(|(next, result_path, assign)| {
        Catcher {
            error_equals: vec!["States.ALL".to_owned()],
            next,
            result_path,
            assign,
            output: None,
            comment: None,
        }
    })
}

fn rule(depth: u32) -> BoxedStrategy<ChoiceRule> {
    let leaf = (
        "\\$\\.[a-z]{1,5}",
        prop::sample::select(ComparisonOperator::ALL),
        json_value(),
    )
        .prop_map(|(variable, operator, value)| ChoiceRule::compare(variable, operator, value));
    if depth == 0 {
        return leaf.boxed();
    }
    prop_oneof![
        leaf,
        prop::collection::vec(rule(depth - 1), 1..3).prop_map(|rules| ChoiceRule {
            and: Some(rules),
            ..ChoiceRule::default()
        }),
        rule(depth - 1).prop_map(|r| ChoiceRule {
            not: Some(Box::new(r)),
            ..ChoiceRule::default()
        }),
        "\\{% \\$[a-z]{1,4} %\\}".prop_map(|c| ChoiceRule {
            condition: Some(Value::String(c)),
            ..ChoiceRule::default()
        }),
    ]
    .boxed()
}

fn transition() -> impl Strategy<Value = (Option<String>, Option<bool>)> {
    prop_oneof![
        name().prop_map(|n| (Some(n), None)),
        Just((None, Some(true))),
        name().prop_map(|n| (Some(n), Some(true))),
    ]
}

fn body(depth: u32) -> BoxedStrategy<(String, IndexMap<String, State>)> {
    (name(), prop::collection::vec((name(), state(depth)), 1..4))
        .prop_map(|(start, states)| (start, states.into_iter().collect()))
        .boxed()
}

fn state(depth: u32) -> BoxedStrategy<State> {
    let simple = prop_oneof![
        (
            transition(),
            path(),
            path(),
            prop::option::of(json_value()),
            prop::option::of(json_value())
        )
            .prop_map(
                |((next, end), input_path, result_path, result, assign)| State::Pass(PassState {
                    next,
                    end,
                    input_path,
                    result_path,
                    result,
                    assign,
                    ..PassState::default()
                })
            ),
        (
            transition(),
            prop::option::of(json_value()),
            prop::option::of(prop::collection::vec(retrier(), 1..3)),
            prop::option::of(prop::collection::vec(catcher(), 1..2)),
            prop::option::of(number()),
            prop::option::of(prop_oneof![
                Just(QueryLanguage::JsonPath),
                Just(QueryLanguage::JsonAta)
            ]),
        )
            .prop_map(
                |((next, end), parameters, retry, catch, timeout, ql)| State::Task(TaskState {
                    resource: "arn:aws:states:us-east-1:123456789012:activity:a".into(),
                    next,
                    end,
                    parameters,
                    retry,
                    catch,
                    query_language: ql,
                    timeout_seconds: timeout.map(NumberOrExpr::Number),
                    ..TaskState::default()
                })
            ),
        (
            prop::collection::vec((rule(2), name()), 0..3),
            prop::option::of(name())
        )
            .prop_map(|(rules, default)| State::Choice(ChoiceState {
                choices: rules.into_iter().map(|(r, n)| r.with_next(n)).collect(),
                default,
                ..ChoiceState::default()
            })),
        (
            transition(),
            prop::option::of(number()),
            prop::option::of("\\$\\.[a-z]{1,4}")
        )
            .prop_map(
                |((next, end), seconds, seconds_path)| State::Wait(WaitState {
                    next,
                    end,
                    seconds: seconds.map(NumberOrExpr::Number),
                    seconds_path,
                    ..WaitState::default()
                })
            ),
        Just(State::Succeed(SucceedState::default())),
        (
            prop::option::of("[A-Za-z.]{1,10}"),
            prop::option::of("[a-z ]{0,10}")
        )
            .prop_map(|(error, cause)| State::Fail(FailState {
                error,
                cause,
                ..FailState::default()
            })),
    ];
    if depth == 0 {
        return simple.boxed();
    }
    prop_oneof![
        4 => simple,
        1 => (prop::collection::vec(body(depth - 1), 1..3), transition()).prop_map(|(branches, (next, end))| {
            State::Parallel(ParallelState {
                branches: branches
                    .into_iter()
                    .map(|(start_at, states)| Branch { comment: None, start_at, states })
                    .collect(),
                next, end,
                ..ParallelState::default()
            })
        }),
        1 => (body(depth - 1), transition(), any::<bool>(), prop::option::of(number())).prop_map(
            |((start_at, states), (next, end), legacy, concurrency)| {
                let mut map = MapState {
                    next, end,
                    items_path: Some("$.items".into()),
                    max_concurrency: concurrency.map(NumberOrExpr::Number),
                    ..MapState::default()
                };
                if legacy {
                    map.iterator = Some(ItemProcessor {
                        comment: None,
                        processor_config: None,
                        start_at,
                        states,
                    });
                } else {
                    map.item_processor = Some(ItemProcessor {
                        comment: None,
                        processor_config: Some(ProcessorConfig { mode: Some(ProcessorMode::Inline), execution_type: None }),
                        start_at,
                        states,
                    });
                }
                State::Map(map)
            }
        ),
    ]
    .boxed()
}

fn machine() -> impl Strategy<Value = StateMachine> {
    (
        body(2),
        prop::option::of("[a-zA-Z ]{0,20}"),
        prop::option::of(number()),
    )
        .prop_map(|((start_at, states), comment, timeout)| StateMachine {
            comment,
            start_at,
            states,
            version: None,
            timeout_seconds: timeout,
            query_language: None,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn emit_then_parse_gives_the_same_machine(machine in machine()) {
        let text = machine.to_json_pretty();
        let parsed = StateMachine::from_json(&text).expect("emitted JSON parses");
        prop_assert_eq!(&parsed, &machine);
        prop_assert_eq!(parsed.to_json_pretty(), text);
    }

    #[test]
    fn parse_then_emit_keeps_the_document(machine in machine()) {
        let document = machine.to_value();
        let reparsed = StateMachine::from_value(document.clone()).expect("parses");
        prop_assert_eq!(reparsed.to_value(), document);
    }
}
