//! The multi-instance test network (being built).
