//! Launcher for a pinned moto server (being written).
