//! `#[entity(time = "…")]`: the ways a document can store a date, as the derive reads them.

/// `time = "…"`: how a date or time is written in the document (the runtime's `TimeStorage`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TimeStorage {
    Cast,
    Rfc3339,
    EpochSeconds,
    EpochMillis,
}

impl TimeStorage {
    pub(crate) const NAMES: [(&'static str, TimeStorage); 4] = [
        ("cast", TimeStorage::Cast),
        ("rfc3339", TimeStorage::Rfc3339),
        ("epoch", TimeStorage::EpochSeconds),
        ("epoch_ms", TimeStorage::EpochMillis),
    ];

    /// The runtime's variant name.
    pub(crate) fn variant(self) -> &'static str {
        match self {
            TimeStorage::Cast => "Cast",
            TimeStorage::Rfc3339 => "Rfc3339",
            TimeStorage::EpochSeconds => "EpochSeconds",
            TimeStorage::EpochMillis => "EpochMillis",
        }
    }
}
