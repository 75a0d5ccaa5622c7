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
    // The first wave ends after its 10-minute canary, then bakes 30 minutes; the second runs
    // two 5-minute steps, then bakes 10 minutes.
    assert!(
        started("eu-central-1") >= 600.0 + 1800.0,
        "{}",
        started("eu-central-1")
    );
    assert_eq!(
        started("eu-central-1"),
        started("us-east-1"),
        "a wave starts together"
    );
    assert!(started("us-west-2") >= started("eu-central-1") + 600.0 + 600.0);
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
    // eu-central-1 starts at about 2,402 s; it is at 10 % until about 2,702 s.
    assert!(world.region_alarm_at("eu-central-1", 2600));
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
    // Wave one's region is restored by the plan as soon as it hears of the failure; wave two's
    // other region is stopped, restored by its own watch function, and checked.
    let first = region(&run, "eu-west-1").ended.unwrap();
    assert!(
        (2600.0..=2603.0).contains(&first),
        "wave one restored {}s after the alarm",
        first - 2600.0
    );
    let restored = ["eu-west-1", "us-east-1"].map(|r| region(&run, r).ended.unwrap());
    let last = restored.iter().cloned().fold(0.0, f64::max);
    println!(
        "alarm at 2600s in wave 2: wave 1 restored at {first}s ({}s after), every other region at {last}s ({}s after)",
        first - 2600.0,
        last - 2600.0
    );
}

#[tokio::test]
async fn an_alarm_in_wave_one_while_wave_two_bakes_aborts_the_plan() {
    let (world, input) = world();
    // Wave two runs from about 2,402 s to 3,002 s, then bakes 600 s.
    assert!(world.region_alarm_at("eu-west-1", 3300));
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
    world.abort_at(2650, "bad release");
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
    assert!(world.region_alarm_at("eu-west-1", 3300));
    let canary = world.region("eu-west-1", "111111111111").unwrap();
    canary
        .local
        .lambda
        .fail_writes_of(shifter::domain::AliasRoute::single("41"), 1000);
    let run = play(&world, input).await;
    let s = &run.summary;
    assert_eq!(s.outcome, "Failed");
    assert_eq!(s.error.as_deref(), Some("Transient"), "{:?}", s.cause);
    assert!(
        s.cause.as_deref().unwrap().contains("UpdateAlias"),
        "{:?}",
        s.cause
    );
    assert_eq!(
        version(&run, "eu-west-1"),
        "42",
        "left where it is, and the cause says so"
    );
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
        ("waves-alarm-in-wave-two", |w, _| {
            assert!(w.region_alarm_at("eu-central-1", 2600))
        }),
        ("waves-alarm-during-bake", |w, _| {
            assert!(w.region_alarm_at("eu-west-1", 3300))
        }),
        ("waves-operator-abort", |w, _| {
            w.abort_at(2650, "bad release")
        }),
        ("waves-rejected", |_, input| {
            input["waves"][0]["targets"][0]["region"] = serde_json::json!(5)
        }),
        ("waves-abort-fails", |w, _| {
            assert!(w.region_alarm_at("eu-west-1", 3300));
            let canary = w.region("eu-west-1", "111111111111").unwrap();
            canary
                .local
                .lambda
                .fail_writes_of(shifter::domain::AliasRoute::single("41"), 1000);
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
    super::differential::assert_every_state_reached(&definition, &recorded);
}

/// The largest plan the reader accepts (10 waves, 40 targets, the longest names Lambda allows)
/// stays within Step Functions' history and payload quotas, and within its own estimate.
#[tokio::test]
async fn the_largest_accepted_plan_fits_the_history_and_payload_budgets() {
    use serde_json::json;
    use shifter::domain::waves::WavePlan;
    use shifter::domain::waves::run::worst_history_events;
    let regions = [
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "ca-central-1",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "eu-central-1",
        "eu-north-1",
        "eu-south-1",
        "ap-south-1",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-southeast-1",
        "ap-southeast-2",
        "sa-east-1",
        "me-south-1",
        "af-south-1",
    ];
    let function = format!("f{}", "x".repeat(63));
    let alias = format!("a{}", "y".repeat(127));
    let alarm = format!("{function}-errors-{}", "z".repeat(150));
    let places: Vec<(String, String)> = ["111111111111", "222222222222"]
        .iter()
        .flat_map(|a| {
            regions
                .iter()
                .map(move |r| ((*r).to_owned(), (*a).to_owned()))
        })
        .collect();
    let waves: Vec<_> = places
        .chunks(4)
        .enumerate()
        .map(|(i, chunk)| {
            let targets: Vec<_> = chunk
                .iter()
                .map(|(r, a)| json!({"region": r, "account": a}))
                .collect();
            json!({"name": format!("wave-{}-{}", i + 1, "n".repeat(40)), "targets": targets})
        })
        .collect();
    let plan = json!({
        "deployment": {"functionName": function, "alias": alias, "targetVersion": "2", "alarms": [alarm]},
        "strategy": "AllAtOnce", "firstWaveBakeSeconds": 600, "bakeBetweenWavesSeconds": 300,
        "waves": waves
    });
    let account = |r: &str, a: &str| {
        json!({"region": r, "account": a,
        "functions": [{"name": function, "publishedVersions": 2, "aliases": {alias.clone(): "1"}}],
        "alarms": [{"name": alarm, "state": "OK"}]})
    };
    let spec = json!({"regions": places.iter().map(|(r, a)| account(r, a)).collect::<Vec<_>>(), "input": plan});
    let spec = WavesSpec::from_json(&spec.to_string()).unwrap();
    let accepted = WavePlan::parse(&plan).unwrap();
    let worst = worst_history_events(&accepted);
    for alarm_in_last_wave in [false, true] {
        let world = WavesWorld::build(&spec).unwrap();
        if alarm_in_last_wave {
            // During the bake before the last wave (the first bake 600 s, then 300 s each): an
            // alarm of a finished wave aborts the plan and 36 targets are restored.
            assert!(world.region_alarm_at("af-south-1", 2950));
        }
        let run = play(&world, plan.clone()).await;
        let s = &run.summary;
        let expected = if alarm_in_last_wave {
            "RolledBack"
        } else {
            "Succeeded"
        };
        assert_eq!(s.outcome, expected, "{:?} {:?}", s.error, s.cause);
        assert!(
            s.history_events <= worst,
            "{} events, estimate {worst}",
            s.history_events
        );
        assert!(
            s.largest_document_bytes < 262_144 / 2,
            "{} bytes",
            s.largest_document_bytes
        );
        println!(
            "largest plan ({expected}): {} history events (estimate {worst}, quota 25,000), largest document {} bytes ({})",
            s.history_events, s.largest_document_bytes, s.largest_document_state
        );
    }
}

/// What Next? branches on every `WavesDecision` exactly once, each to the state its doc names.
#[test]
fn the_waves_choice_branches_on_every_decision_exactly_once() {
    use shifter::domain::waves::WavesDecision;
    let machine: Value = serde_json::from_str(shifter_statemachine::WAVES_DEFINITION).unwrap();
    let choices = machine["States"]["What Next?"]["Choices"]
        .as_array()
        .unwrap();
    let mut seen: Vec<&str> = choices
        .iter()
        .map(|c| c["StringEquals"].as_str().unwrap())
        .collect();
    seen.sort_unstable();
    let mut all: Vec<&str> = WavesDecision::ALL.iter().map(|d| d.as_str()).collect();
    all.sort_unstable();
    assert_eq!(seen, all);
    let next = |d: &str| {
        choices.iter().find(|c| c["StringEquals"] == d).unwrap()["Next"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(next("launch"), "Launch Wave");
    assert_eq!(next("await"), "Watch Waves");
    assert_eq!(next("hold"), "Watch Waves");
    assert_eq!(next("abort"), "Abort Plan");
    assert_eq!(next("succeed"), "Plan Succeeded");
    assert_eq!(next("rolledBack"), "Plan Rolled Back");
    assert_eq!(
        machine["States"]["What Next?"]["Default"], "Abort Plan",
        "an unknown decision aborts, never launches"
    );
}

#[tokio::test]
async fn an_entry_gate_holds_a_wave_until_its_alarms_are_ok() {
    use shifter::ports::AlarmState;
    let (world, input) = world();
    let at = |s: i64| world.clock.start() + chrono::TimeDelta::seconds(s);
    // us-east-1's alarm is in ALARM from before wave two could start (2,402 s) until 3,000 s.
    let east = world.region("us-east-1", "111111111111").unwrap();
    east.local
        .alarms
        .set_from("orders-api-errors", at(1000), AlarmState::Alarm);
    east.local
        .alarms
        .set_from("orders-api-errors", at(3000), AlarmState::Ok);
    let run = play(&world, input).await;
    let s = &run.summary;
    assert_eq!(s.outcome, "Succeeded", "{:?} {:?}", s.error, s.cause);
    let started = region(&run, "us-east-1").started.unwrap();
    assert!(
        (3000.0..3000.0 + 61.0).contains(&started),
        "wave two waited for the gate: {started}"
    );
    assert_eq!(
        region(&run, "eu-central-1").started,
        Some(started),
        "the whole wave waited"
    );
}

#[tokio::test]
async fn a_refusing_entry_gate_aborts_the_plan_before_the_wave_starts() {
    let (world, mut input) = world();
    input["entryGate"] =
        serde_json::json!({"policy": "refuse", "timeoutSeconds": 3600, "pollSeconds": 60});
    let east = world.region("us-east-1", "111111111111").unwrap();
    east.local.alarm_at("orders-api-errors", 1000);
    let run = play(&world, input).await;
    let s = &run.summary;
    assert_eq!(
        (s.outcome.as_str(), s.error.as_deref()),
        ("RolledBack", Some("EntryGateClosed"))
    );
    assert!(
        s.cause
            .as_deref()
            .unwrap()
            .contains("orders-api-errors in us-east-1 (111111111111) is Alarm"),
        "{:?}",
        s.cause
    );
    assert!(
        s.cause
            .as_deref()
            .unwrap()
            .contains("the entry gate refuses it"),
        "{:?}",
        s.cause
    );
    assert_eq!(version(&run, "eu-west-1"), "41", "wave one restored");
    assert_eq!(region(&run, "us-east-1").started, None);
}

#[tokio::test]
async fn a_closed_window_delays_a_wave_until_it_opens() {
    let (world, mut input) = world();
    // Open 00:00–00:30 and 02:00–02:30 UTC: wave two is ready at about 40:02, and waits.
    input["window"] =
        serde_json::json!({"cron": "0 0,2 * * *", "timeZone": "UTC", "durationMinutes": 30});
    let run = play(&world, input).await;
    let s = &run.summary;
    assert_eq!(s.outcome, "Succeeded", "{:?} {:?}", s.error, s.cause);
    assert_eq!(
        region(&run, "eu-west-1").started,
        Some(0.0),
        "the window is open at the start"
    );
    assert_eq!(
        region(&run, "eu-central-1").started,
        Some(7200.0),
        "wave two waited for 02:00"
    );
    let third = region(&run, "us-west-2").started.unwrap();
    assert!(
        (7200.0..9000.0).contains(&third),
        "wave three inside the same opening: {third}"
    );
}

/// The rehearsal plays the sample plan itself: its account file's `input` is events/waves.json.
#[test]
fn the_rehearsal_plays_the_sample_plan() {
    let sample: Value = serde_json::from_str(include_str!("../../../events/waves.json")).unwrap();
    let spec = WavesSpec::from_json(SAMPLE).unwrap();
    assert_eq!(spec.input.as_ref(), Some(&sample));
    let plan = shifter::domain::waves::WavePlan::parse(&sample).unwrap();
    let regions: std::collections::BTreeSet<&str> = plan
        .waves
        .iter()
        .flat_map(|w| &w.targets)
        .map(|t| t.region.as_str())
        .collect();
    let accounts: std::collections::BTreeSet<&str> = plan
        .waves
        .iter()
        .flat_map(|w| &w.targets)
        .map(|t| t.account.as_str())
        .collect();
    assert!(plan.waves.len() >= 3 && regions.len() >= 4 && accounts.len() == 2);
}
