//! The audience and privacy engine (filled by issue 3).
