//! Storage (being built).
