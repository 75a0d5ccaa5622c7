//! Wave plans through the shipped waves definition, with the real waves function and, in each
//! region, the shipped deployment definition with the real handlers (docs/waves.md).

use serde_json::Value;
use shifter_statemachine::local::waves::{WavesRun, WavesSpec, WavesWorld, run_waves};

const SAMPLE: &str = include_str!("../../../events/accounts/waves.json");

fn world() -> (WavesWorld, Value) {
    let spec = WavesSpec::from_json(SAMPLE).unwrap();
    let input = spec.input.clone().unwrap();
    (WavesWorld::build(&spec).unwrap(), input)
}

async fn play(world: &WavesWorld, input: Value) -> WavesRun {
    run_waves(world, input, "plan-1", &mut |_| {})
        .await
        .unwrap()
}

fn region<'a>(
    run: &'a WavesRun,
    name: &str,
) -> &'a shifter_statemachine::local::waves::RegionReport {
    run.summary
        .waves
        .iter()
        .flat_map(|w| &w.regions)
        .find(|r| r.region == name)
        .unwrap()
}

fn version(run: &WavesRun, name: &str) -> String {
    let alias = region(run, name).alias.clone().unwrap();
    assert!(
        alias.additional_version_weights.is_empty(),
        "{name} still routes: {alias:?}"
    );
    alias.version
}

#[tokio::test]
async fn the_sample_plan_moves_every_region_wave_by_wave() {
    let (world, input) = world();
    let run = play(&world, input).await;
    let s = &run.summary;
    assert_eq!(s.outcome, "Succeeded", "{:?} {:?}", s.error, s.cause);
    for r in [
        "eu-west-1",
        "eu-central-1",
        "us-east-1",
        "us-west-2",
        "ap-southeast-2",
    ] {
        assert_eq!(version(&run, r), "42", "{r}");
        assert_eq!(region(&run, r).start_version.as_deref(), Some("41"));
    }
    let started = |r: &str| region(&run, r).started.unwrap();
    assert_eq!(started("eu-west-1"), 0.0);
    // The first wave ends after its 5-minute canary, then bakes 30 minutes.
    assert!(
        started("eu-central-1") >= 300.0 + 1800.0,
        "{}",
        started("eu-central-1")
    );
    assert_eq!(
        started("eu-central-1"),
        started("us-east-1"),
        "a wave starts together"
    );
    assert!(started("us-west-2") >= started("eu-central-1") + 300.0 + 600.0);
    println!(
        "sample plan: {:.0}s simulated, {} plan transitions + {} child transitions, ${:.6}, {} history events, largest document {} bytes ({})",
        s.simulated_seconds,
        s.state_transitions,
        s.child_state_transitions,
        s.estimated_cost_usd,
        s.history_events,
        s.largest_document_bytes,
        s.largest_document_state
    );
}

#[tokio::test]
async fn an_alarm_in_wave_two_restores_waves_one_and_two_and_never_starts_wave_three() {
    let (world, input) = world();
    // eu-central-1 starts at about 2,101 s; its canary is at 10 % until about 2,401 s.
    assert!(world.region_alarm_at("eu-central-1", 2200));
    let run = play(&world, input).await;
    let s = &run.summary;
    assert_eq!(s.outcome, "RolledBack", "{:?} {:?}", s.error, s.cause);
    assert_eq!(
        s.error.as_deref(),
        Some("TargetFailed"),
        "the child rolled itself back: the plan hears it as the child's failure"
    );
    assert!(
        s.cause
            .as_deref()
            .unwrap()
            .contains("eu-central-1 (111111111111) failed with AlarmTriggered"),
        "{:?}",
        s.cause
    );
    for r in ["eu-west-1", "eu-central-1", "us-east-1"] {
        assert_eq!(version(&run, r), "41", "{r} is back on its start version");
    }
    for r in ["us-west-2", "ap-southeast-2"] {
        assert_eq!(region(&run, r).started, None, "{r} never started");
        assert_eq!(version(&run, r), "41");
    }
    let restored = ["eu-west-1", "us-east-1"].map(|r| region(&run, r).ended.unwrap());
    let last = restored.iter().cloned().fold(0.0, f64::max);
    println!(
        "alarm at 2200s in wave 2: every earlier region restored at {last}s ({}s after the alarm)",
        last - 2200.0
    );
}

#[tokio::test]
async fn an_alarm_in_wave_one_while_wave_two_bakes_aborts_the_plan() {
    let (world, input) = world();
    // Wave two runs its canary from about 2,101 s to 2,401 s, then bakes 600 s.
    assert!(world.region_alarm_at("eu-west-1", 2700));
    let run = play(&world, input).await;
    let s = &run.summary;
    assert_eq!(s.outcome, "RolledBack", "{:?} {:?}", s.error, s.cause);
    assert_eq!(s.error.as_deref(), Some("AlarmTriggered"));
    assert!(
        s.cause
            .as_deref()
            .unwrap()
            .contains("orders-api-errors in eu-west-1 (111111111111)"),
        "{:?}",
        s.cause
    );
    for r in ["eu-west-1", "eu-central-1", "us-east-1"] {
        assert_eq!(version(&run, r), "41", "{r}");
        assert_eq!(region(&run, r).outcome, "restored", "{r}");
    }
    assert_eq!(region(&run, "us-west-2").started, None);
}

#[tokio::test]
async fn an_operator_abort_mid_wave_stops_the_running_children_and_restores_the_rest() {
    let (world, input) = world();
    world.abort_at(2250, "bad release");
    let run = play(&world, input).await;
    let s = &run.summary;
    assert_eq!(s.outcome, "RolledBack", "{:?} {:?}", s.error, s.cause);
    assert_eq!(s.error.as_deref(), Some("Aborted"));
    for r in ["eu-west-1", "eu-central-1", "us-east-1", "us-west-2"] {
        assert_eq!(version(&run, r), "41", "{r}");
    }
    assert_eq!(region(&run, "eu-central-1").outcome, "restored");
}

#[tokio::test]
async fn an_abort_that_cannot_restore_a_region_fails_the_plan_saying_so() {
    let (world, input) = world();
    assert!(world.region_alarm_at("eu-west-1", 2700));
    let canary = world.region("eu-west-1", "111111111111").unwrap();
    canary.local.lambda.fail_writes_of(shifter::domain::AliasRoute::single("41"), 1000);
    let run = play(&world, input).await;
    let s = &run.summary;
    assert_eq!(s.outcome, "Failed");
    assert_eq!(s.error.as_deref(), Some("Transient"), "{:?}", s.cause);
    assert!(s.cause.as_deref().unwrap().contains("UpdateAlias"), "{:?}", s.cause);
    assert_eq!(version(&run, "eu-west-1"), "42", "left where it is, and the cause says so");
}

/// The waves definition in the second interpreter (aws-local-stepfunctions): every scenario's
/// states, outputs, retries and ending the same; together they reach every state.
#[tokio::test]
async fn the_waves_definition_runs_the_same_in_aws_local_stepfunctions() {
    use super::differential::{compare, record_of, replay};
    let definition = shifter_statemachine::WAVES_DEFINITION.replace(
        "${WavesFunctionArn}",
        shifter_statemachine::local::waves::WAVES_FUNCTION_ARN,
    );
    type Arrange = fn(&WavesWorld, &mut Value);
    let scenarios: [(&str, Arrange); 6] = [
        ("waves-success", |_, _| {}),
        ("waves-alarm-in-wave-two", |w, _| assert!(w.region_alarm_at("eu-central-1", 2200))),
        ("waves-alarm-during-bake", |w, _| assert!(w.region_alarm_at("eu-west-1", 2700))),
        ("waves-operator-abort", |w, _| w.abort_at(2250, "bad release")),
        ("waves-rejected", |_, input| input["waves"][0]["targets"][0]["region"] = serde_json::json!(5)),
        ("waves-abort-fails", |w, _| {
            assert!(w.region_alarm_at("eu-west-1", 2700));
            let canary = w.region("eu-west-1", "111111111111").unwrap();
            canary.local.lambda.fail_writes_of(shifter::domain::AliasRoute::single("41"), 1000);
        }),
    ];
    let mut recorded = Vec::new();
    for (name, arrange) in scenarios {
        let (world, mut input) = world();
        arrange(&world, &mut input);
        let mut events = Vec::new();
        run_waves(&world, input.clone(), name, &mut |e| events.push(e.clone()))
            .await
            .unwrap();
        recorded.push(record_of(&definition, name, &input, &events));
    }
    let theirs = replay(&recorded.iter().collect::<Vec<_>>());
    let failures: Vec<String> = recorded
        .iter()
        .zip(&theirs)
        .filter_map(|(ours, theirs)| compare(ours, theirs).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    let machine: Value = serde_json::from_str(&definition).unwrap();
    let visited: std::collections::BTreeSet<&str> =
        recorded.iter().flat_map(|r| r.states.iter().map(|(n, _)| n.as_str())).collect();
    let unvisited: Vec<&String> =
        machine["States"].as_object().unwrap().keys().filter(|s| !visited.contains(s.as_str())).collect();
    assert!(unvisited.is_empty(), "no scenario reaches {unvisited:?}");
}
