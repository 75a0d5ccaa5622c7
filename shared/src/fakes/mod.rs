//! In-memory fakes of every port, with the real services' semantics. Used by unit tests,
//! scenario tests and the local runner alike.

pub mod alarms;
pub mod chaos;
pub mod clock;
pub mod lambda;
pub mod metrics;

pub use alarms::{AlarmRead, FakeAlarms};
pub use chaos::{Chaos, ChaosStats};
pub use clock::ManualClock;
pub use lambda::{AliasWrite, FakeLambda, Fault, LambdaOp, Writer};
pub use metrics::{FakeMetrics, Traffic};

pub mod events;
pub mod executions;
pub mod pipeline;

pub use events::{FakeStatusEvents, PutEvent};
pub use executions::FakeExecutions;
pub use pipeline::{FakePipelineJobs, JobResult};

pub mod registry;

pub use registry::{FakeRegistry, LockEntry};
pub mod tasks;

pub use tasks::{FakeTasks, TaskAnswer};

pub mod records;

pub use records::FakeRecords;
pub mod waves;
pub use waves::FakeWaveWatches;
