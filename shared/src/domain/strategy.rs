//! Deployment strategies (CodeDeploy/SAM names, generic forms, explicit steps) and the plans they make.

use serde::{Deserialize, Serialize};

use serde_json::Value;

use super::field::FieldError;
use super::json::{deserialize_named, required};
use super::weight::Weight;

/// The predefined configurations, by their SAM names (each also spelled
/// `CodeDeployDefault.Lambda<name>`).
pub const PREDEFINED: [&str; 9] = [
    "AllAtOnce",
    "Canary10Percent5Minutes",
    "Canary10Percent10Minutes",
    "Canary10Percent15Minutes",
    "Canary10Percent30Minutes",
    "Linear10PercentEvery1Minute",
    "Linear10PercentEvery2Minutes",
    "Linear10PercentEvery3Minutes",
    "Linear10PercentEvery10Minutes",
];

/// Longest bake of one step: CodeDeploy's own limit for a custom configuration (2880 minutes).
pub const MAX_BAKE_SECONDS: u32 = 2880 * 60;

/// One step of a plan: move to `weight` on the target, then bake for `bake_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    /// Traffic on the target version during this step, in basis points.
    pub weight: Weight,
    /// How long the step bakes (alarms watched) before the next one.
    pub bake_seconds: u32,
}

/// How traffic moves from the current version to the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    /// `first` of the traffic for `bake_seconds`, then everything.
    Canary { first: Weight, bake_seconds: u32 },
    /// `every` more traffic each `bake_seconds` until everything has moved.
    Linear { every: Weight, bake_seconds: u32 },
    /// Everything at once.
    AllAtOnce,
    /// An explicit list of steps; the last one is 100%.
    Steps(Plan),
}

/// A validated schedule: strictly increasing weights, the last one 100% (the promotion).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Plan(Vec<Step>);

/// Why a strategy or a plan is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// Not a name we know.
    #[error(
        "unknown strategy {0:?}; expected a CodeDeploy/SAM name such as Canary10Percent5Minutes, \
         Linear10PercentEvery1Minute or AllAtOnce, Canary{{P}}Percent{{M}}Minutes, \
         Linear{{P}}PercentEvery{{M}}Minute(s), or {{\"steps\":[...]}}"
    )]
    UnknownName(String),
    /// A percentage of a generic name outside 1–99.
    #[error("percentage {0} in the strategy name must be between 1 and 99")]
    Percent(u32),
    /// Minutes of a generic name outside 1–2880.
    #[error("interval of {0} minutes in the strategy name must be between 1 and 2880")]
    Minutes(u32),
    /// No steps at all.
    #[error("needs at least one step")]
    Empty,
    /// The step at index `at` is not acceptable.
    #[error("steps[{at}].{}: {problem}", problem.field())]
    Step { at: usize, problem: StepProblem },
}

/// What is wrong with one step of an explicit plan; [`StepProblem::field`] names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepProblem {
    /// A weight of 0%.
    #[error("must be greater than 0")]
    ZeroWeight,
    /// A weight not above the previous one.
    #[error("{weight} must be greater than the previous step's {previous}")]
    NotIncreasing { weight: Weight, previous: Weight },
    /// A bake of 0 or longer than the limit on a step before 100%.
    #[error("must be between 1 and {MAX_BAKE_SECONDS} (got {bake})")]
    Bake { bake: u32 },
    /// A bake on the 100% step, which is the promotion.
    #[error(
        "must be 0 on the 100% step (the promotion); \
         use postPromotionBakeSeconds to keep watching alarms after it"
    )]
    BakeAfterPromotion,
}

impl StepProblem {
    /// The step's field at fault, as the input spells it (`weight`, `bakeSeconds`).
    pub fn field(&self) -> &'static str {
        match self {
            StepProblem::ZeroWeight | StepProblem::NotIncreasing { .. } => "weight",
            StepProblem::Bake { .. } | StepProblem::BakeAfterPromotion => "bakeSeconds",
        }
    }
}

impl Step {
    /// What is wrong with this step when it follows a step at `previous`, if anything.
    fn problem_after(&self, previous: Weight) -> Option<StepProblem> {
        if self.weight.is_zero() {
            return Some(StepProblem::ZeroWeight);
        }
        if self.weight <= previous {
            return Some(StepProblem::NotIncreasing {
                weight: self.weight,
                previous,
            });
        }
        if self.weight.is_full() {
            return (self.bake_seconds != 0).then_some(StepProblem::BakeAfterPromotion);
        }
        (self.bake_seconds == 0 || self.bake_seconds > MAX_BAKE_SECONDS).then_some(
            StepProblem::Bake {
                bake: self.bake_seconds,
            },
        )
    }
}

impl Plan {
    /// Validates explicit steps; a list that stops short of 100% gets the promotion appended.
    pub fn new(mut steps: Vec<Step>) -> Result<Plan, PlanError> {
        if steps.is_empty() {
            return Err(PlanError::Empty);
        }
        let mut previous = Weight::ZERO;
        for (at, step) in steps.iter().enumerate() {
            if let Some(problem) = step.problem_after(previous) {
                return Err(PlanError::Step { at, problem });
            }
            previous = step.weight;
        }
        if !previous.is_full() {
            steps.push(Step {
                weight: Weight::FULL,
                bake_seconds: 0,
            });
        }
        Ok(Plan(steps))
    }

    /// The steps, the last one at 100%.
    pub fn steps(&self) -> &[Step] {
        &self.0
    }

    /// Seconds from the first shift to the promotion.
    pub fn total_bake_seconds(&self) -> u64 {
        self.0.iter().map(|s| u64::from(s.bake_seconds)).sum()
    }
}

impl Strategy {
    /// Parses a predefined name as AWS spells it — SAM's `Canary10Percent5Minutes`, or
    /// CodeDeploy's `CodeDeployDefault.LambdaCanary10Percent5Minutes` — or a generic form
    /// `Canary{P}Percent{M}Minutes` / `Linear{P}PercentEvery{M}Minutes` (also `Minute` when M is
    /// 1; numbers without leading zeros). Names AWS does not have, such as
    /// `CodeDeployDefault.Canary10Percent5Minutes` or a bare `LambdaCanary10Percent5Minutes`, are
    /// refused (https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-configurations.html,
    /// https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/automating-updates-to-serverless-apps.html).
    pub fn from_name(name: &str) -> Result<Strategy, PlanError> {
        let unknown = || PlanError::UnknownName(name.to_owned());
        if let Some(rest) = name.strip_prefix("CodeDeployDefault.") {
            let predefined = rest.strip_prefix("Lambda").ok_or_else(unknown)?;
            if !PREDEFINED.contains(&predefined) {
                return Err(unknown());
            }
            return Strategy::from_name(predefined);
        }
        if name == "AllAtOnce" {
            return Ok(Strategy::AllAtOnce);
        }
        let (linear, rest) = if let Some(rest) = name.strip_prefix("Canary") {
            (false, rest)
        } else {
            (true, name.strip_prefix("Linear").ok_or_else(unknown)?)
        };
        let (percent, rest) = leading_number(rest).ok_or_else(unknown)?;
        let between = if linear { "PercentEvery" } else { "Percent" };
        let rest = rest.strip_prefix(between).ok_or_else(unknown)?;
        let (minutes, rest) = leading_number(rest).ok_or_else(unknown)?;
        if rest != "Minutes" && !(rest == "Minute" && minutes == 1) {
            return Err(unknown());
        }
        let (weight, bake_seconds) = (percent_weight(percent)?, minutes_seconds(minutes)?);
        Ok(if linear {
            Strategy::Linear {
                every: weight,
                bake_seconds,
            }
        } else {
            Strategy::Canary {
                first: weight,
                bake_seconds,
            }
        })
    }

    /// The schedule this strategy makes, as AWS documents it for the predefined configurations.
    pub fn plan(&self) -> Plan {
        let steps = match self {
            Strategy::AllAtOnce => vec![],
            Strategy::Canary {
                first,
                bake_seconds,
            } => vec![Step {
                weight: *first,
                bake_seconds: *bake_seconds,
            }],
            Strategy::Linear {
                every,
                bake_seconds,
            } => (1..)
                .map(|i| u32::from(every.bp()) * i)
                .take_while(|bp| *bp < u32::from(Weight::FULL_BP))
                .filter_map(Weight::from_bp)
                .map(|weight| Step {
                    weight,
                    bake_seconds: *bake_seconds,
                })
                .collect(),
            Strategy::Steps(plan) => return plan.clone(),
        };
        let mut steps = steps;
        steps.push(Step {
            weight: Weight::FULL,
            bake_seconds: 0,
        });
        Plan(steps)
    }
}

/// A number at the start of `s`, written without leading zeros.
fn leading_number(s: &str) -> Option<(u32, &str)> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    if end == 0 || end > 6 || (end > 1 && s.starts_with('0')) {
        return None;
    }
    Some((s[..end].parse().ok()?, &s[end..]))
}

fn percent_weight(percent: u32) -> Result<Weight, PlanError> {
    match percent {
        1..=99 => Weight::from_percent(percent).ok_or(PlanError::Percent(percent)),
        _ => Err(PlanError::Percent(percent)),
    }
}

fn minutes_seconds(minutes: u32) -> Result<u32, PlanError> {
    match minutes {
        1..=2880 => Ok(minutes * 60),
        _ => Err(PlanError::Minutes(minutes)),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawSteps {
    steps: Option<Vec<RawStep>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawStep {
    weight: Option<f64>,
    bake_seconds: Option<u32>,
    #[serde(default)]
    approval: bool,
}

/// The input's `strategy`: a name, or `{"steps": […]}` (errors name the step's field); with the
/// indices of the steps that wait for approval.
pub fn parse_strategy(value: &Value) -> Result<(String, Plan, Vec<usize>), FieldError> {
    match value {
        Value::String(name) => {
            let strategy = Strategy::from_name(name)
                .map_err(|e| FieldError::new("strategy", e.to_string()))?;
            Ok((name.clone(), strategy.plan(), Vec::new()))
        }
        Value::Object(_) => {
            let raw: RawSteps = deserialize_named(value, "strategy")?;
            let raw_steps = required("strategy.steps", raw.steps)?;
            let plan = explicit_plan(&raw_steps)?;
            let gated = raw_steps
                .iter()
                .enumerate()
                .filter(|(_, s)| s.approval)
                .map(|(i, _)| i)
                .collect();
            Ok(("custom steps".to_owned(), plan, gated))
        }
        other => Err(FieldError::new(
            "strategy",
            format!("must be a strategy name or {{\"steps\":[...]}} (got {other})"),
        )),
    }
}

/// The plan of `{"steps":[...]}`; errors name the step's field (`strategy.steps[1].weight`).
fn explicit_plan(raw_steps: &[RawStep]) -> Result<Plan, FieldError> {
    let mut steps = Vec::with_capacity(raw_steps.len());
    for (i, s) in raw_steps.iter().enumerate() {
        let field = |name: &str| format!("strategy.steps[{i}].{name}");
        let weight = required(&field("weight"), s.weight)?;
        let bake_seconds = required(&field("bakeSeconds"), s.bake_seconds)?;
        let weight = step_weight(weight).map_err(|m| FieldError::new(field("weight"), m))?;
        steps.push(Step {
            weight,
            bake_seconds,
        });
    }
    Plan::new(steps).map_err(|e| match e {
        PlanError::Step { at, problem } => FieldError::new(
            format!("strategy.steps[{at}].{}", problem.field()),
            problem.to_string(),
        ),
        other => FieldError::new("strategy.steps", other.to_string()),
    })
}

/// A step's weight in percent, with at most two decimals as written. The shortest decimal that
/// reads back as the same `f64` is what the input said (`10.0000000001` stays itself), so the
/// decimals are counted on it rather than guessed from the binary value.
fn step_weight(percent: f64) -> Result<Weight, String> {
    let written = format!("{percent}");
    let decimals = written.split_once('.').map_or(0, |(_, d)| d.len());
    if percent.is_finite() && (0.0..=100.0).contains(&percent) && decimals > 2 {
        return Err(format!(
            "{written} has more than two decimals; weights are percentages with at most two \
             (the finest step is 0.01%)"
        ));
    }
    Weight::from_percent_f64(percent).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (percent, bake seconds) pairs of a plan, for readable expectations.
    fn schedule(name: &str) -> Vec<(u32, u32)> {
        Strategy::from_name(name)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .plan()
            .steps()
            .iter()
            .map(|s| (u32::from(s.weight.bp()) / 100, s.bake_seconds))
            .collect()
    }

    fn linear(every: u32, bake: u32) -> Vec<(u32, u32)> {
        let mut v: Vec<_> = (1..)
            .map(|i| i * every)
            .take_while(|p| *p < 100)
            .map(|p| (p, bake))
            .collect();
        v.push((100, 0));
        v
    }

    // Every predefined configuration, by every spelling AWS uses, with the schedule AWS documents
    // ("Predefined deployment configurations for an AWS Lambda compute platform").
    #[test]
    fn predefined_strategies_match_aws_documentation() {
        let table: &[(&str, Vec<(u32, u32)>)] = &[
            ("Canary10Percent5Minutes", vec![(10, 300), (100, 0)]),
            ("Canary10Percent10Minutes", vec![(10, 600), (100, 0)]),
            ("Canary10Percent15Minutes", vec![(10, 900), (100, 0)]),
            ("Canary10Percent30Minutes", vec![(10, 1800), (100, 0)]),
            ("Linear10PercentEvery1Minute", linear(10, 60)),
            ("Linear10PercentEvery2Minutes", linear(10, 120)),
            ("Linear10PercentEvery3Minutes", linear(10, 180)),
            ("Linear10PercentEvery10Minutes", linear(10, 600)),
            ("AllAtOnce", vec![(100, 0)]),
        ];
        let mut named: Vec<&str> = table.iter().map(|(name, _)| *name).collect();
        let mut predefined = PREDEFINED.to_vec();
        named.sort_unstable();
        predefined.sort_unstable();
        assert_eq!(
            named, predefined,
            "the table covers every predefined configuration"
        );
        for (name, expected) in table {
            assert_eq!(&schedule(name), expected, "SAM name {name}");
            let codedeploy = format!("CodeDeployDefault.Lambda{name}");
            assert_eq!(
                &schedule(&codedeploy),
                expected,
                "CodeDeploy name {codedeploy}"
            );
        }
        assert_eq!(
            schedule("Linear10PercentEvery1Minute"),
            vec![
                (10, 60),
                (20, 60),
                (30, 60),
                (40, 60),
                (50, 60),
                (60, 60),
                (70, 60),
                (80, 60),
                (90, 60),
                (100, 0)
            ]
        );
    }

    #[test]
    fn generic_forms() {
        assert_eq!(
            schedule("Canary5Percent45Minutes"),
            vec![(5, 2700), (100, 0)]
        );
        assert_eq!(schedule("Canary1Percent1Minute"), vec![(1, 60), (100, 0)]);
        assert_eq!(
            schedule("Linear25PercentEvery5Minutes"),
            vec![(25, 300), (50, 300), (75, 300), (100, 0)]
        );
        assert_eq!(
            schedule("Linear30PercentEvery1Minute"),
            vec![(30, 60), (60, 60), (90, 60), (100, 0)]
        );
        assert_eq!(
            schedule("Linear50PercentEvery1Minutes"),
            vec![(50, 60), (100, 0)]
        );
        assert_eq!(
            schedule("Canary18Percent1Minutes"),
            vec![(18, 60), (100, 0)]
        );
    }

    /// Only spellings AWS has: the CodeDeploy prefix goes with `Lambda` and a predefined name.
    #[test]
    fn names_aws_does_not_have_are_refused() {
        for bad in [
            "CodeDeployDefault.Canary10Percent5Minutes",
            "CodeDeployDefault.AllAtOnce",
            "LambdaCanary10Percent5Minutes",
            "LambdaAllAtOnce",
            "CodeDeployDefault.LambdaCanary50Percent7Minutes",
            "CodeDeployDefault.Lambda",
            "Canary010Percent5Minutes",
            "Canary10Percent05Minutes",
            "Canary10Percent5Minute",
            "Linear10PercentEvery2Minute",
        ] {
            assert_eq!(
                Strategy::from_name(bad),
                Err(PlanError::UnknownName(bad.to_owned())),
                "{bad}"
            );
        }
    }

    #[test]
    fn bad_names_say_why() {
        for bad in [
            "Canary",
            "Canary10Percent",
            "Canary10Percent5Hours",
            "Linear10Every1Minute",
            "allatonce",
            "",
            "Canary10Percent5MinutesX",
        ] {
            assert!(
                matches!(Strategy::from_name(bad), Err(PlanError::UnknownName(_))),
                "{bad}"
            );
        }
        assert_eq!(
            Strategy::from_name("Canary0Percent5Minutes"),
            Err(PlanError::Percent(0))
        );
        assert_eq!(
            Strategy::from_name("Canary100Percent5Minutes"),
            Err(PlanError::Percent(100))
        );
        assert_eq!(
            Strategy::from_name("Linear10PercentEvery0Minutes"),
            Err(PlanError::Minutes(0))
        );
        assert_eq!(
            Strategy::from_name("Canary10Percent2881Minutes"),
            Err(PlanError::Minutes(2881))
        );
    }

    fn step(bp: u32, bake: u32) -> Step {
        Step {
            weight: Weight::from_bp(bp).unwrap(),
            bake_seconds: bake,
        }
    }

    #[test]
    fn explicit_steps_get_the_promotion_appended() {
        let plan = Plan::new(vec![step(100, 60), step(5000, 600)]).unwrap();
        assert_eq!(
            plan.steps(),
            &[step(100, 60), step(5000, 600), step(10_000, 0)]
        );
        assert_eq!(plan.total_bake_seconds(), 660);
        let plan = Plan::new(vec![step(2500, 60), step(10_000, 0)]).unwrap();
        assert_eq!(plan.steps().len(), 2);
    }

    #[test]
    fn explicit_steps_are_validated_by_index() {
        assert_eq!(Plan::new(vec![]), Err(PlanError::Empty));
        let at = |at, problem| Err(PlanError::Step { at, problem });
        assert_eq!(Plan::new(vec![step(0, 60)]), at(0, StepProblem::ZeroWeight));
        assert!(matches!(
            Plan::new(vec![step(500, 60), step(500, 60)]),
            Err(PlanError::Step {
                at: 1,
                problem: StepProblem::NotIncreasing { .. }
            })
        ));
        assert!(matches!(
            Plan::new(vec![step(500, 60), step(100, 60)]),
            Err(PlanError::Step {
                at: 1,
                problem: StepProblem::NotIncreasing { .. }
            })
        ));
        assert_eq!(
            Plan::new(vec![step(500, 0)]),
            at(0, StepProblem::Bake { bake: 0 })
        );
        assert_eq!(
            Plan::new(vec![step(500, MAX_BAKE_SECONDS + 1)]),
            at(
                0,
                StepProblem::Bake {
                    bake: MAX_BAKE_SECONDS + 1
                }
            )
        );
        let promotion = Plan::new(vec![step(10_000, 5)]);
        assert_eq!(promotion, at(0, StepProblem::BakeAfterPromotion));
        assert_eq!(
            promotion.unwrap_err().to_string(),
            "steps[0].bakeSeconds: must be 0 on the 100% step (the promotion); \
             use postPromotionBakeSeconds to keep watching alarms after it"
        );
    }
}
