//! Waves Lambda: wires the real adapters to the handlers.

fn main() {}
